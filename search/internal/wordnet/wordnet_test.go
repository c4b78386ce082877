package wordnet_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hive-dev/hive/search/internal/wordnet"
)

// dictDir is where Debian's wordnet-base installs the database; HIVE_WORDNET
// names another.
func dictDir() string {
	if d := os.Getenv("HIVE_WORDNET"); d != "" {
		return d
	}
	return "/usr/share/wordnet"
}

// TestTableRegenerates: the committed table is exactly what the generator
// writes from WordNet's database. Where WordNet is not installed the test
// skips, unless HIVE_REQUIRE_WORDNET=1 (as .ci/run sets, after installing
// it): then a missing database fails.
func TestTableRegenerates(t *testing.T) {
	dir := dictDir()
	if _, err := os.Stat(filepath.Join(dir, "data.noun")); err != nil {
		if os.Getenv("HIVE_REQUIRE_WORDNET") == "1" {
			t.Fatalf("WordNet database not found in %s (apt-get install wordnet-base): %v", dir, err)
		}
		t.Skipf("WordNet database not found in %s (apt-get install wordnet-base)", dir)
	}
	got, err := wordnet.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../wordnet.bin")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("search/wordnet.bin (%d bytes) is not what %s gives (%d bytes): run go run ./search/internal/wordnet/gen", len(want), dir, len(got))
	}
}

// TestBuildErrors: a missing or malformed database is an error naming the
// file, never a panic or a partial table.
func TestBuildErrors(t *testing.T) {
	if _, err := wordnet.Build(t.TempDir()); err == nil {
		t.Fatal("Build of an empty folder: no error")
	}
	dir := t.TempDir()
	for _, f := range []string{"data.noun", "data.verb", "data.adj", "data.adv", "index.noun", "index.verb", "index.adj", "index.adv", "noun.exc", "verb.exc", "adj.exc", "adv.exc"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "data.noun"), []byte("00001740 03 n zz bad\n"), 0o644)
	if _, err := wordnet.Build(dir); err == nil {
		t.Fatal("Build of a malformed data.noun: no error")
	}
	os.WriteFile(filepath.Join(dir, "data.noun"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "index.noun"), []byte("disk n 1 0 1 0 99999999\n"), 0o644)
	if _, err := wordnet.Build(dir); err == nil {
		t.Fatal("Build of an index naming a missing synset: no error")
	}
}
