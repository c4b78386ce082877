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
	c := learn.Default
	with := flag.String("with", "", "more packages to read, comma-separated (to measure a corpus before it is the default)")
	flag.IntVar(&c.Window, "window", c.Window, "words each side counted as context")
	flag.IntVar(&c.Dims, "dims", c.Dims, "vector dimensions")
	flag.IntVar(&c.Rows, "rows", c.Rows, "terms that get a vector")
	flag.IntVar(&c.Contexts, "contexts", c.Contexts, "terms counted as contexts")
	flag.BoolVar(&c.Center, "center", c.Center, "subtract the mean vector")
	stats := flag.Bool("stats", false, "print each package's files and bytes of text and stop")
	flag.Parse()
	if *with != "" {
		c.Packages = append(append([]string(nil), c.Packages...), strings.Split(*with, ",")...)
	}
	if *pkgs {
		fmt.Println(strings.Join(c.Packages, " "))
		return
	}
	c.Tokens = search.Tokens
	var err error
	if *stats {
		err = printStats(c)
	} else {
		err = run(c, *out, *check)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "techvec: %v\n", err)
		os.Exit(1)
	}
}

func run(c learn.Config, out string, check bool) error {
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

// printStats prints, for each package, the files read and the bytes of
// text extracted from them.
func printStats(c learn.Config) error {
	var total int
	for _, p := range c.Packages {
		one := c
		one.Packages = []string{p}
		files, bytes := 0, 0
		if err := learn.Corpus(one, func(_, text string) { files++; bytes += len(text) }); err != nil {
			return err
		}
		total += bytes
		fmt.Printf("%-28s %6d files %8.1f MB\n", p, files, float64(bytes)/1e6)
	}
	fmt.Printf("%-28s %6s       %8.1f MB\n", "total", "", float64(total)/1e6)
	return nil
}
