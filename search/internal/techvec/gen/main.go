// Command gen learns word vectors from Debian's documentation packages
// (learn.Packages) and writes search/learn.bin, the table the search
// package embeds, and search/learn.versions, the packages' versions it was
// learned from:
//
//	apt-get install --no-install-recommends $(go run ./search/internal/techvec/gen -packages)
//	go run ./search/internal/techvec/gen [-out search/learn.bin]
//
// The same packages always give the same bytes; `make test` checks that the
// committed table is what this command writes, where they are installed.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/search/internal/techvec/learn"
)

func main() {
	out := flag.String("out", "search/learn.bin", "the table to write")
	pkgs := flag.Bool("packages", false, "print the packages read and stop")
	flag.Parse()
	if *pkgs {
		fmt.Println(strings.Join(learn.Packages, " "))
		return
	}
	c := learn.Default
	c.Tokens = search.Tokens
	vs, err := learn.Versions("/var/lib/dpkg/status", c.Packages)
	if err == nil {
		for _, p := range c.Packages {
			if vs[p] == "" {
				err = fmt.Errorf("package %s is not installed", p)
				break
			}
		}
	}
	var b []byte
	if err == nil {
		b, err = learn.Build(c)
	}
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err == nil {
		var lines []string
		for p, v := range vs {
			lines = append(lines, p+" "+v+"\n")
		}
		sort.Strings(lines)
		err = os.WriteFile(strings.TrimSuffix(*out, ".bin")+".versions", []byte(strings.Join(lines, "")), 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "techvec: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %d bytes\n", *out, len(b))
}
