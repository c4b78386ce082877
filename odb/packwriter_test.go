package odb_test

import (
	"crypto/sha1"
	"os"
	"path/filepath"
	"testing"

	"github.com/hive-dev/hive/fixtures"
)

type packEntry = fixtures.PackEntry

var (
	whole       = fixtures.Whole
	deltaHeader = fixtures.DeltaHeader
	insertDelta = fixtures.InsertDelta
)

func writePack(t *testing.T, gitDir string, entries []packEntry) (idxPath, packPath string) {
	t.Helper()
	idx, pack, err := fixtures.WritePack(gitDir, entries)
	if err != nil {
		t.Fatal(err)
	}
	return idx, pack
}

// fixIdxChecksum rewrites an index's own checksum after a test changed it.
func fixIdxChecksum(b []byte) {
	sum := sha1.Sum(b[:len(b)-20])
	copy(b[len(b)-20:], sum[:])
}

// emptyRepo makes the folders of a bare repository with no objects.
func emptyRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"objects/pack", "objects/info", "refs/heads"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
