package gitfmt_test

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/gitfmt"
)

// The fuzz targets of every codec. `make test` runs each on its seeds (and
// on what earlier runs found, kept in testdata/fuzz); docs/performance.md
// says how long each has been run.

// seedPack is a small pack with a whole object, an offset delta and a
// reference delta, and its index.
func seedPack() (idx, pack []byte) {
	base := bytes.Repeat([]byte("hive seed line\n"), 20)
	child := append(bytes.Clone(base[:60]), "changed"...)
	d := append(fixtures.DeltaHeader(len(base), len(child)), 0x90, 60, 7)
	d = append(d, "changed"...)
	whole := fixtures.Whole(plumbing.BlobObject, base)
	return fixtures.EncodePack([]fixtures.PackEntry{
		whole,
		{Data: d, OfsBase: 0, Name: plumbing.ComputeHash(plumbing.BlobObject, child)},
		{Data: fixtures.InsertDelta(len(base), []byte("other")), OfsBase: -1, RefBase: whole.Name, Name: plumbing.ComputeHash(plumbing.BlobObject, []byte("other"))},
		fixtures.Whole(plumbing.TreeObject, []byte("100644 a\x00aaaaaaaaaaaaaaaaaaaa")),
	})
}

// FuzzParseIdx: no index makes ParseIdx, or the lookups of one it
// accepts, panic or read out of range; every name it lists is found at
// its position. The checksum is fixed up first as often as not, so that
// the checks behind it are reached.
func FuzzParseIdx(f *testing.F) {
	idx, _ := seedPack()
	f.Add(idx, false)
	f.Add(idx, true)
	f.Add(idx[:len(idx)/2], true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix && len(b) >= 20 {
			sum := sha1.Sum(b[:len(b)-20])
			copy(b[len(b)-20:], sum[:])
		}
		x, err := gitfmt.ParseIdx(b)
		if err != nil {
			return
		}
		for i := 0; i < x.Len(); i++ {
			h := x.Name(i)
			if j, ok := x.Find(h); !ok || j != i {
				t.Fatalf("Find(Name(%d)) = %d, %v", i, j, ok)
			}
			_ = x.Offset(i)
			if x.Search(h) != i {
				t.Fatalf("Search(Name(%d)) = %d", i, x.Search(h))
			}
		}
		_ = x.CheckPack(b[:min(len(b), 12)], b[len(b)-20:], uint64(len(b)))
		_, _ = x.Find(plumbing.ZeroHash)
	})
}

// FuzzParseObjectHeader: a pack object's header never panics, and one it
// accepts lies within the bytes it was given, its base before it.
func FuzzParseObjectHeader(f *testing.F) {
	_, pack := seedPack()
	f.Add(pack[12:], uint64(12))
	f.Add([]byte{0x96, 0x0a, 0x78}, uint64(1000))
	f.Add([]byte{0xe5, 0x80, 0x80, 0x01}, uint64(1<<40))
	f.Add([]byte{0x75, 0x12}, uint64(5))
	f.Fuzz(func(t *testing.T, b []byte, off uint64) {
		h, err := gitfmt.ParseObjectHeader(b, off)
		if err != nil {
			return
		}
		if h.Body <= off || h.Body-off > uint64(len(b)) || h.Body-off > gitfmt.MaxObjectHeader {
			t.Fatalf("body at %d for a header at %d of %d bytes", h.Body, off, len(b))
		}
		if h.Type == gitfmt.OFSDelta && h.Base >= off {
			t.Fatalf("offset delta at %d on a base at %d", off, h.Base)
		}
	})
}

// FuzzPackHeader: a pack's header never panics.
func FuzzPackHeader(f *testing.F) {
	_, pack := seedPack()
	f.Add(pack[:12])
	f.Add([]byte("PACK\x00\x00\x00\x04\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := gitfmt.PackHeader(b)
		if err == nil && v != 2 && v != 3 {
			t.Fatalf("accepted pack version %d", v)
		}
	})
}

