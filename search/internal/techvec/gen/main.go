// Command gen learns word vectors from Debian's documentation packages
// (learn.Packages) and writes search/techvec.bin, the table the search
// package embeds, and search/techvec.versions, the packages' versions it
// was learned from:
//
//	apt-get install --no-install-recommends $(go run ./search/internal/techvec/gen -packages)
//	go run ./search/internal/techvec/gen [-out search/techvec.bin]
//	go run ./search/internal/techvec/gen -check
//
// The same packages at the same versions always give the same bytes:
// -check (make techvec-check) says whether the committed table is what
// the installed packages give, and exits 1 when it is not.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/search/internal/techvec/learn"
)

func main() {
	out := flag.String("out", "search/techvec.bin", "the table to write (or, with -check, to compare)")
	pkgs := flag.Bool("packages", false, "print the packages read and stop")
	check := flag.Bool("check", false, "compare the table and its versions with what the installed packages give; write nothing")
	flag.Parse()
	if *pkgs {
		fmt.Println(strings.Join(learn.Packages, " "))
		return
	}
	if err := run(*out, *check); err != nil {
		fmt.Fprintf(os.Stderr, "techvec: %v\n", err)
		os.Exit(1)
	}
}

func run(out string, check bool) error {
	c := learn.Default
	c.Tokens = search.Tokens
	vs, err := learn.Versions("/var/lib/dpkg/status", c.Packages)
	if err != nil {
		return err
	}
	var lines []string
	for _, p := range c.Packages {
		if vs[p] == "" {
			return fmt.Errorf("package %s is not installed (apt-get install %s)", p, p)
		}
		lines = append(lines, p+" "+vs[p]+"\n")
	}
	sort.Strings(lines)
	versions := []byte(strings.Join(lines, ""))
	versionsPath := strings.TrimSuffix(out, ".bin") + ".versions"
	if check {
		recorded, err := os.ReadFile(versionsPath)
		if err != nil {
			return err
		}
		if !bytes.Equal(recorded, versions) {
			return fmt.Errorf("the installed packages are not the versions %s records: run make techvec and measure the search again (docs/search.md)", versionsPath)
		}
	}
	b, err := learn.Build(c)
	if err != nil {
		return err
	}
	if check {
		want, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if !bytes.Equal(b, want) {
			return fmt.Errorf("%s (%d bytes) is not what the packages give (%d bytes): run make techvec", out, len(want), len(b))
		}
		fmt.Printf("%s is what the installed packages give\n", out)
		return nil
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(versionsPath, versions, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d bytes\n", out, len(b))
	return nil
}
