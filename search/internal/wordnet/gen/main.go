// Command gen compiles WordNet's database (Debian: apt-get install wordnet-base)
// into search/wordnet.bin, the table the search package embeds:
//
//	go run ./search/internal/wordnet/gen [-dict /usr/share/wordnet] [-out search/wordnet.bin]
//
// The same database always gives the same bytes; `make test` checks that the
// committed table is what this command writes, when WordNet is installed.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hive-dev/hive/search/internal/wordnet"
)

func main() {
	dict := flag.String("dict", "/usr/share/wordnet", "the WordNet database folder")
	out := flag.String("out", "search/wordnet.bin", "the table to write")
	flag.Parse()
	b, err := wordnet.Build(*dict)
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "wordnet: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %d bytes\n", *out, len(b))
}
