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
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/storage"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/hive-dev/hive/gitfmt"
	"github.com/hive-dev/hive/schema"
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

// tree is a parsed git tree: its bytes and where each entry ends. Entries
// are read from the bytes on demand (at): a shard of a 100k-trace hive
// holds 780 entries, of which a diff against the previous version reads
// one, so building them all for every version cost more than the rest of
// the diff.
type tree struct {
	hash plumbing.Hash
	// raw is the tree's bytes, which entries' names are substrings of,
	// and ends[k] the offset in raw just past entry k, in git order.
	raw  string
	ends []int32
	// from is the tree this one was parsed against, if any: its first
	// same[0] and last same[1] entries are from's, unchanged.
	from plumbing.Hash
	same [2]int
}

// len is the number of entries.
func (t *tree) len() int { return len(t.ends) }

// at returns entry k. Its name is a substring of the tree's bytes, whose
// modes the parse checked.
func (t *tree) at(k int) entry {
	i, end := t.start(k), int(t.ends[k])
	var m filemode.FileMode
	for ; t.raw[i] != ' '; i++ {
		m = m<<3 | filemode.FileMode(t.raw[i]-'0')
	}
	e := entry{name: t.raw[i+1 : end-21], mode: m}
	copy(e.hash[:], t.raw[end-20:end])
	return e
}

// list returns all the entries, in a slice of their own.
func (t *tree) list() []entry {
	out := make([]entry, t.len())
	for k := range out {
		out[k] = t.at(k)
	}
	return out
}

// all is every entry of t; a nil tree has none.
func (t *tree) all() span {
	if t == nil {
		return span{}
	}
	return span{t: t, hi: t.len()}
}

// span is entries lo to hi (exclusive) of a tree.
type span struct {
	t      *tree
	lo, hi int
}

func (s span) len() int           { return s.hi - s.lo }
func (s span) at(i int) entry     { return s.t.at(s.lo + i) }
func (s span) trim(a, b int) span { return span{t: s.t, lo: s.lo + a, hi: s.hi - b} }

// find returns the entry called name.
func (t *tree) find(name string) (entry, bool) {
	// git sorts a tree's name as if followed by '/': look for both forms,
	// comparing with gitLess rather than building the '/' form's string.
	for _, mode := range [2]filemode.FileMode{filemode.Regular, filemode.Dir} {
		key := entry{name: name, mode: mode}
		i := sort.Search(t.len(), func(i int) bool { return !gitLess(t.at(i), key) })
		if i < t.len() {
			if e := t.at(i); e.name == name {
				return e, true
			}
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

// read reads a whole object of type t into memory of its own, refusing
// it before inflating when its header says it is larger than max.
func (o objectStore) read(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	b, pb, err := o.readPooled(t, h, max, math.MaxInt64)
	return owned(b, pb), err
}

// owned returns b, which readPooled returned with pb, in memory of its
// own, and gives pb back.
func owned(b []byte, pb *[]byte) []byte {
	if pb == nil {
		return b
	}
	b = bytes.Clone(b)
	fileBuffers.Put(pb)
	return b
}

// readPooled is read, except that a loose object stored without
// compression (as hive writes trees) is returned in place, in the pooled
// buffer pb it was read into: the caller puts pb back in fileBuffers
// once it no longer uses b. pb is nil when b is memory of its own. The
// Adler-32 of such an object is not checked when its file is larger than
// uncheckedAbove bytes (see borrowForDiff); a compressed one's always is,
// as it is inflated.
//
// Like git, it looks in the packs it has open first (an in-memory search),
// then for a loose file, then in packs written since it last looked: a
// git gc that packs an object and then prunes its loose file between the
// first two looks is seen by the third.
func (o objectStore) readPooled(t plumbing.ObjectType, h plumbing.Hash, max, uncheckedAbove int64) (b []byte, pb *[]byte, err error) {
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
			return b, nil, err
		}
	}
	if o.dir != "" {
		b, pb, found, err := o.readLoose(t, h, max, uncheckedAbove)
		if found || err != nil {
			return b, pb, err
		}
	}
	if o.packs != nil {
		if b, found, err := packed(o.packs.readRescan); found {
			return b, nil, err
		}
	}
	b, err = readObject(o.st, t, h, max)
	return b, nil, err
}

// readLoose reads a loose object whole with one read, into a pooled
// buffer. A stream of stored deflate blocks (how hive writes trees) is
// unwrapped in place, without an inflate, and returned in that buffer, pb;
// any other is inflated from it into memory of its own. A file larger than
// an object of max bytes could be compressed to is read as a stream
// instead, so that its header refuses it before anything else is read.
func (o objectStore) readLoose(t plumbing.ObjectType, h plumbing.Hash, max, uncheckedAbove int64) (b []byte, pb *[]byte, found bool, err error) {
	hex := h.String()
	f, err := openLoose(o.dir + "/objects/" + hex[:2] + "/" + hex[2:])
	if err != nil {
		return nil, nil, false, nil // not loose: packed, or missing
	}
	defer f.Close()
	b, err = o.readLooseFile(f, t, h, max, uncheckedAbove, &pb)
	return b, pb, true, err
}

// looseFile is an object file open for one read, by its descriptor.
// os.Open would also offer it to the runtime's poller (which refuses a
// regular file) and read and set its flags: five system calls more an
// object, over a third of the calls a full verification made.
type looseFile int

func openLoose(path string) (looseFile, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return looseFile(fd), err
		}
	}
}

