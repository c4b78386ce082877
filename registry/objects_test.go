package registry

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// shardBytes is the raw tree of a shard holding a trace and its bundle for
// each of ids, as hive writes it.
func shardBytes(ids ...int) []byte {
	var entries []entry
	for _, id := range ids {
		hex := fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(id))))
		sum := sha256.Sum256([]byte(hex))
		h := sum[:20]
		for _, ext := range []string{".json", ".sigstore.json"} {
			var e entry
			e.name, e.mode = "ab"+hex[2:]+ext, filemode.Regular
			copy(e.hash[:], h)
			entries = append(entries, e)
		}
	}
	return treeBytes(entries)
}

func treeBytes(entries []entry) []byte {
	sortEntries(entries)
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "%o %s\x00", uint32(e.mode), e.name)
		b.Write(e.hash[:])
	}
	return b.Bytes()
}

func sortEntries(es []entry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && gitLess(es[j], es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// TestParseTreeFrom: a tree parsed against an earlier version has exactly
// the entries (names, modes, hashes) and errors of a full parse, whatever
// changed between the two.
func TestParseTreeFrom(t *testing.T) {
	base := shardBytes(1, 2, 3, 4, 5, 6, 7, 8)
	corrupt := func(b []byte, at int, c byte) []byte {
		b = bytes.Clone(b)
		b[at] = c
		return b
	}
	modeAt := bytes.IndexByte(base[1:], '1') + 1 // the second entry's mode
	cases := []struct {
		name    string
		new     []byte
		wantErr bool
	}{
		{"same bytes", base, false},
		{"one trace added", shardBytes(1, 2, 3, 4, 5, 6, 7, 8, 9), false},
		{"one trace removed", shardBytes(1, 2, 3, 5, 6, 7, 8), false},
		{"first removed", shardBytes(2, 3, 4, 5, 6, 7, 8), false},
		{"last removed", shardBytes(1, 2, 3, 4, 5, 6, 7), false},
		{"all replaced", shardBytes(11, 12), false},
		{"empty", nil, false},
		{"a hash changed", corrupt(base, len(base)-3, 0x55), false},
		{"a name changed", corrupt(base, len("100644 "), 'A'), false},
		{"a name changed out of order", corrupt(base, 10, 'c'), true},
		{"a bad mode", corrupt(base, modeAt, '9'), true},
		{"entries out of order", append(bytes.Clone(base), base[:len(base)/16]...), true},
		{"truncated", base[:len(base)-5], true},
		{"a NUL in a name's place", corrupt(base, 12, 0), true},
	}
	old, err := parseTree(plumbing.ZeroHash, bytes.Clone(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := parseTree(plumbing.ZeroHash, bytes.Clone(tc.new))
			got, gotErr := parseTreeFrom(plumbing.ZeroHash, bytes.Clone(tc.new), old)
			if (wantErr != nil) != tc.wantErr {
				t.Fatalf("full parse error = %v, want error %v", wantErr, tc.wantErr)
			}
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("parseTreeFrom error = %v, full parse %v", gotErr, wantErr)
			}
			if wantErr == nil && !reflect.DeepEqual(got.list(), want.list()) {
				t.Fatalf("parseTreeFrom entries differ from a full parse:\n got %v\nwant %v", got.list(), want.list())
			}
			if wantErr == nil && !reflect.DeepEqual(got.ends, want.ends) {
				t.Fatalf("parseTreeFrom ends = %v, full parse %v", got.ends, want.ends)
			}
		})
	}
}

// FuzzParseTreeFrom: for any old tree and any new bytes, parsing against
// the old tree agrees with a full parse.
func FuzzParseTreeFrom(f *testing.F) {
	f.Add(shardBytes(1, 2, 3), shardBytes(1, 2, 3, 4))
	f.Add(shardBytes(1, 2, 3), shardBytes(2, 3))
	f.Add(shardBytes(1, 2), []byte("100644 x\x00"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		old, err := parseTree(plumbing.ZeroHash, bytes.Clone(a))
		if err != nil {
			return
		}
		want, wantErr := parseTree(plumbing.ZeroHash, bytes.Clone(b))
		got, gotErr := parseTreeFrom(plumbing.ZeroHash, bytes.Clone(b), old)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("parseTreeFrom error = %v, full parse %v", gotErr, wantErr)
		}
		if wantErr == nil && (!reflect.DeepEqual(got.list(), want.list()) || !reflect.DeepEqual(got.ends, want.ends)) {
			t.Fatalf("parseTreeFrom differs from a full parse")
		}
	})
}

