package registry

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/storage"
	lru "github.com/hashicorp/golang-lru/v2"
)

// entry is one name in a git tree.
type entry struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e entry) isTree() bool { return e.mode == filemode.Dir }

// sortKey is the name git sorts tree entries by: trees as if followed by '/'.
func (e entry) sortKey() string {
	if e.isTree() {
		return e.name + "/"
	}
	return e.name
}

// tree is a parsed git tree, entries in git order.
type tree struct {
	hash    plumbing.Hash
	entries []entry
}

// find returns the entry called name.
func (t *tree) find(name string) (entry, bool) {
	for _, key := range [2]string{name, name + "/"} {
		i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].sortKey() >= key })
		if i < len(t.entries) && t.entries[i].name == name {
			return t.entries[i], true
		}
	}
	return entry{}, false
}

// objectSizer is the part of go-git's filesystem storage that reads an
// object's size from its header without inflating the object.
type objectSizer interface {
	EncodedObjectSize(plumbing.Hash) (int64, error)
}

// objectStore reads objects: loose ones straight from their files (one
// open, one inflate, the size checked from the header before the body is
// inflated), packed ones through go-git.
type objectStore struct {
	st    storage.Storer
	dir   string   // the git folder, "" for storage that is not on disk
	packs *packSet // its packs, mapped; shared by the store's readers
}

var zlibReaders sync.Pool

// read reads a whole object of type t, refusing it before inflating when
// its header says it is larger than max.
func (o objectStore) read(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	if o.dir != "" {
		b, found, err := o.readLoose(t, h, max)
		if found || err != nil {
			return b, err
		}
	}
	if o.packs != nil {
		obj, found, err := o.packs.read(h, max)
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", h, err)
		}
		if found {
			if obj.typ != t {
				return nil, fmt.Errorf("object %s is a %s, want a %s", h, obj.typ, t)
			}
			return obj.data, nil
		}
	}
	return readObject(o.st, t, h, max)
}

func (o objectStore) readLoose(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, bool, error) {
	hex := h.String()
	f, err := os.Open(o.dir + "/objects/" + hex[:2] + "/" + hex[2:])
	if err != nil {
		return nil, false, nil // not loose: packed, or missing
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 32<<10)
	var zr io.ReadCloser
	if r, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := r.(zlib.Resetter).Reset(br, nil); err != nil {
			return nil, true, fmt.Errorf("object %s: %w", h, err)
		}
		zr = r
	} else if zr, err = zlib.NewReader(br); err != nil {
		return nil, true, fmt.Errorf("object %s: %w", h, err)
	}
	defer zlibReaders.Put(zr)
	// The header ("blob 1234\x00") in one small read, then the body.
	var hdr [64]byte
	n, nul := 0, -1
	for nul < 0 {
		if n == len(hdr) {
			return nil, true, fmt.Errorf("object %s: malformed header", h)
		}
		m, err := zr.Read(hdr[n:])
		if m == 0 && err != nil {
			return nil, true, fmt.Errorf("object %s: %w", h, err)
		}
		nul = bytes.IndexByte(hdr[n:n+m], 0)
		if nul >= 0 {
			nul += n
		}
		n += m
	}
	typ, size, ok := bytes.Cut(hdr[:nul], []byte{' '})
	if !ok {
		return nil, true, fmt.Errorf("object %s: malformed header", h)
	}
	ot, err := plumbing.ParseObjectType(string(typ))
	if err != nil || ot != t {
		return nil, true, fmt.Errorf("object %s is a %s, want a %s", h, typ, t)
	}
	sz, err := strconv.ParseInt(string(size), 10, 64)
	if err != nil || sz < 0 {
		return nil, true, fmt.Errorf("object %s: malformed size", h)
	}
	if sz > max {
		return nil, true, &sizeError{size: sz, max: max}
	}
	b := make([]byte, sz)
	got := copy(b, hdr[nul+1:n])
	if int64(n-nul-1) > sz {
		return nil, true, fmt.Errorf("object %s: longer than its header says", h)
	}
	if _, err := io.ReadFull(zr, b[got:]); err != nil {
		return nil, true, fmt.Errorf("object %s: %w", h, err)
	}
	return b, true, nil
}

// readObject reads an object through go-git, checking its size first.
func readObject(st storage.Storer, t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	if sz, ok := st.(objectSizer); ok {
		// go-git reads the size from the object's header; it does not look
		// in alternates, where EncodedObject below does.
		if n, err := sz.EncodedObjectSize(h); err == nil && n > max {
			return nil, &sizeError{size: n, max: max}
		}
	}
	obj, err := st.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, ErrNotFound)
	}
	if obj.Type() != t {
		return nil, fmt.Errorf("object %s is a %s, want a %s", h, obj.Type(), t)
	}
	if obj.Size() > max {
		return nil, &sizeError{size: obj.Size(), max: max}
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	if int64(len(b)) > max {
		return nil, &sizeError{size: int64(len(b)), max: max}
	}
	return b, nil
}