func (f looseFile) Read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(f), b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f looseFile) size() (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f), &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}

func (f looseFile) Close() error { return syscall.Close(int(f)) }

// readLooseFile is readLoose once the file is open. When it returns data
// in a pooled buffer, *keep is that buffer.
func (o objectStore) readLooseFile(f looseFile, t plumbing.ObjectType, h plumbing.Hash, max, uncheckedAbove int64, keep **[]byte) ([]byte, error) {
	size, err := f.size()
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	var src io.Reader
	if n := size; n <= max+max/1024+1024 {
		// The file's bytes go to a reused buffer: on this kind of machine
		// a fresh one costs more in page faults than reading the file.
		pb := fileBuffers.Get().(*[]byte)
		if int64(cap(*pb)) < n {
			*pb = make([]byte, n)
		}
		buf := (*pb)[:n]
		if _, err := io.ReadFull(f, buf); err != nil {
			fileBuffers.Put(pb)
			return nil, fmt.Errorf("object %s: %w", h, err)
		}
		if raw, ok, err := storedZlib(buf, uncheckedAbove); ok || err != nil {
			if err != nil {
				err = fmt.Errorf("object %s: %w", h, err)
			} else {
				raw, err = looseBody(t, h, raw, max)
			}
			if err != nil {
				fileBuffers.Put(pb)
				return nil, err
			}
			*keep = pb
			return raw, nil
		}
		defer fileBuffers.Put(pb)
		src = bytes.NewReader(buf)
	} else {
		src = bufio.NewReaderSize(f, 32<<10)
	}
	var zr io.ReadCloser
	if r, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := r.(zlib.Resetter).Reset(src, nil); err != nil {
			return nil, fmt.Errorf("object %s: %w", h, err)
		}
		zr = r
	} else if zr, err = zlib.NewReader(src); err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	defer zlibReaders.Put(zr)
	// The header ("blob 1234\x00") in one small read, then the body.
	var hdr [64]byte
	n, nul := 0, -1
	for nul < 0 {
		if n == len(hdr) {
			return nil, fmt.Errorf("object %s: malformed header", h)
		}
		m, err := zr.Read(hdr[n:])
		if m == 0 && err != nil {
			return nil, fmt.Errorf("object %s: %w", h, err)
		}
		nul = bytes.IndexByte(hdr[n:n+m], 0)
		if nul >= 0 {
			nul += n
		}
		n += m
	}
	sz, err := looseHeader(t, h, hdr[:nul], max)
	if err != nil {
		return nil, err
	}
	b := make([]byte, sz)
	got := copy(b, hdr[nul+1:n])
	if int64(n-nul-1) > sz {
		return nil, fmt.Errorf("object %s: %w", h, errLonger)
	}
	if _, err := io.ReadFull(zr, b[got:]); err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	if err := zlibEnd(zr); err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	return b, nil
}

// errLonger reports an object with more bytes than its header says.
var errLonger = errors.New("longer than its header says")