// TestStoredZlib: streams of stored blocks are unwrapped without an
// inflate, anything else is left to zlib, and a bad checksum is an error.
func TestStoredZlib(t *testing.T) {
	big := bytes.Repeat([]byte("tree entry "), 20000) // more than one stored block
	cases := []struct {
		name    string
		in      []byte
		ok      bool
		wantErr bool
	}{
		{"stored, one block", deflate(zlib.NoCompression, []byte("tree 3\x00abc")), true, false},
		{"stored, several blocks", deflate(zlib.NoCompression, big), true, false},
		{"stored, empty", deflate(zlib.NoCompression, nil), true, false},
		{"compressed", deflate(zlib.BestSpeed, big), false, false},
		{"trailing bytes", append(deflate(zlib.NoCompression, big), 0), false, false},
		{"truncated", deflate(zlib.NoCompression, big)[:1000], false, false},
		{"bad checksum", func() []byte {
			b := deflate(zlib.NoCompression, big)
			b[len(b)-1] ^= 1
			return b
		}(), true, true},
		{"not zlib", []byte("blob 3\x00abc"), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Clone(tc.in)
			got, ok, err := storedZlib(in, math.MaxInt64)
			if ok != tc.ok || (err != nil) != tc.wantErr {
				t.Fatalf("storedZlib = ok %v, error %v; want ok %v, error %v", ok, err, tc.ok, tc.wantErr)
			}
			if !ok {
				if !bytes.Equal(in, tc.in) {
					t.Fatal("storedZlib changed a stream it did not take")
				}
				return
			}
			if err != nil {
				return
			}
			r, err := zlib.NewReader(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if _, err := want.ReadFrom(r); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("storedZlib gave %d bytes, zlib %d", len(got), want.Len())
			}
		})
	}
}

// deflate compresses b as a zlib stream at the given level.
func deflate(level int, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, level)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestStoredZlibUnchecked: past uncheckedAbove bytes the Adler-32 is not
// read, so a bad one is no error, and the content is still unwrapped; up
// to it, it is.
func TestStoredZlibUnchecked(t *testing.T) {
	content := bytes.Repeat([]byte("100644 x.json\x00abcdefghijklmnopqrst"), 5000) // several blocks
	b := deflate(zlib.NoCompression, content)
	b[len(b)-1] ^= 1
	if _, ok, err := storedZlib(bytes.Clone(b), int64(len(content))); !ok || err == nil {
		t.Fatalf("checked: ok %v, error %v; want the checksum refused", ok, err)
	}
	got, ok, err := storedZlib(b, int64(len(content))-1)
	if !ok || err != nil || !bytes.Equal(got, content) {
		t.Fatalf("unchecked: ok %v, error %v, %d bytes equal %v", ok, err, len(got), bytes.Equal(got, content))
	}
}

// TestTreeFind: names are found whatever git's order puts beside them,
// trees sorting as if their names ended in '/'.
func TestTreeFind(t *testing.T) {
	var entries []entry
	for i, n := range []struct {
		name string
		dir  bool
	}{{"a", true}, {"a-", false}, {"a.b", false}, {"a0", false}, {"b", false}, {"b.c", true}, {"keys", true}, {"traces", true}, {"hive.json", false}} {
		e := entry{name: n.name, mode: filemode.Regular}
		if n.dir {
			e.mode = filemode.Dir
		}
		e.hash[0] = byte(i + 1)
		entries = append(entries, e)
	}
	tr, err := parseTree(plumbing.ZeroHash, treeBytes(entries))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range entries {
		got, ok := tr.find(want.name)
		if !ok || got.hash != want.hash || got.mode != want.mode {
			t.Errorf("find(%q) = %v, %v; want %v", want.name, got, ok, want)
		}
	}
	for _, name := range []string{"", "a/", "a.", "c", "trace", "tracesx", "0"} {
		if got, ok := tr.find(name); ok {
			t.Errorf("find(%q) = %v, want nothing", name, got)
		}
	}
}

// TestInflate: a pack's object is inflated to the end of its zlib stream,
// where its Adler-32 is checked; the bytes after it (the next object) are
// not read.
func TestInflate(t *testing.T) {
	content := []byte("tree 3\x00abc and more bytes to compress")
	good := deflate(zlib.BestSpeed, content)
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"whole", good, true},
		{"next object after it", append(bytes.Clone(good), deflate(zlib.BestSpeed, []byte("next"))...), true},
		{"bad checksum", bad, false},
		{"truncated", good[:len(good)-2], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := inflate(tc.in, len(content))
			if (err == nil) != tc.ok {
				t.Fatalf("inflate error = %v, want ok %v", err, tc.ok)
			}
			if tc.ok && !bytes.Equal(got, content) {
				t.Fatalf("inflate = %q, want %q", got, content)
			}
			if !tc.ok && !errors.Is(err, errPackCorrupt) {
				t.Fatalf("inflate error = %v, want errPackCorrupt", err)
			}
		})
	}
	if _, err := inflate(good, len(content)-1); err == nil {
		t.Fatal("inflate of an object longer than its header says: no error")
	}
}
