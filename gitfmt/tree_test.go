package gitfmt

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// shardBytes is the raw tree of a shard holding a trace and its bundle for
// each of ids, as hive writes it.
func shardBytes(ids ...int) []byte {
	var entries []Entry
	for _, id := range ids {
		hex := fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(id))))
		sum := sha256.Sum256([]byte(hex))
		h := sum[:20]
		for _, ext := range []string{".json", ".sigstore.json"} {
			var e Entry
			e.Name, e.Mode = "ab"+hex[2:]+ext, filemode.Regular
			copy(e.Hash[:], h)
			entries = append(entries, e)
		}
	}
	return treeBytes(entries)
}

func treeBytes(entries []Entry) []byte {
	sortEntries(entries)
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "%o %s\x00", uint32(e.Mode), e.Name)
		b.Write(e.Hash[:])
	}
	return b.Bytes()
}

func sortEntries(es []Entry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && Less(es[j], es[j-1]); j-- {
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
	old, err := ParseTree(plumbing.ZeroHash, bytes.Clone(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := ParseTree(plumbing.ZeroHash, bytes.Clone(tc.new))
			got, gotErr := ParseTreeFrom(plumbing.ZeroHash, bytes.Clone(tc.new), old)
			if (wantErr != nil) != tc.wantErr {
				t.Fatalf("full parse error = %v, want error %v", wantErr, tc.wantErr)
			}
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("ParseTreeFrom error = %v, full parse %v", gotErr, wantErr)
			}
			if wantErr == nil && !reflect.DeepEqual(got.List(), want.List()) {
				t.Fatalf("ParseTreeFrom entries differ from a full parse:\n got %v\nwant %v", got.List(), want.List())
			}
			if wantErr == nil && !reflect.DeepEqual(got.ends, want.ends) {
				t.Fatalf("ParseTreeFrom ends = %v, full parse %v", got.ends, want.ends)
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
		old, err := ParseTree(plumbing.ZeroHash, bytes.Clone(a))
		if err != nil {
			return
		}
		want, wantErr := ParseTree(plumbing.ZeroHash, bytes.Clone(b))
		got, gotErr := ParseTreeFrom(plumbing.ZeroHash, bytes.Clone(b), old)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("ParseTreeFrom error = %v, full parse %v", gotErr, wantErr)
		}
		if wantErr == nil && (!reflect.DeepEqual(got.List(), want.List()) || !reflect.DeepEqual(got.ends, want.ends)) {
			t.Fatalf("ParseTreeFrom differs from a full parse")
		}
	})
}

// TestTreeFind: names are found whatever git's order puts beside them,
// trees sorting as if their names ended in '/'.
func TestTreeFind(t *testing.T) {
	var entries []Entry
	for i, n := range []struct {
		name string
		dir  bool
	}{{"a", true}, {"a-", false}, {"a.b", false}, {"a0", false}, {"b", false}, {"b.c", true}, {"keys", true}, {"traces", true}, {"hive.json", false}} {
		e := Entry{Name: n.name, Mode: filemode.Regular}
		if n.dir {
			e.Mode = filemode.Dir
		}
		e.Hash[0] = byte(i + 1)
		entries = append(entries, e)
	}
	tr, err := ParseTree(plumbing.ZeroHash, treeBytes(entries))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range entries {
		got, ok := tr.Find(want.Name)
		if !ok || got.Hash != want.Hash || got.Mode != want.Mode {
			t.Errorf("find(%q) = %v, %v; want %v", want.Name, got, ok, want)
		}
	}
	for _, name := range []string{"", "a/", "a.", "c", "trace", "tracesx", "0"} {
		if got, ok := tr.Find(name); ok {
			t.Errorf("find(%q) = %v, want nothing", name, got)
		}
	}
}

// TestLess: the tree order without building keys agrees with the keys.
func TestLess(t *testing.T) {
	names := []string{"a", "a.b", "a-b", "a/", "ab", "a0", "b", "", "keys", "keys.pub", "keys-x", "traces", "tracesx", "traces.json"}
	for _, x := range names {
		for _, y := range names {
			for _, xt := range []bool{false, true} {
				for _, yt := range []bool{false, true} {
					a, b := Entry{Name: x, Mode: filemode.Regular}, Entry{Name: y, Mode: filemode.Regular}
					if xt {
						a.Mode = filemode.Dir
					}
					if yt {
						b.Mode = filemode.Dir
					}
					if got, want := Less(a, b), a.SortKey() < b.SortKey(); got != want {
						t.Errorf("Less(%q tree=%v, %q tree=%v) = %v, want %v", x, xt, y, yt, got, want)
					}
				}
			}
		}
	}
}
