package registry

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestWorkFileHolds: what counts as a working tree file a write may
// replace (missing, or holding one of the versions it moves between), and
// what is a person's (other bytes, or something other than a file).
func TestWorkFileHolds(t *testing.T) {
	dir := t.TempDir()
	old, new := []byte("old bytes\n"), []byte("new bytes\n")
	keep := []plumbing.Hash{plumbing.ComputeHash(plumbing.BlobObject, old), plumbing.ComputeHash(plumbing.BlobObject, new)}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(write("target", old), link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		want bool
	}{
		{"missing", filepath.Join(dir, "missing"), true},
		{"the old version", write("old", old), true},
		{"the new version already", write("new", new), true},
		{"edited by hand", write("edited", []byte("my notes\n")), false},
		{"empty", write("empty", nil), false},
		{"a symbolic link to the old version", link, false},
		{"a directory", sub, false},
		{"under a file", filepath.Join(write("file", old), "x"), false},
	} {
		if got := workFileHolds(tc.path, keep); got != tc.want {
			t.Errorf("%s: workFileHolds = %v, want %v", tc.name, got, tc.want)
		}
	}
}