// sizeError reports an object over its size limit.
type sizeError struct{ size, max int64 }

func (e *sizeError) Error() string {
	return fmt.Sprintf("%d bytes, over the limit of %d", e.size, e.max)
}

// parseTree parses raw tree bytes strictly: modes git knows, names that are
// non-empty and free of '/' and NUL, entries in strictly increasing git order.
func parseTree(h plumbing.Hash, b []byte) (*tree, error) {
	// One string for the whole tree: entry names are slices of it, so a
	// shard of 780 entries costs a few allocations, not a thousand.
	raw := string(b)
	t := &tree{hash: h, entries: make([]entry, 0, len(raw)/80+1)}
	var prev entry
	for i := 0; i < len(raw); {
		var m uint64
		j := i
		for ; j < len(raw) && raw[j] != ' '; j++ {
			c := raw[j]
			if c < '0' || c > '7' || j-i > 7 {
				return nil, fmt.Errorf("tree %s: malformed mode %s", h, strconv.Quote(raw[i:min(j+1, len(raw))]))
			}
			m = m<<3 | uint64(c-'0')
		}
		if j == i || j == len(raw) || raw[i] == '0' {
			return nil, fmt.Errorf("tree %s: malformed entry", h)
		}
		nul := strings.IndexByte(raw[j+1:], 0)
		if nul <= 0 || len(raw) < j+1+nul+1+20 {
			return nil, fmt.Errorf("tree %s: malformed entry", h)
		}
		name := raw[j+1 : j+1+nul]
		if name == "." || name == ".." || strings.IndexByte(name, '/') >= 0 {
			return nil, fmt.Errorf("tree %s: malformed name %s", h, strconv.Quote(name))
		}
		e := entry{name: name, mode: filemode.FileMode(m)}
		copy(e.hash[:], raw[j+1+nul+1:j+1+nul+21])
		if len(t.entries) > 0 && !gitLess(prev, e) {
			return nil, fmt.Errorf("tree %s: entries out of order or duplicated at %s", h, strconv.Quote(name))
		}
		t.entries = append(t.entries, e)
		prev = e
		i = j + 1 + nul + 21
	}
	return t, nil
}

// gitLess reports whether a sorts before b in a git tree, where a tree's
// name compares as if followed by '/', without building that string.
func gitLess(a, b entry) bool {
	n := min(len(a.name), len(b.name))
	if c := strings.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c < 0
	}
	ka, kb := a.keyLen(), b.keyLen()
	for i := n; i < min(ka, kb); i++ {
		if ca, cb := a.keyByte(i), b.keyByte(i); ca != cb {
			return ca < cb
		}
	}
	return ka < kb
}

// keyLen and keyByte read an entry's sort key: its name, then '/' for a tree.
func (e entry) keyLen() int {
	if e.isTree() {
		return len(e.name) + 1
	}
	return len(e.name)
}

func (e entry) keyByte(i int) byte {
	if i < len(e.name) {
		return e.name[i]
	}
	return '/'
}

// treeCache reads and parses trees, keeping recently used ones.
type treeCache struct {
	objs objectStore
	lru  *lru.Cache[plumbing.Hash, *tree]
}

func newTreeCache(objs objectStore, n int) *treeCache {
	c, _ := lru.New[plumbing.Hash, *tree](n)
	return &treeCache{objs: objs, lru: c}
}

// maxTreeSize bounds a tree object: a shard of a million-trace hive is
// about 0.8 MiB.
const maxTreeSize = 16 << 20

func (c *treeCache) get(h plumbing.Hash) (*tree, error) {
	if t, ok := c.lru.Get(h); ok {
		return t, nil
	}
	b, err := c.objs.read(plumbing.TreeObject, h, maxTreeSize)
	if err != nil {
		return nil, err
	}
	t, err := parseTree(h, b)
	if err != nil {
		return nil, err
	}
	c.lru.Add(h, t)
	return t, nil
}

// lookup resolves a slash-separated path from the root tree h.
func (c *treeCache) lookup(root plumbing.Hash, path string) (entry, bool, error) {
	t, err := c.get(root)
	if err != nil {
		return entry{}, false, err
	}
	for {
		i := 0
		for i < len(path) && path[i] != '/' {
			i++
		}
		e, ok := t.find(path[:i])
		if !ok {
			return entry{}, false, nil
		}
		if i == len(path) {
			return e, true, nil
		}
		if !e.isTree() {
			return entry{}, false, nil
		}
		path = path[i+1:]
		if t, err = c.get(e.hash); err != nil {
			return entry{}, false, err
		}
	}
}
