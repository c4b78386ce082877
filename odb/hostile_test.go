package odb_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/odb"
)

// Damaged and hostile files: each read gives a clear error that wraps
// ErrCorrupt (never ErrNotFound, never a panic, never a hang), or for
// repositories this package cannot read, ErrUnsupported at Open.

// mustOpen opens gitDir and closes it when the test ends.
func mustOpen(t *testing.T, gitDir string) *odb.Disk {
	t.Helper()
	d, err := odb.Open(gitDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// wantCorrupt checks err is a corrupt-file error and not a missing one.
func wantCorrupt(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, odb.ErrCorrupt) || errors.Is(err, odb.ErrNotFound) {
		t.Errorf("%s: error %v, want one wrapping ErrCorrupt and not ErrNotFound", what, err)
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("%s: error of several lines: %q", what, err)
	}
}

// blobs are the objects of the small packs below.
var blobs = [][]byte{[]byte("alpha\n"), []byte("beta\n"), []byte("gamma\n"), []byte("delta, the fourth\n")}

func blobPack(t *testing.T) (dir, idx, pack string) {
	t.Helper()
	dir = emptyRepo(t)
	var es []packEntry
	for _, b := range blobs {
		es = append(es, whole(plumbing.BlobObject, b))
	}
	idx, pack = writePack(t, dir, es)
	return dir, idx, pack
}

// TestPackIndexChecked: an index or pack that is damaged anywhere a reader
// relies on is refused when the pack is opened, and reads of its objects
// say so.
func TestPackIndexChecked(t *testing.T) {
	const fan, names = 8, 8 + 256*4
	n := len(blobs)
	offsets := names + n*24
	cases := []struct {
		name   string
		idx    func(b []byte) // changes the index; its checksum is then fixed
		raw    func(b []byte) // changes the index after that
		pack   func(b []byte) []byte
		reason string
	}{
		{name: "fan-out decreases", idx: func(b []byte) { binary.BigEndian.PutUint32(b[fan+100*4:], 9) }, reason: "fan-out"},
		{name: "fan-out total too large", idx: func(b []byte) { binary.BigEndian.PutUint32(b[fan+255*4:], 1000) }, reason: "do not hold"},
		{name: "names out of order", idx: func(b []byte) {
			var tmp [20]byte
			copy(tmp[:], b[names:names+20])
			copy(b[names:], b[names+20:names+40])
			copy(b[names+20:], tmp[:])
		}, reason: "out of order"},
		{name: "offset past the pack", idx: func(b []byte) { binary.BigEndian.PutUint32(b[offsets:], 1<<30) }, reason: "outside the pack"},
		{name: "offset in the header", idx: func(b []byte) { binary.BigEndian.PutUint32(b[offsets:], 3) }, reason: "outside the pack"},
		{name: "64-bit offset that is not there", idx: func(b []byte) { binary.BigEndian.PutUint32(b[offsets:], 0x80000005) }, reason: "64-bit offset"},
		{name: "index checksum", raw: func(b []byte) { b[len(b)-1] ^= 1 }, reason: "checksum"},
		{name: "pack checksum recorded in the index", idx: func(b []byte) { b[len(b)-21] ^= 1 }, reason: "pack checksum"},
		{name: "pack trailer", pack: func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, reason: "pack checksum"},
		{name: "pack object count", pack: func(b []byte) []byte { b[11]++; return b }, reason: "objects"},
		{name: "not a pack", pack: func(b []byte) []byte { copy(b, "JUNK"); return b }, reason: "not a pack"},
		{name: "pack truncated", pack: func(b []byte) []byte { return b[:20] }, reason: "truncated"},
		{name: "index truncated", raw: func(b []byte) {}, reason: "truncated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "pack truncated" {
				odb.MapPacks(t) // and read, in the other cases
			}
			dir, idxPath, packPath := blobPack(t)
			ib, _ := os.ReadFile(idxPath)
			if tc.idx != nil {
				tc.idx(ib)
				fixIdxChecksum(ib)
			}
			if tc.raw != nil {
				tc.raw(ib)
			}
			if tc.name == "index truncated" {
				ib = ib[:100]
			}
			os.Chmod(idxPath, 0o644)
			if err := os.WriteFile(idxPath, ib, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.pack != nil {
				pb, _ := os.ReadFile(packPath)
				os.Chmod(packPath, 0o644)
				if err := os.WriteFile(packPath, tc.pack(pb), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d := mustOpen(t, dir)
			for _, b := range blobs {
				_, err := d.Read(plumbing.BlobObject, plumbing.ComputeHash(plumbing.BlobObject, b), 1<<20)
				wantCorrupt(t, "Read", err)
				if err != nil && !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("Read: error %q does not say %q", err, tc.reason)
				}
			}
		})
	}
}

// TestPackObjectsChecked: damaged objects inside a valid pack are corrupt
// objects; the others still read.
func TestPackObjectsChecked(t *testing.T) {
	dir := emptyRepo(t)
	big := bytes.Repeat([]byte("a line of a blob that deltas copy from\n"), 50)
	base := whole(plumbing.BlobObject, big)
	child := append(bytes.Clone(big[:100]), "and more"...)
	copyThenInsert := append(deltaHeader(len(big), len(child)), 0x90, 100) // copy 100 bytes from 0
	copyThenInsert = append(copyThenInsert, 8)
	copyThenInsert = append(copyThenInsert, "and more"...)
	cycleA, cycleB := plumbing.NewHash(strings.Repeat("a1", 20)), plumbing.NewHash(strings.Repeat("b2", 20))
	entries := []packEntry{
		base,
		{Data: copyThenInsert, OfsBase: 0, Name: plumbing.ComputeHash(plumbing.BlobObject, child)},
		{Data: insertDelta(7, []byte("x")), RefBase: cycleB, OfsBase: -1, Name: cycleA},
		{Data: insertDelta(7, []byte("y")), RefBase: cycleA, OfsBase: -1, Name: cycleB},
		{Data: insertDelta(3, []byte("wrong base size")), OfsBase: 0, Name: plumbing.NewHash(strings.Repeat("c3", 20))},
		{Data: append(deltaHeader(len(big), 10), 0x90, 0xff, 0xff), OfsBase: 0, Name: plumbing.NewHash(strings.Repeat("d4", 20))}, // copy past the base
		{Data: insertDelta(len(big), []byte("ok")), RefBase: plumbing.NewHash(strings.Repeat("e5", 20)), OfsBase: -1, Name: plumbing.NewHash(strings.Repeat("e6", 20))},
	}
	writePack(t, dir, entries)
	d := mustOpen(t, dir)
	if got, err := d.Read(plumbing.BlobObject, entries[1].Name, 1<<20); err != nil || !bytes.Equal(got, child) {
		t.Fatalf("Read(delta) = %q, %v; want %q", got, err, child)
	}
	for _, tc := range []struct {
		name string
		h    plumbing.Hash
	}{{"delta cycle", cycleA}, {"delta on a base of another size", entries[4].Name}, {"copy past the base", entries[5].Name}, {"base not in the pack", entries[6].Name}} {
		_, err := d.Read(plumbing.BlobObject, tc.h, 1<<20)
		wantCorrupt(t, tc.name, err)
	}
}

// TestDeltaBomb: a small object built from a huge base (the 345 KB
// push of traces built on a 256 MiB blob, here 64 MiB) is refused before
// the base is inflated, as a BuildError; the read of the base itself, with
// a limit that allows it, works.
func TestDeltaBomb(t *testing.T) {
	dir := emptyRepo(t)
	zeros := make([]byte, 64<<20)
	bomb := whole(plumbing.BlobObject, zeros)
	trace := []byte(`{"intent":"a trace built on 64 MiB of zeros"}`)
	d := append(deltaHeader(len(zeros), len(trace)+100), 0x90, 100) // 100 zeros, then the trace
	d = append(d, byte(len(trace)))
	d = append(d, trace...)
	small := packEntry{Data: d, OfsBase: 0, Name: plumbing.ComputeHash(plumbing.BlobObject, append(make([]byte, 100), trace...))}
	writePack(t, dir, []packEntry{bomb, small})
	db := mustOpen(t, dir)
	_, err := db.Read(plumbing.BlobObject, small.Name, 128<<10)
	var be *odb.BuildError
	if !errors.As(err, &be) {
		t.Fatalf("Read(bomb, 128 KiB) = %v, want a BuildError", err)
	}
	wantCorrupt(t, "Read(bomb)", err)
	if be.Largest != uint64(len(zeros)) {
		t.Errorf("BuildError.Largest = %d, want the base's %d", be.Largest, len(zeros))
	}
	// Allowed where the budget allows it: a read of the base's own size.
	if got, err := db.Read(plumbing.BlobObject, small.Name, 64<<20); err != nil || len(got) != len(trace)+100 {
		t.Errorf("Read(bomb, 64 MiB) = %d bytes, %v", len(got), err)
	}
}

// TestBudget: the budget grows with the read's limit, with floors and
// ceilings.
func TestBudget(t *testing.T) {
	for _, tc := range []struct {
		max            int64
		largest, total uint64
	}{
		{0, 1 << 20, 16 << 20},
		{4 << 10, 1 << 20, 17 << 20},
		{128 << 10, 4 << 20, 48 << 20},
		{16 << 20, 256 << 20, 1 << 30},
		{1 << 62, 256 << 20, 1 << 30},
	} {
		if l, tot := odb.Budget(tc.max); l != tc.largest || tot != tc.total {
			t.Errorf("Budget(%d) = %d, %d; want %d, %d", tc.max, l, tot, tc.largest, tc.total)
		}
	}
}

// looseRepo is a repository with one loose blob, and the blob's file.
func looseRepo(t *testing.T, content []byte, level int) (dir string, h plumbing.Hash, path string) {
	t.Helper()
	dir = emptyRepo(t)
	h = plumbing.ComputeHash(plumbing.BlobObject, content)
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, level)
	w.Write([]byte("blob " + strconv.Itoa(len(content)) + "\x00"))
	w.Write(content)
	w.Close()
	path = filepath.Join(dir, "objects", h.String()[:2], h.String()[2:])
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, buf.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
	return dir, h, path
}