// zlibEnd reads zr, an object's whole body already read from it, to the
// end of its stream, as git does: that is where zlib checks the Adler-32,
// and where an object longer than its header says shows (errLonger).
func zlibEnd(zr io.Reader) error {
	var more [1]byte
	n, err := zr.Read(more[:])
	switch {
	case n > 0:
		return errLonger
	case err == io.EOF:
		return nil
	case err == nil:
		return io.ErrNoProgress
	}
	return err
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
// checked against the stream's Adler-32 unless there are more than
// uncheckedAbove bytes of it. It returns
// false, with b untouched, for any other stream (compressed blocks, a
// preset dictionary, trailing bytes), which the caller inflates instead.
func storedZlib(b []byte, uncheckedAbove int64) ([]byte, bool, error) {
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
	// The content starts where the first block's does, which stays in
	// place: only later blocks (past 64 KiB) move.
	const start = 2 + 5
	in, out := 2, start
	for {
		n := int(binary.LittleEndian.Uint16(b[in+1:]))
		final := b[in]&1 == 1
		if in+5 != out {
			copy(b[out:], b[in+5:in+5+n])
		}
		out += n
		in += 5 + n
		if final {
			break
		}
	}
	if int64(out-start) <= uncheckedAbove && adler32.Checksum(b[start:out]) != sum {
		return nil, true, errors.New("zlib: invalid checksum")
	}
	return b[start:out], true, nil
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
// strictly increasing git order, no file and folder of one name, and each
// entry as git fsck checks it (gitfmt.FsckTreeEntry).
func parseTree(h plumbing.Hash, b []byte) (*tree, error) {
	// One string for the whole tree, b itself (no one writes to b again):
	// entry names are substrings of it, and no copy is made.
	raw := unsafe.String(unsafe.SliceData(b), len(b))
	t := &tree{hash: h, raw: raw, ends: make([]int32, 0, len(raw)/80+1)}
	if err := t.parse(0, len(raw)); err != nil {
		return nil, err
	}
	// Most trees hold only files (shards) or only folders: no file and
	// folder can share a name there.
	files, dirs := false, false
	for k := 0; k < t.len() && !(files && dirs); k++ {
		d := t.raw[t.start(k)] == '4'
		files, dirs = files || !d, dirs || d
	}
	if files && dirs {
		if err := t.dirFileDup(0, t.len()); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// dirFileDup refuses entries lo to hi that share their name with another
// entry of the tree: git sorts a folder's name as if it ended in '/', so a
// file and a folder of one name need not be neighbours ("a", "a.b", "a/").
func (t *tree) dirFileDup(lo, hi int) error {
	for k := lo; k < hi; k++ {
		e := t.at(k)
		other := entry{name: e.name, mode: filemode.Dir}
		if e.isTree() {
			other.mode = filemode.Regular
		}
		i := sort.Search(t.len(), func(i int) bool { return !gitLess(t.at(i), other) })
		if i < t.len() {
			if x := t.at(i); x.name == e.name && x.isTree() == other.isTree() {
				return fmt.Errorf("tree %s: %v (%s)", t.hash, gitfmt.FsckTreeOrder(uint32(e.mode), e.name, uint32(x.mode), x.name), strconv.Quote(e.name))
			}
		}
	}
	return nil
}

// parse appends the ends of the entries in raw[from:to] to t, checking
// each as parseTree describes and each against the one before it.
func (t *tree) parse(from, to int) error {
	raw, h := t.raw[:to], t.hash
	var prev entry
	if k := t.len(); k > 0 {
		prev = t.at(k - 1)
	}
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
		if j == i || j == len(raw) {
			return fmt.Errorf("tree %s: malformed entry", h)
		}
		nul := strings.IndexByte(raw[j+1:], 0)
		if nul <= 0 || len(raw) < j+1+nul+1+20 {
			return fmt.Errorf("tree %s: malformed entry", h)
		}
		name := raw[j+1 : j+1+nul]
		// git's own checks: a zero-padded mode, names such as ".", "..",
		// ".git" or "a/b", the null id, ...
		if err := gitfmt.FsckTreeEntry(raw[i:j], name, raw[j+1+nul+1:j+1+nul+21]); err != nil {
			return fmt.Errorf("tree %s: entry %s: %v", h, schema.Quote(name, 70), err)
		}
		e := entry{name: name, mode: filemode.FileMode(m)}
		if t.len() > 0 && !gitLess(prev, e) {
			return fmt.Errorf("tree %s: entries out of order or duplicated at %s", h, strconv.Quote(name))
		}
		i = j + 1 + nul + 21
		t.ends = append(t.ends, int32(i))
		prev = e
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
	t := &tree{hash: h, raw: raw, ends: make([]int32, 0, len(old.ends)+max(len(raw)-len(a), 0)/24+1), from: old.hash}
	t.ends = append(t.ends, old.ends[:i]...)
	if err := t.parse(old.start(i), len(raw)-tail); err != nil || t.end() != len(raw)-tail {
		return parseTree(h, b) // the full parse reports the error at its place
	}
	mid := t.len()
	shift := int32(len(raw) - len(a))
	for _, end := range old.ends[j:] {
		t.ends = append(t.ends, end+shift)
	}
	if mid > 0 && mid < t.len() && !gitLess(t.at(mid-1), t.at(mid)) {
		return parseTree(h, b)
	}
	// The entries kept from old were checked with old; a new one may
	// share its name with any of them.
	if err := t.dirFileDup(i, mid); err != nil {
		return parseTree(h, b)
	}
	t.same = [2]int{i, len(old.ends) - j}
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
	// borrowMax is the largest tree borrow caches: cacheTreeMax, or -1 in
	// tests that borrow every tree, with poison set to overwrite a
	// borrowed tree's buffer when it is given back, so that a name still
	// in use shows as garbage.
	borrowMax int
	poison    bool
}

func newTreeCache(objs objectStore, n int) *treeCache {
	c, _ := lru.New[plumbing.Hash, *tree](n)
	return &treeCache{objs: objs, lru: c, borrowMax: cacheTreeMax}
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
	return c.add(h, b, old)
}

// add parses b, tree h's bytes, against old (see parseTreeFrom) and
// caches the tree.
func (c *treeCache) add(h plumbing.Hash, b []byte, old *tree) (*tree, error) {
	t, err := parseTreeFrom(h, b, old)
	if err != nil {
		return nil, err
	}
	c.lru.Add(h, t)
	return t, nil
}

// cacheTreeMax is the largest tree that borrow keeps in the cache. A
// larger one, read from a loose file, stays in the buffer it was read
// into, reused once the borrower is done: a shard of a 100k-trace hive is
// 80 KB, a range of single-trace commits reads a new version of one with
// each commit, and on machines where fresh memory costs a page fault a
// page, keeping every version cost more than reading it again when needed.
const cacheTreeMax = 16 << 10

// borrow returns tree h, parsed against old when it is not nil (see
// parseTreeFrom), and done, to call once neither the tree nor any name
// read from it (they are substrings of its bytes) is used any more. A
// tree larger than cacheTreeMax is not cached, and its bytes may be a
// buffer that done gives back for reuse.
func (c *treeCache) borrow(h plumbing.Hash, old *tree) (t *tree, done func(), err error) {
	return c.borrowRead(h, old, true)
}

// borrowForDiff is borrow for either side of a diff, which compares the
// two. A tree too large to cache, read from a loose file, is not checked
// against its zlib stream's Adler-32: a shard of a 100k-trace hive is
// 80 KB, read twice per range commit, and the checksum was 40% of reading
// it. This changes nothing the validator refuses. Corrupted bytes on
// either side differ from the other side's, so the diff reports changes
// that are not in the hive's history, or entries that do not parse or
// name no object: refused either way. Hiding a change would need the
// corruption to undo it byte for byte. And the corrupted file is the only
// copy there is: git refuses it too, so no clone can be given another
// tree. A stream whose block structure is corrupted is not taken for a
// stored one; it is inflated, and checked.
func (c *treeCache) borrowForDiff(h plumbing.Hash, old *tree) (t *tree, done func(), err error) {
	return c.borrowRead(h, old, false)
}

func (c *treeCache) borrowRead(h plumbing.Hash, old *tree, check bool) (t *tree, done func(), err error) {
	if t, ok := c.lru.Get(h); ok {
		return t, nothing, nil
	}
	// Trees small enough to cache are always checked (their stream holds
	// a header of fewer than 32 bytes besides).
	unchecked := int64(math.MaxInt64)
	if !check {
		unchecked = int64(max(c.borrowMax, 0)) + 32
	}
	b, pb, err := c.objs.readPooled(plumbing.TreeObject, h, maxTreeSize, unchecked)
	if err != nil {
		return nil, nothing, err
	}
	done = nothing
	if len(b) <= c.borrowMax {
		t, err := c.add(h, owned(b, pb), old)
		return t, nothing, err
	}
	if pb != nil {
		done = func() {
			if c.poison {
				for i := range b {
					b[i] = 0xff
				}
			}
			fileBuffers.Put(pb)
		}
	}
	if t, err = parseTreeFrom(h, b, old); err != nil {
		done()
		return nil, nothing, err
	}
	return t, done, nil
}

func nothing() {}

// lookup resolves a slash-separated path from the root tree h. The entry
// it returns has the last part of path as its name.
func (c *treeCache) lookup(root plumbing.Hash, path string) (entry, bool, error) {
	h := root
	for {
		i := strings.IndexByte(path, '/')
		if i < 0 {
			i = len(path)
		}
		t, done, err := c.borrow(h, nil)
		if err != nil {
			return entry{}, false, err
		}
		e, ok := t.find(path[:i])
		done()
		e.name = path[:i] // not a substring of a borrowed tree's bytes
		switch {
		case !ok:
			return entry{}, false, nil
		case i == len(path):
			return e, true, nil
		case !e.isTree():
			return entry{}, false, nil
		}
		path, h = path[i+1:], e.hash
	}
}
