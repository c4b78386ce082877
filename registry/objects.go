package registry

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

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
	// raw is the tree's bytes, which the entries' names are substrings of,
	// and ends[k] the offset in raw just past entries[k]: what a later
	// version of the tree is compared with (parseTreeFrom). Empty when the
	// tree was not parsed from its bytes.
	raw  string
	ends []int32
	// from is the tree this one was parsed against, if any: entries[:same[0]]
	// and the last same[1] entries are from's, unchanged.
	from plumbing.Hash
	same [2]int
}

// find returns the entry called name.
func (t *tree) find(name string) (entry, bool) {
	// git sorts a tree's name as if followed by '/': look for both forms,
	// comparing with gitLess rather than building the '/' form's string.
	for _, mode := range [2]filemode.FileMode{filemode.Regular, filemode.Dir} {
		key := entry{name: name, mode: mode}
		i := sort.Search(len(t.entries), func(i int) bool { return !gitLess(t.entries[i], key) })
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

// fileBuffers holds the buffers readLoose reads whole files into.
var fileBuffers = sync.Pool{New: func() any { return new([]byte) }}

// read reads a whole object of type t, refusing it before inflating when
// its header says it is larger than max.
//
// Like git, it looks in the packs it has open first (an in-memory search),
// then for a loose file, then in packs written since it last looked: a
// git gc that packs an object and then prunes its loose file between the
// first two looks is seen by the third.
func (o objectStore) read(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	packed := func(read func(plumbing.Hash, int64) (packObject, bool, error)) ([]byte, bool, error) {
		obj, found, err := read(h, max)
		if err != nil {
			return nil, true, fmt.Errorf("object %s: %w", h, err)
		}
		if found && obj.typ != t {
			return nil, true, fmt.Errorf("object %s is a %s, want a %s", h, obj.typ, t)
		}
		return obj.data, found, nil
	}
	if o.packs != nil {
		if b, found, err := packed(o.packs.known); found {
			return b, err
		}
	}
	if o.dir != "" {
		b, found, err := o.readLoose(t, h, max)
		if found || err != nil {
			return b, err
		}
	}
	if o.packs != nil {
		if b, found, err := packed(o.packs.readRescan); found {
			return b, err
		}
	}
	return readObject(o.st, t, h, max)
}

// readLoose reads a loose object whole with one read. A stream of stored
// deflate blocks (how hive writes trees) is unwrapped in place, without an
// inflate; any other is inflated from memory. A file larger than an object
// of max bytes could be compressed to is read as a stream instead, so that
// its header refuses it before anything else is read.
func (o objectStore) readLoose(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, bool, error) {
	hex := h.String()
	f, err := os.Open(o.dir + "/objects/" + hex[:2] + "/" + hex[2:])
	if err != nil {
		return nil, false, nil // not loose: packed, or missing
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, true, fmt.Errorf("object %s: %w", h, err)
	}
	var src io.Reader
	if n := fi.Size(); n <= max+max/1024+1024 {
		// The file's bytes go to a reused buffer: a fresh one would cost
		// its page faults on every read, more than the copy out below.
		pb := fileBuffers.Get().(*[]byte)
		defer fileBuffers.Put(pb)
		if int64(cap(*pb)) < n {
			*pb = make([]byte, n)
		}
		buf := (*pb)[:n]
		if _, err := io.ReadFull(f, buf); err != nil {
			return nil, true, fmt.Errorf("object %s: %w", h, err)
		}
		if raw, ok, err := storedZlib(buf); ok || err != nil {
			if err != nil {
				return nil, true, fmt.Errorf("object %s: %w", h, err)
			}
			b, err := looseBody(t, h, raw, max)
			return bytes.Clone(b), true, err
		}
		src = bytes.NewReader(buf)
	} else {
		src = bufio.NewReaderSize(f, 32<<10)
	}
	var zr io.ReadCloser
	if r, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := r.(zlib.Resetter).Reset(src, nil); err != nil {
			return nil, true, fmt.Errorf("object %s: %w", h, err)
		}
		zr = r
	} else if zr, err = zlib.NewReader(src); err != nil {
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
	sz, err := looseHeader(t, h, hdr[:nul], max)
	if err != nil {
		return nil, true, err
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

// looseHeader checks a loose object's header ("tree 1234", without its NUL)
// against the type wanted and the size limit, and returns the size.
func looseHeader(t plumbing.ObjectType, h plumbing.Hash, hdr []byte, max int64) (int64, error) {
	typ, size, ok := bytes.Cut(hdr, []byte{' '})
	if !ok {
		return 0, fmt.Errorf("object %s: malformed header", h)
	}
	ot, err := plumbing.ParseObjectType(string(typ))
	if err != nil || ot != t {
		return 0, fmt.Errorf("object %s is a %s, want a %s", h, typ, t)
	}
	sz, err := strconv.ParseInt(string(size), 10, 64)
	if err != nil || sz < 0 || strconv.FormatInt(sz, 10) != string(size) {
		return 0, fmt.Errorf("object %s: malformed size", h)
	}
	if sz > max {
		return 0, &sizeError{size: sz, max: max}
	}
	return sz, nil
}

// looseBody splits a whole inflated loose object into its header and body.
func looseBody(t plumbing.ObjectType, h plumbing.Hash, raw []byte, max int64) ([]byte, error) {
	nul := bytes.IndexByte(raw[:min(len(raw), 64)], 0)
	if nul < 0 {
		return nil, fmt.Errorf("object %s: malformed header", h)
	}
	sz, err := looseHeader(t, h, raw[:nul], max)
	if err != nil {
		return nil, err
	}
	if body := raw[nul+1:]; int64(len(body)) != sz {
		return nil, fmt.Errorf("object %s: %d bytes, its header says %d", h, len(body), sz)
	} else {
		return body, nil
	}
}

// storedZlib unwraps, in place, a zlib stream (RFC 1950) whose deflate
// blocks are all stored (RFC 1951 BTYPE 00): it returns their content,
// checked against the stream's Adler-32. It returns false, with b
// untouched, for any other stream (compressed blocks, a preset
// dictionary, trailing bytes), which the caller inflates instead.
func storedZlib(b []byte) ([]byte, bool, error) {
	if len(b) < 2 || b[0]&0x0f != 8 || b[0]>>4 > 7 || b[1]&0x20 != 0 || (uint(b[0])<<8|uint(b[1]))%31 != 0 {
		return nil, false, nil
	}
	// One pass to check the block structure, then one to compact.
	in := 2
	for {
		if len(b)-in < 5 || b[in]>>1&3 != 0 {
			return nil, false, nil
		}
		n := int(binary.LittleEndian.Uint16(b[in+1:]))
		if ^uint16(n) != binary.LittleEndian.Uint16(b[in+3:]) || len(b)-in-5 < n {
			return nil, false, nil
		}
		final := b[in]&1 == 1
		in += 5 + n
		if final {
			break
		}
	}
	if len(b)-in != 4 {
		return nil, false, nil
	}
	sum := binary.BigEndian.Uint32(b[in:])
	in, out := 2, 0
	for {
		n := int(binary.LittleEndian.Uint16(b[in+1:]))
		final := b[in]&1 == 1
		out += copy(b[out:], b[in+5:in+5+n])
		in += 5 + n
		if final {
			break
		}
	}
	if adler32.Checksum(b[:out]) != sum {
		return nil, true, errors.New("zlib: invalid checksum")
	}
	return b[:out], true, nil
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

// parseTree parses raw tree bytes strictly, taking ownership of b: modes
// git knows, names that are non-empty and free of '/' and NUL, entries in
// strictly increasing git order.
func parseTree(h plumbing.Hash, b []byte) (*tree, error) {
	// One string for the whole tree, b itself (no one writes to b again):
	// entry names are substrings of it, so a shard of 780 entries costs a
	// few allocations, not a thousand, and no copy.
	raw := unsafe.String(unsafe.SliceData(b), len(b))
	n := len(raw)/80 + 1
	t := &tree{hash: h, raw: raw, entries: make([]entry, 0, n), ends: make([]int32, 0, n)}
	if err := t.parse(0, len(raw)); err != nil {
		return nil, err
	}
	return t, nil
}

// parse appends the entries in raw[from:to] to t, checking each as
// parseTree describes and each against the one before it.
func (t *tree) parse(from, to int) error {
	raw, h := t.raw[:to], t.hash
	for i := from; i < len(raw); {
		var m uint64
		j := i
		for ; j < len(raw) && raw[j] != ' '; j++ {
			c := raw[j]
			if c < '0' || c > '7' || j-i > 7 {
				return fmt.Errorf("tree %s: malformed mode %s", h, strconv.Quote(raw[i:min(j+1, len(raw))]))
			}
			m = m<<3 | uint64(c-'0')
		}
		if j == i || j == len(raw) || raw[i] == '0' {
			return fmt.Errorf("tree %s: malformed entry", h)
		}
		nul := strings.IndexByte(raw[j+1:], 0)
		if nul <= 0 || len(raw) < j+1+nul+1+20 {
			return fmt.Errorf("tree %s: malformed entry", h)
		}
		name := raw[j+1 : j+1+nul]
		if name == "." || name == ".." || strings.IndexByte(name, '/') >= 0 {
			return fmt.Errorf("tree %s: malformed name %s", h, strconv.Quote(name))
		}
		e := entry{name: name, mode: filemode.FileMode(m)}
		copy(e.hash[:], raw[j+1+nul+1:j+1+nul+21])
		if k := len(t.entries); k > 0 && !gitLess(t.entries[k-1], e) {
			return fmt.Errorf("tree %s: entries out of order or duplicated at %s", h, strconv.Quote(name))
		}
		i = j + 1 + nul + 21
		t.entries = append(t.entries, e)
		t.ends = append(t.ends, int32(i))
	}
	return nil
}

// parseTreeFrom parses the bytes b of tree h, taking ownership of b, as a
// later version of old: it compares the bytes with old's, takes the
// entries of their common prefix and suffix from old (the same bytes
// parse to the same entries), and parses only what lies between, checking
// the order where the parts meet. A shard tree that gained one trace costs
// two comparisons of its bytes and one entry's parse, not a parse of
// every entry. The result is the tree parseTree gives, or its error; with
// no old tree (or one not parsed from bytes) it is parseTree.
func parseTreeFrom(h plumbing.Hash, b []byte, old *tree) (*tree, error) {
	if old == nil || old.raw == "" || int64(len(b)) > maxTreeSize {
		return parseTree(h, b)
	}
	a, raw := old.raw, unsafe.String(unsafe.SliceData(b), len(b))
	p := commonPrefix(a, raw)
	s := commonSuffix(a[p:], raw[p:])
	// Old's entries wholly in the prefix, and the first of those wholly in
	// the suffix: starts are ends shifted by one.
	i := sort.Search(len(old.ends), func(k int) bool { return int(old.ends[k]) > p })
	j := sort.Search(len(old.ends), func(k int) bool { return old.start(k) >= len(a)-s })
	tail := len(a) - old.start(j)
	if j < i || len(raw)-tail < old.start(i) {
		return parseTree(h, b) // cannot happen: the prefix and suffix do not overlap
	}
	n := len(raw)/80 + 1
	t := &tree{hash: h, raw: raw, entries: make([]entry, 0, n), ends: make([]int32, 0, n), from: old.hash}
	for k := range i {
		t.entries = append(t.entries, old.entries[k].in(raw, int(old.ends[k])))
		t.ends = append(t.ends, old.ends[k])
	}
	if err := t.parse(old.start(i), len(raw)-tail); err != nil || t.end() != len(raw)-tail {
		return parseTree(h, b) // the full parse reports the error at its place
	}
	mid := len(t.entries)
	shift := len(raw) - len(a)
	for k := j; k < len(old.entries); k++ {
		end := int(old.ends[k]) + shift
		t.entries = append(t.entries, old.entries[k].in(raw, end))
		t.ends = append(t.ends, int32(end))
	}
	if mid > 0 && mid < len(t.entries) && !gitLess(t.entries[mid-1], t.entries[mid]) {
		return parseTree(h, b)
	}
	t.same = [2]int{i, len(old.entries) - j}
	return t, nil
}

// start is the offset in raw where entry k begins (len(raw) for k past the end).
func (t *tree) start(k int) int {
	if k == 0 {
		return 0
	}
	return int(t.ends[k-1])
}

// end is the offset just past the last entry parsed.
func (t *tree) end() int { return t.start(len(t.ends)) }

// in returns e with its name taken from raw, where e ends at offset end:
// the name is followed by a NUL and the 20 bytes of the hash.
func (e entry) in(raw string, end int) entry {
	e.name = raw[end-21-len(e.name) : end-21]
	return e
}

// blk is the block commonPrefix and commonSuffix compare at once: string
// equality is a memcmp, far faster than a byte at a time.
const blk = 256

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+blk <= n && a[i:i+blk] == b[i:i+blk]; i += blk {
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix is the length of the longest common suffix of a and b.
func commonSuffix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+blk <= n && a[len(a)-i-blk:len(a)-i] == b[len(b)-i-blk:len(b)-i]; i += blk {
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
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

func (c *treeCache) get(h plumbing.Hash) (*tree, error) { return c.getFrom(h, nil) }

// getFrom is get for a tree that is likely a later version of old (when
// old is not nil), which it is parsed against (parseTreeFrom) unless it is
// cached already.
func (c *treeCache) getFrom(h plumbing.Hash, old *tree) (*tree, error) {
	if t, ok := c.lru.Get(h); ok {
		return t, nil
	}
	b, err := c.objs.read(plumbing.TreeObject, h, maxTreeSize)
	if err != nil {
		return nil, err
	}
	t, err := parseTreeFrom(h, b, old)
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
