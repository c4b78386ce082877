package gitfmt

import (
	"bytes"
	"compress/zlib"
	"errors"
	"math"
	"testing"
)

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
			got, ok, err := StoredZlib(in, math.MaxInt64)
			if ok != tc.ok || (err != nil) != tc.wantErr {
				t.Fatalf("StoredZlib = ok %v, error %v; want ok %v, error %v", ok, err, tc.ok, tc.wantErr)
			}
			if !ok {
				if !bytes.Equal(in, tc.in) {
					t.Fatal("StoredZlib changed a stream it did not take")
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
				t.Fatalf("StoredZlib gave %d bytes, zlib %d", len(got), want.Len())
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
	if _, ok, err := StoredZlib(bytes.Clone(b), int64(len(content))); !ok || err == nil {
		t.Fatalf("checked: ok %v, error %v; want the checksum refused", ok, err)
	}
	got, ok, err := StoredZlib(b, int64(len(content))-1)
	if !ok || err != nil || !bytes.Equal(got, content) {
		t.Fatalf("unchecked: ok %v, error %v, %d bytes equal %v", ok, err, len(got), bytes.Equal(got, content))
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
			got, _, err := Inflate(tc.in, len(content))
			if (err == nil) != tc.ok {
				t.Fatalf("inflate error = %v, want ok %v", err, tc.ok)
			}
			if tc.ok && !bytes.Equal(got, content) {
				t.Fatalf("inflate = %q, want %q", got, content)
			}
			if !tc.ok && !errors.Is(err, ErrZlib) {
				t.Fatalf("inflate error = %v, want ErrZlib", err)
			}
		})
	}
	if _, _, err := Inflate(good, len(content)-1); err == nil {
		t.Fatal("inflate of an object longer than its header says: no error")
	}
}
