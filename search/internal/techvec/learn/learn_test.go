package learn_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/search/internal/techvec"
	"github.com/hive-dev/hive/search/internal/techvec/learn"
)

// TestExtract: manual pages and HTML give their prose, without markup.
func TestExtract(t *testing.T) {
	for _, c := range []struct{ kind, in, want string }{
		{"man", ".TH LS 1\n.SH NAME\nls \\- list \\fBdirectory\\fR contents\n.\\\" a comment\n", "LS 1 NAME ls list directory contents"},
		{"html", "<html><head><title>x</title></head><body><p>Use <code>git&nbsp;bisect</code></p><script>var a;</script></body></html>", "Use git bisect"},
		{"text", "plain text", "plain text"},
	} {
		if got := strings.Join(strings.Fields(learn.Extract(c.kind, []byte(c.in))), " "); got != c.want {
			t.Errorf("%s: %q, want %q", c.kind, got, c.want)
		}
	}
}

// TestLearnSmallCorpus: the learner, on a corpus made here, is
// deterministic and puts words used in the same contexts near each other
// (what the full table is learned for), without the Debian packages.
func TestLearnSmallCorpus(t *testing.T) {
	dir, info := t.TempDir(), t.TempDir()
	contexts := []string{
		"the web request under heavy load is %s and the users wait",
		"a %s response from the database server after the upgrade",
		"profile the service when it is %s at peak traffic",
	}
	crashes := []string{
		"the program hit a %s and dumped core in the parser",
		"a %s in the worker process killed the daemon at startup",
		"debug the %s with gdb and read the backtrace",
	}
	other := []string{
		"write the spreadsheet rows to a csv file with a header line",
		"rotate the log files every night and compress the old ones",
		"the backup copies the volume to remote storage each week",
	}
	var text strings.Builder
	for i := range 40 {
		for _, w := range []string{"slow", "latency"} {
			fmt.Fprintf(&text, contexts[i%3]+".\n", w)
		}
		for _, w := range []string{"crash", "segfault"} {
			fmt.Fprintf(&text, crashes[i%3]+".\n", w)
		}
		text.WriteString(other[i%3] + ".\n")
	}
	doc := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(doc, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(info, "fake-doc.list"), []byte(doc+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := learn.Config{Packages: []string{"fake-doc"}, InfoDir: info, Rows: 200, Contexts: 200, Window: 5, Dims: 8, MinCount: 5, Tokens: search.Tokens}
	a, err := learn.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := learn.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of one corpus differ")
	}
	// More dimensions than the corpus has terms for: an error, not a panic.
	few := c
	few.Dims = 500
	if _, err := learn.Build(few); err == nil || !strings.Contains(err.Error(), "too few for 500 dimensions") {
		t.Errorf("Build with 500 dimensions = %v, want an error saying the corpus is too small", err)
	}
	// The vectors as learned, and with their mean subtracted (Center):
	// words used in the same contexts are each other's nearest either way.
	centered := c
	centered.Center = true
	ca, err := learn.Build(centered)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, ca) {
		t.Fatal("centering changed nothing")
	}
	for _, b := range [][]byte{a, ca} {
		tab, err := techvec.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		nearest := func(w string) string {
			stem := search.Tokens(w)[0]
			r, ok := tab.Index[stem]
			if !ok || len(tab.Nbrs[r]) == 0 {
				t.Fatalf("%q (%s) has no neighbours in the table", w, stem)
			}
			return tab.Terms[tab.Nbrs[r][0].Row]
		}
		for _, p := range [][2]string{{"slow", "latency"}, {"latency", "slow"}, {"crash", "segfault"}, {"segfault", "crash"}} {
			if got, want := nearest(p[0]), search.Tokens(p[1])[0]; got != want {
				t.Errorf("nearest to %q is %q, want %q", p[0], got, want)
			}
		}
	}
}