// FuzzLooseHeader: the loose headers accepted are exactly the canonical
// ones: formatting what was parsed gives the same bytes back.
func FuzzLooseHeader(f *testing.F) {
	for _, s := range []string{"blob 12", "tree 0", "commit 1234567", "tag 9", "blob 012", "blob -1", "blob +1", "blobs 1", "blob 1 ", "blob 99999999999999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, hdr []byte) {
		typ, n, err := gitfmt.ParseLooseHeader(hdr)
		if err != nil {
			return
		}
		if got := gitfmt.LooseHeader(typ, int(n)); !bytes.Equal(got, append(bytes.Clone(hdr), 0)) {
			t.Fatalf("ParseLooseHeader(%q) = %s %d, which formats as %q", hdr, typ, n, got)
		}
	})
}

// FuzzSplitLoose: splitting a whole inflated loose object never panics,
// and what it accepts has the size its header says.
func FuzzSplitLoose(f *testing.F) {
	f.Add([]byte("blob 3\x00abc"))
	f.Add([]byte("tree 0\x00"))
	f.Add([]byte("blob 4\x00abc"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		typ, body, err := gitfmt.SplitLoose(raw)
		if err != nil {
			return
		}
		if hdr := gitfmt.LooseHeader(typ, len(body)); !bytes.Equal(append(hdr, body...), raw) {
			t.Fatalf("SplitLoose(%q) = %s %q", raw, typ, body)
		}
	})
}

// FuzzStoredZlib: what StoredZlib unwraps is what zlib inflates, from a
// stream that fills its input exactly; a stream it leaves is untouched.
func FuzzStoredZlib(f *testing.F) {
	for _, level := range []int{zlib.NoCompression, zlib.BestSpeed} {
		for _, s := range []string{"", "tree 3\x00abc", string(bytes.Repeat([]byte("x"), 70000))} {
			var buf bytes.Buffer
			w, _ := zlib.NewWriterLevel(&buf, level)
			w.Write([]byte(s))
			w.Close()
			f.Add(buf.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		got, ok, err := gitfmt.StoredZlib(in, math.MaxInt64)
		if !ok {
			if !bytes.Equal(in, b) {
				t.Fatal("StoredZlib changed a stream it did not take")
			}
			return
		}
		br := bytes.NewReader(b)
		zr, zerr := zlib.NewReader(br)
		var want []byte
		if zerr == nil {
			want, zerr = io.ReadAll(zr)
		}
		if err != nil {
			if zerr == nil {
				t.Fatalf("StoredZlib: %v; zlib reads it", err)
			}
			return
		}
		if zerr != nil || !bytes.Equal(got, want) || br.Len() != 0 {
			t.Fatalf("StoredZlib = %d bytes; zlib %d bytes, %v, %d left", len(got), len(want), zerr, br.Len())
		}
		// Inflate agrees, and says the stream took all of b.
		out, n, err := gitfmt.Inflate(b, len(want))
		if err != nil || !bytes.Equal(out, want) || n != len(b) {
			t.Fatalf("Inflate = %d bytes, %d taken, %v", len(out), n, err)
		}
	})
}

// FuzzParseTree: the trees accepted are exactly the canonical ones:
// encoding the entries parsed gives the same bytes and hash back.
func FuzzParseTree(f *testing.F) {
	var h plumbing.Hash
	f.Add([]byte("100644 a\x00" + string(h[:])))
	f.Add([]byte("40000 dir\x00" + string(h[:]) + "100644 dir.json\x00" + string(h[:])))
	f.Add([]byte("100755 x\x00" + string(h[:]) + "120000 y\x00" + string(h[:]) + "160000 z\x00" + string(h[:])))
	f.Add([]byte("0100644 a\x00" + string(h[:])))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := gitfmt.ParseTree(plumbing.ZeroHash, bytes.Clone(b))
		if err != nil {
			return
		}
		entries := tr.List()
		for _, e := range entries {
			if e.Name == "" || bytes.ContainsAny([]byte(e.Name), "/\x00") || e.Mode == filemode.Empty {
				t.Fatalf("ParseTree accepted entry %q mode %o", e.Name, e.Mode)
			}
		}
		raw, enc := gitfmt.EncodeTree(entries)
		if !bytes.Equal(raw, b) || enc.Hash != plumbing.ComputeHash(plumbing.TreeObject, b) {
			t.Fatalf("ParseTree(%q) encodes back as %q", b, raw)
		}
	})
}

