package gitfmt

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Entry is one name in a git tree.
type Entry struct {
	Name string
	Mode filemode.FileMode
	Hash plumbing.Hash
}

// IsTree reports whether the entry is a subtree.
func (e Entry) IsTree() bool { return e.Mode == filemode.Dir }

// SortKey is the name git sorts tree entries by: a tree's as if followed
// by '/'.
func (e Entry) SortKey() string {
	if e.IsTree() {
		return e.Name + "/"
	}
	return e.Name
}

// Less reports whether a sorts before b in a git tree, where a tree's name
// compares as if followed by '/', without building that string.
func Less(a, b Entry) bool {
	n := min(len(a.Name), len(b.Name))
	if c := strings.Compare(a.Name[:n], b.Name[:n]); c != 0 {
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
func (e Entry) keyLen() int {
	if e.IsTree() {
		return len(e.Name) + 1
	}
	return len(e.Name)
}

func (e Entry) keyByte(i int) byte {
	if i < len(e.Name) {
		return e.Name[i]
	}
	return '/'
}

// Tree is a parsed git tree: its bytes and where each entry ends. Entries
// are read from the bytes on demand (At): a shard of a 100k-trace hive
// holds 780 entries, of which a diff against the previous version reads
// one, so building them all for every version costs more than the rest of
// the diff.
type Tree struct {
	// Hash is the tree's object name.
	Hash plumbing.Hash
	// From is the tree this one was parsed against (ParseTreeFrom), if
	// any: its first Same[0] and last Same[1] entries are From's,
	// unchanged.
	From plumbing.Hash
	Same [2]int
	// raw is the tree's bytes, which entries' names are substrings of,
	// and ends[k] the offset in raw just past entry k, in git order.
	raw  string
	ends []int32
}

// Len is the number of entries.
func (t *Tree) Len() int { return len(t.ends) }

// At returns entry k. Its name is a substring of the tree's bytes, whose
// modes the parse checked.
func (t *Tree) At(k int) Entry {
	i, end := t.start(k), int(t.ends[k])
	var m filemode.FileMode
	for ; t.raw[i] != ' '; i++ {
		m = m<<3 | filemode.FileMode(t.raw[i]-'0')
	}
	e := Entry{Name: t.raw[i+1 : end-21], Mode: m}
	copy(e.Hash[:], t.raw[end-20:end])
	return e
}

// List returns all the entries, in a slice of their own.
func (t *Tree) List() []Entry {
	out := make([]Entry, t.Len())
	for k := range out {
		out[k] = t.At(k)
	}
	return out
}

// Size is the length of the tree's bytes.
func (t *Tree) Size() int { return len(t.raw) }

// All is every entry of t; a nil tree has none.
func (t *Tree) All() Span {
	if t == nil {
		return Span{}
	}
	return Span{t: t, hi: t.Len()}
}

// Span is entries lo to hi (exclusive) of a tree.
type Span struct {
	t      *Tree
	lo, hi int
}

// Len is the number of entries in the span.
func (s Span) Len() int { return s.hi - s.lo }

// At is the span's entry i.
func (s Span) At(i int) Entry { return s.t.At(s.lo + i) }

// Trim drops a entries from the start of the span and b from its end.
func (s Span) Trim(a, b int) Span { return Span{t: s.t, lo: s.lo + a, hi: s.hi - b} }

// Find returns the entry called name.
func (t *Tree) Find(name string) (Entry, bool) {
	// git sorts a tree's name as if followed by '/': look for both forms,
	// comparing with Less rather than building the '/' form's string.
	for _, mode := range [2]filemode.FileMode{filemode.Regular, filemode.Dir} {
		key := Entry{Name: name, Mode: mode}
		i := sort.Search(t.Len(), func(i int) bool { return !Less(t.At(i), key) })
		if i < t.Len() {
			if e := t.At(i); e.Name == name {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// ParseTree parses the bytes b of tree h strictly: modes that are octal
// without a leading zero, names that are non-empty, not "." or "..", and
// free of '/' and NUL, entries in strictly increasing git order, no file
// and folder of one name, each entry as git fsck checks it
// (FsckTreeEntry), and nothing left over. It takes ownership of b: the
// caller must not change b afterwards, since entry names are strings over
// its bytes.
func ParseTree(h plumbing.Hash, b []byte) (*Tree, error) {
	// One string for the whole tree, b itself: entry names are substrings
	// of it, and no copy is made (docs/performance.md: "Trees are parsed
	// in place").
	raw := unsafe.String(unsafe.SliceData(b), len(b))
	t := &Tree{Hash: h, raw: raw, ends: make([]int32, 0, len(raw)/80+1)}
	if err := t.parse(0, len(raw)); err != nil {
		return nil, err
	}
	// Most trees hold only files (shards) or only folders: no file and
	// folder can share a name there.
	files, dirs := false, false
	for k := 0; k < t.Len() && !(files && dirs); k++ {
		d := t.raw[t.start(k)] == '4'
		files, dirs = files || !d, dirs || d
	}
	if files && dirs {
		if err := t.dirFileDup(0, t.Len()); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// dirFileDup refuses entries lo to hi that share their name with another
// entry of the tree: git sorts a folder's name as if it ended in '/', so a
// file and a folder of one name need not be neighbours ("a", "a.b", "a/").
func (t *Tree) dirFileDup(lo, hi int) error {
	for k := lo; k < hi; k++ {
		e := t.At(k)
		other := Entry{Name: e.Name, Mode: filemode.Dir}
		if e.IsTree() {
			other.Mode = filemode.Regular
		}
		i := sort.Search(t.Len(), func(i int) bool { return !Less(t.At(i), other) })
		if i < t.Len() {
			if x := t.At(i); x.Name == e.Name && x.IsTree() == other.IsTree() {
				return fmt.Errorf("tree %s: entry %s: %v", t.Hash, strconv.Quote(e.Name), FsckTreeOrder(uint32(e.Mode), e.Name, uint32(x.Mode), x.Name))
			}
		}
	}
	return nil
}

// MaxTreeBytes is the largest tree this package parses: entry ends are
// 32-bit offsets.
const MaxTreeBytes = 1<<31 - 1

// parse appends the ends of the entries in raw[from:to] to t, checking
// each as ParseTree describes and each against the one before it.
func (t *Tree) parse(from, to int) error {
	raw, h := t.raw[:to], t.Hash
	if len(t.raw) > MaxTreeBytes {
		return fmt.Errorf("tree %s: %d bytes, over %d", h, len(t.raw), MaxTreeBytes)
	}
	var prev Entry
	if k := t.Len(); k > 0 {
		prev = t.At(k - 1)
	}
	for i := from; i < len(raw); {
		j := i
		for ; j < len(raw) && raw[j] != ' '; j++ {
			if c := raw[j]; c < '0' || c > '7' || j-i > 7 {
				return fmt.Errorf("tree %s: malformed mode %s at byte %d", h, strconv.Quote(raw[i:min(j+1, len(raw))]), i)
			}
		}
		if j == i || j == len(raw) {
			return fmt.Errorf("tree %s: malformed entry at byte %d", h, i)
		}
		var m filemode.FileMode
		for k := i; k < j; k++ {
			m = m<<3 | filemode.FileMode(raw[k]-'0')
		}
		nul := strings.IndexByte(raw[j+1:], 0)
		if nul <= 0 || len(raw) < j+1+nul+1+20 {
			return fmt.Errorf("tree %s: malformed entry at byte %d", h, i)
		}
		name := raw[j+1 : j+1+nul]
		// git fsck's checks: a zero-padded mode, names such as ".", "..",
		// "a/b" or any a file system may take for ".git", the null id, ...
		if err := FsckTreeEntry(raw[i:j], name, raw[j+1+nul+1:j+1+nul+21]); err != nil {
			return fmt.Errorf("tree %s: entry %s at byte %d: %v", h, quoteName(name), i, err)
		}
		e := Entry{Name: name, Mode: m}
		if t.Len() > 0 && !Less(prev, e) {
			return fmt.Errorf("tree %s: entries out of order or duplicated at %s", h, strconv.Quote(name))
		}
		i = j + 1 + nul + 21
		t.ends = append(t.ends, int32(i))
		prev = e
	}
	return nil
}

// ParseTreeFrom parses the bytes b of tree h, taking ownership of b, as a
// later version of old: it compares the bytes with old's, takes the
// entries of their common prefix and suffix from old (the same bytes
// parse to the same entries), and parses only what lies between, checking
// the order where the parts meet. A shard tree that gained one trace costs
// two comparisons of its bytes and one entry's parse, not a parse of every
// entry. The result is the tree ParseTree gives, or its error; with no old
// tree it is ParseTree.
func ParseTreeFrom(h plumbing.Hash, b []byte, old *Tree) (*Tree, error) {
	if old == nil || old.raw == "" {
		return ParseTree(h, b)
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
		return ParseTree(h, b) // cannot happen: the prefix and suffix do not overlap
	}
	t := &Tree{Hash: h, raw: raw, ends: make([]int32, 0, len(old.ends)+max(len(raw)-len(a), 0)/24+1), From: old.Hash}
	t.ends = append(t.ends, old.ends[:i]...)
	if err := t.parse(old.start(i), len(raw)-tail); err != nil || t.end() != len(raw)-tail {
		return ParseTree(h, b) // the full parse reports the error at its place
	}
	mid := t.Len()
	shift := int32(len(raw) - len(a))
	for _, end := range old.ends[j:] {
		t.ends = append(t.ends, end+shift)
	}
	if mid > 0 && mid < t.Len() && !Less(t.At(mid-1), t.At(mid)) {
		return ParseTree(h, b)
	}
	// The entries kept from old were checked with old; a new one may share
	// its name with any of them.
	if err := t.dirFileDup(i, mid); err != nil {
		return ParseTree(h, b)
	}
	t.Same = [2]int{i, len(old.ends) - j}
	return t, nil
}

// start is the offset in raw where entry k begins (len(raw) for k past the end).
func (t *Tree) start(k int) int {
	if k == 0 {
		return 0
	}
	return int(t.ends[k-1])
}

// end is the offset just past the last entry parsed.
func (t *Tree) end() int { return t.start(len(t.ends)) }

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

// EncodeTree sorts entries in git order and encodes them as a tree. It
// returns the tree's bytes and the tree parsed from them, with its hash.
func EncodeTree(entries []Entry) ([]byte, *Tree) {
	sort.Slice(entries, func(i, j int) bool { return Less(entries[i], entries[j]) })
	var buf bytes.Buffer
	buf.Grow(len(entries) * 100)
	t := &Tree{ends: make([]int32, len(entries))}
	for k, e := range entries {
		buf.WriteString(strconv.FormatUint(uint64(e.Mode), 8))
		buf.WriteByte(' ')
		buf.WriteString(e.Name)
		buf.WriteByte(0)
		buf.Write(e.Hash[:])
		t.ends[k] = int32(buf.Len())
	}
	b := buf.Bytes()
	t.raw = string(b)
	t.Hash = plumbing.ComputeHash(plumbing.TreeObject, b)
	return b, t
}

// quoteName quotes an entry's name for a message, cut to 70 bytes: it is
// whatever the tree's author chose.
func quoteName(name string) string {
	if len(name) > 70 {
		return strconv.Quote(name[:70]) + "…"
	}
	return strconv.Quote(name)
}
