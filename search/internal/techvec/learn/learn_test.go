package learn_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/search/internal/techvec/learn"
)

// TestTableRegenerates: the committed table is exactly what the generator
// writes from the documentation packages, at the versions recorded beside
// it. Where a package is not installed the test skips, unless
// HIVE_REQUIRE_TECHVEC=1 (as .ci/run sets, after installing them): then it
// fails. Installed versions other than the recorded ones fail it too,
// naming them: the table is then regenerated (make techvec) and measured.
// It reads about 150 MB of documentation: not in -short.
func TestTableRegenerates(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the documentation packages")
	}
	c := learn.Default
	c.Tokens = search.Tokens
	vs, err := learn.Versions("/var/lib/dpkg/status", c.Packages)
	if err != nil && os.Getenv("HIVE_REQUIRE_TECHVEC") != "1" {
		t.Skipf("no dpkg status: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := os.ReadFile("../../../techvec.versions")
	if err != nil {
		t.Fatal(err)
	}
	var differ []string
	for _, l := range strings.Split(strings.TrimSpace(string(recorded)), "\n") {
		p, v, _ := strings.Cut(l, " ")
		switch vs[p] {
		case "":
			if os.Getenv("HIVE_REQUIRE_TECHVEC") == "1" {
				t.Fatalf("package %s is not installed (apt-get install %s)", p, p)
			}
			t.Skipf("package %s is not installed (apt-get install %s)", p, p)
		case v:
		default:
			differ = append(differ, p+" "+vs[p]+" (table: "+v+")")
		}
	}
	if len(differ) > 0 {
		t.Fatalf("installed documentation is not what search/techvec.bin was learned from: %s; run make techvec and measure it (docs/search.md)", strings.Join(differ, ", "))
	}
	got, err := learn.Build(c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../../techvec.bin")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("search/techvec.bin (%d bytes) is not what the packages give (%d bytes): run make techvec", len(want), len(got))
	}
}

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
