package odb_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/odb"
)

// TestPacksUnmappedWhenGone: when git gc replaces the packs a long-running
// reader has mapped (hive serve), the reader maps the new pack and unmaps
// the old one on its next look, instead of keeping the deleted file
// mapped; Close unmaps the rest.
func TestPacksUnmappedWhenGone(t *testing.T) {
	if _, err := fixtures.Git("", nil, "--version"); err != nil {
		t.Skip("git is not installed")
	}
	odb.LookAlways(t)
	dir := t.TempDir()
	if _, err := fixtures.Git("", nil, "init", "-q", "--bare", dir); err != nil {
		t.Fatal(err)
	}
	write := func(s string) plumbing.Hash {
		out, err := fixtures.Git(dir, strings.NewReader(s), "hash-object", "-w", "--stdin")
		if err != nil {
			t.Fatal(err)
		}
		h := strings.TrimSpace(out)
		if _, err := fixtures.Git(dir, nil, "update-ref", "refs/tags/"+h[:8], h); err != nil { // reachable: git repack -a packs it
			t.Fatal(err)
		}
		return plumbing.NewHash(h)
	}
	first := write("first object\n")
	if _, err := fixtures.Git(dir, nil, "repack", "-adq"); err != nil {
		t.Fatal(err)
	}
	oldPacks, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	before := odb.Mappings()
	d, err := odb.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(plumbing.BlobObject, first, 100); err != nil {
		t.Fatal(err)
	}
	if got := odb.Mappings() - before; got != 2 {
		t.Fatalf("after the first read, %d files mapped, want the pack and its index", got)
	}
	second := write("second object\n")
	if _, err := fixtures.Git(dir, nil, "repack", "-adq"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(oldPacks[0]); !os.IsNotExist(err) {
		t.Fatalf("git repack kept %s", oldPacks[0])
	}
	for _, h := range []plumbing.Hash{first, second} {
		if _, err := d.Read(plumbing.BlobObject, h, 100); err != nil {
			t.Fatalf("Read(%s) after git repack: %v", h, err)
		}
	}
	if got := odb.Mappings() - before; got != 2 {
		t.Errorf("after git repack, %d files mapped, want the new pack and index only", got)
	}
	if runtime.GOOS == "linux" {
		maps, _ := os.ReadFile("/proc/self/maps")
		if strings.Contains(string(maps), filepath.Base(oldPacks[0])) {
			t.Errorf("the deleted pack %s is still mapped", filepath.Base(oldPacks[0]))
		}
	}
	d.Close()
	if got := odb.Mappings() - before; got != 0 {
		t.Errorf("after Close, %d files mapped, want none", got)
	}
	if _, err := d.Read(plumbing.BlobObject, first, 100); err == nil {
		t.Error("Read after Close: no error")
	}
}