// TestLooseChecked: a loose object with bytes after its zlib stream, a
// header that lies about its size, or no header is corrupt, stored or
// compressed; a file that is not a regular file (a FIFO, a folder) is
// refused without being read, so a FIFO cannot hang the reader.
func TestLooseChecked(t *testing.T) {
	content := []byte("a loose object\n")
	for _, level := range []int{zlib.NoCompression, zlib.BestSpeed} {
		t.Run("trailing bytes", func(t *testing.T) {
			dir, h, path := looseRepo(t, content, level)
			b, _ := os.ReadFile(path)
			os.Chmod(path, 0o644)
			os.WriteFile(path, append(b, "junk"...), 0o644)
			_, err := mustOpen(t, dir).Read(plumbing.BlobObject, h, 1<<20)
			wantCorrupt(t, "Read(trailing bytes)", err)
		})
		t.Run("size lies", func(t *testing.T) {
			dir := emptyRepo(t)
			h := plumbing.ComputeHash(plumbing.BlobObject, content)
			var buf bytes.Buffer
			w, _ := zlib.NewWriterLevel(&buf, level)
			w.Write([]byte("blob 3\x00"))
			w.Write(content)
			w.Close()
			path := filepath.Join(dir, "objects", h.String()[:2], h.String()[2:])
			os.MkdirAll(filepath.Dir(path), 0o755)
			os.WriteFile(path, buf.Bytes(), 0o444)
			_, err := mustOpen(t, dir).Read(plumbing.BlobObject, h, 1<<20)
			wantCorrupt(t, "Read(size lies)", err)
		})
	}
	t.Run("not zlib", func(t *testing.T) {
		dir, h, path := looseRepo(t, content, zlib.BestSpeed)
		os.Chmod(path, 0o644)
		os.WriteFile(path, []byte("blob 15\x00a loose object\n"), 0o644)
		_, err := mustOpen(t, dir).Read(plumbing.BlobObject, h, 1<<20)
		wantCorrupt(t, "Read(not zlib)", err)
	})
	t.Run("a folder", func(t *testing.T) {
		dir, h, path := looseRepo(t, content, zlib.BestSpeed)
		os.Chmod(path, 0o644)
		os.Remove(path)
		os.Mkdir(path, 0o755)
		_, err := mustOpen(t, dir).Read(plumbing.BlobObject, h, 1<<20)
		wantCorrupt(t, "Read(folder)", err)
	})
	t.Run("fifo", func(t *testing.T) {
		dir, h, path := looseRepo(t, content, zlib.BestSpeed)
		os.Chmod(path, 0o644)
		os.Remove(path)
		if err := mkfifo(path); err != nil {
			t.Skipf("no FIFOs here: %v", err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := mustOpen(t, dir).Read(plumbing.BlobObject, h, 1<<20)
			done <- err
		}()
		select {
		case err := <-done:
			wantCorrupt(t, "Read(fifo)", err)
		case <-time.After(10 * time.Second):
			t.Fatal("Read of a FIFO hangs")
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		dir, h, _ := looseRepo(t, content, zlib.BestSpeed)
		_, err := mustOpen(t, dir).Read(plumbing.TreeObject, h, 1<<20)
		var te *odb.TypeError
		if !errors.As(err, &te) || te.Got != plumbing.BlobObject {
			t.Errorf("Read(blob as a tree) = %v, want a TypeError", err)
		}
	})
	t.Run("over the limit", func(t *testing.T) {
		dir, h, _ := looseRepo(t, bytes.Repeat([]byte("x"), 1<<20), zlib.BestSpeed)
		_, err := mustOpen(t, dir).Read(plumbing.BlobObject, h, 1000)
		var se *odb.SizeError
		if !errors.As(err, &se) || se.Size != 1<<20 {
			t.Errorf("Read(1 MiB, limit 1000) = %v, want a SizeError of 1 MiB", err)
		}
	})
}

// TestUnsupportedRepositories: SHA-256 repositories, reftables and
// version 1 pack indexes are refused in one line, naming what.
func TestUnsupportedRepositories(t *testing.T) {
	t.Run("sha256", func(t *testing.T) {
		dir := emptyRepo(t)
		os.WriteFile(filepath.Join(dir, "config"), []byte("[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectFormat = sha256\n"), 0o644)
		_, err := odb.Open(dir)
		if !errors.Is(err, odb.ErrUnsupported) || !strings.Contains(err.Error(), "sha256") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(sha256) = %v, want one line naming sha256, ErrUnsupported", err)
		}
	})
	t.Run("reftable", func(t *testing.T) {
		dir := emptyRepo(t)
		os.WriteFile(filepath.Join(dir, "config"), []byte("[extensions]\n\trefStorage = reftable\n"), 0o644)
		if _, err := odb.Open(dir); !errors.Is(err, odb.ErrUnsupported) {
			t.Errorf("Open(reftable) = %v, want ErrUnsupported", err)
		}
	})
	t.Run("index version 1", func(t *testing.T) {
		if _, err := fixtures.Git("", nil, "--version"); err != nil {
			t.Skip("git is not installed")
		}
		dir, idx, pack := blobPack(t)
		os.Remove(idx)
		if _, err := fixtures.Git(dir, nil, "index-pack", "--index-version=1", "-o", idx, pack); err != nil {
			t.Fatal(err)
		}
		d := mustOpen(t, dir)
		_, err := d.Read(plumbing.BlobObject, plumbing.ComputeHash(plumbing.BlobObject, blobs[0]), 100)
		if !errors.Is(err, odb.ErrUnsupported) || !strings.Contains(err.Error(), "version 1") {
			t.Errorf("Read from a v1 index = %v, want ErrUnsupported naming version 1", err)
		}
	})
	t.Run("alternate that is not there", func(t *testing.T) {
		dir := emptyRepo(t)
		os.WriteFile(filepath.Join(dir, "objects", "info", "alternates"), []byte("/nonexistent/objects\n"), 0o644)
		if _, err := odb.Open(dir); !errors.Is(err, odb.ErrNotFound) || !strings.Contains(err.Error(), "/nonexistent/objects") {
			t.Errorf("Open(missing alternate) = %v, want ErrNotFound naming it", err)
		}
	})
}