// FuzzApplyDelta: gitfmt.ApplyDelta and go-git's packfile.PatchDelta agree
// on every delta: the same object, or both an error. (go-git refuses any
// delta on an empty base, which git does not: those are not compared. A
// delta of under 4 bytes, which go-git takes from 2, git's patch_delta
// refuses, and so must ApplyDelta.)
func FuzzApplyDelta(f *testing.F) {
	f.Add([]byte("hello world"), []byte{11, 5, 0x90, 5})
	f.Add([]byte("abc"), []byte{3, 3, 3, 'x', 'y', 'z'})
	f.Add([]byte("abc"), []byte{3, 0x83, 0x80, 0x80})
	f.Add(bytes.Repeat([]byte("0123456789"), 7000), []byte{0xf0, 0xa2, 0x04, 0x80, 0x80, 0x04, 0x80, 0x80})
	f.Add([]byte("base"), []byte{4, 4, 0x91, 0, 4})
	f.Fuzz(func(t *testing.T, base, delta []byte) {
		_, size, _, err := gitfmt.DeltaSizes(delta)
		if len(base) == 0 || err == nil && size > 1<<24 {
			return
		}
		got, err := gitfmt.ApplyDelta(nil, base, delta)
		if len(delta) < 4 {
			if err == nil {
				t.Fatalf("ApplyDelta(%q) of %d bytes = %q, want an error, as git's patch_delta", delta, len(delta), got)
			}
			return
		}
		want, werr := packfile.PatchDelta(base, delta)
		if (err == nil) != (werr == nil) {
			t.Fatalf("ApplyDelta: %v; PatchDelta: %v", err, werr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("ApplyDelta = %q, PatchDelta %q", got, want)
		}
		if err != nil && !errors.Is(err, gitfmt.ErrDelta) {
			t.Fatalf("ApplyDelta error %v is not ErrDelta", err)
		}
	})
}

// FuzzCommitHeader: the commit headers parsed never panic, and where
// go-git decodes the same commit, both read the same tree and parents.
func FuzzCommitHeader(f *testing.F) {
	f.Add([]byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 0123456789abcdef0123456789abcdef01234567\nauthor a <a@b> 1700000000 +0000\ncommitter c <c@d> 1700000001 +0100\n\nmsg\n"))
	f.Add([]byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 1 +0000\ncommitter c <c@d> 2 +0000\n\n"))
	f.Add([]byte("object 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ntype commit\ntag v1\ntagger t <t@t> 1 +0000\n\nv1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = gitfmt.ParseTagHeader(b)
		c, err := gitfmt.ParseCommitHeader(b)
		if err != nil {
			return
		}
		obj := &plumbing.MemoryObject{}
		obj.SetType(plumbing.CommitObject)
		obj.Write(b)
		var gc object.Commit
		if gc.Decode(obj) != nil {
			return
		}
		if gc.TreeHash != c.Tree || len(gc.ParentHashes) != len(c.Parents) {
			t.Fatalf("ParseCommitHeader = %v %v; go-git %v %v", c.Tree, c.Parents, gc.TreeHash, gc.ParentHashes)
		}
		for i := range c.Parents {
			if c.Parents[i] != gc.ParentHashes[i] {
				t.Fatalf("parent %d: %v, go-git %v", i, c.Parents[i], gc.ParentHashes[i])
			}
		}
	})
}
