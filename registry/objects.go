package registry

import (
	"math"
	"strings"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/hive-dev/hive/gitfmt"
	"github.com/hive-dev/hive/odb"
)

// registry reads git objects only through package odb, and their formats
// through package gitfmt; this file adapts both to the names the rest of
// the package uses.

// entry is one name in a git tree.
type entry struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e entry) isTree() bool { return e.mode == filemode.Dir }

func (e entry) git() gitfmt.Entry { return gitfmt.Entry{Name: e.name, Mode: e.mode, Hash: e.hash} }

func fromGit(e gitfmt.Entry) entry { return entry{name: e.Name, mode: e.Mode, hash: e.Hash} }

// gitLess reports whether a sorts before b in a git tree.
func gitLess(a, b entry) bool { return gitfmt.Less(a.git(), b.git()) }

// tree is a parsed git tree (gitfmt.Tree): hash is its name; when it was
// parsed against an earlier version from, its first same[0] and last
// same[1] entries are from's, unchanged.
type tree struct {
	t    *gitfmt.Tree
	hash plumbing.Hash
	from plumbing.Hash
	same [2]int
}

func wrapTree(t *gitfmt.Tree) *tree {
	return &tree{t: t, hash: t.Hash, from: t.From, same: t.Same}
}

// len is the number of entries.
func (t *tree) len() int { return t.t.Len() }

// at returns entry k; its name is a substring of the tree's bytes.
func (t *tree) at(k int) entry { return fromGit(t.t.At(k)) }

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

// find returns the entry called name.
func (t *tree) find(name string) (entry, bool) {
	e, ok := t.t.Find(name)
	return fromGit(e), ok
}

// span is entries lo to hi (exclusive) of a tree.
type span struct {
	t      *tree
	lo, hi int
}

func (s span) len() int           { return s.hi - s.lo }
func (s span) at(i int) entry     { return s.t.at(s.lo + i) }
func (s span) trim(a, b int) span { return span{t: s.t, lo: s.lo + a, hi: s.hi - b} }

// parseTreeFrom parses tree h's bytes b (taking ownership of them) against
// old, an earlier version, when there is one (gitfmt.ParseTreeFrom).
func parseTreeFrom(h plumbing.Hash, b []byte, old *tree) (*tree, error) {
	var o *gitfmt.Tree
	if old != nil {
		o = old.t
	}
	t, err := gitfmt.ParseTreeFrom(h, b, o)
	if err != nil {
		return nil, err
	}
	return wrapTree(t), nil
}

// objectStore reads objects of the store's database.
type objectStore struct{ db odb.Reader }

// read reads a whole object of type t, refusing it when it is larger than
// max (or costs more than that warrants to build: odb.Budget). The bytes
// may be shared with the database's caches and are never changed.
func (o objectStore) read(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	return o.db.Read(t, h, max)
}

// sizeError reports an object over its size limit.
type sizeError = odb.SizeError

// treeCache reads and parses trees, keeping recently used ones.
type treeCache struct {
	objs objectStore
	lru  *lru.Cache[plumbing.Hash, *tree]
	// bytes is the size of the trees cached, kept under maxTreeCacheBytes
	// (least recently used out first): at 100k traces a shard is 80 KB,
	// and 640 of them would be 51 MB.
	bytes atomic.Int64
	// borrowMax is the largest tree borrow caches: cacheTreeMax, or -1 in
	// tests that borrow every tree, with poison set to overwrite a
	// borrowed tree's buffer when it is given back, so that a name still
	// in use shows as garbage.
	borrowMax int
	poison    bool
}

func newTreeCache(objs objectStore, n int) *treeCache {
	c := &treeCache{objs: objs, borrowMax: cacheTreeMax}
	c.lru, _ = lru.NewWithEvict(n, func(_ plumbing.Hash, t *tree) { c.bytes.Add(-int64(t.t.Size())) })
	return c
}

// maxTreeCacheBytes bounds the bytes of the trees cached: more than the
// shards a commit of a 100k hive changes (about 83 of 80 KB) with their
// previous versions, which the prefetch reads together.
const maxTreeCacheBytes = 24 << 20

// put caches tree t.
func (c *treeCache) put(t *tree) {
	if c.lru.Contains(t.hash) {
		return
	}
	c.bytes.Add(int64(t.t.Size()))
	c.lru.Add(t.hash, t)
	for c.bytes.Load() > maxTreeCacheBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
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
	c.put(t)
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
// 80 KB, read twice per range commit, and the checksum was a large part
// of reading it (docs/performance.md, "Figures from code comments"). This
// changes nothing the validator refuses. Corrupted bytes on
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
	b, release, err := c.objs.db.Borrow(plumbing.TreeObject, h, maxTreeSize, unchecked)
	if err != nil {
		return nil, nothing, err
	}
	if release == nil {
		// Not lent (a packed tree, built from its deltas): the bytes stay
		// as they are, and the tree is cached whatever its size, within
		// the cache's bytes: building it again costs deltas.
		t, err := c.add(h, b, old)
		return t, nothing, err
	}
	if len(b) <= c.borrowMax {
		owned := make([]byte, len(b))
		copy(owned, b)
		release()
		t, err := c.add(h, owned, old)
		return t, nothing, err
	}
	done = func() {
		if c.poison {
			for i := range b {
				b[i] = 0xff
			}
		}
		release()
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

// newestFirst says in which order to check the commits of a range (given
// parents first): the order in which their pack chains the versions of
// the trees they change, so that each version is built with one delta on
// the one read just before. git's own packs (git gc, git repack, what a
// fetch receives) store the newest version whole and older ones as deltas
// on newer ones: newest first. git fast-import chains them oldest to
// newest: oldest first. A few commits of the range and their parents vote
// with the traces tree they change: the later in its chain is the deeper.
// Loose objects, and ranges where no vote is cast, are checked newest
// first.
func (s *Store) newestFirst(commits []*commitNode) bool {
	if s.disk == nil || len(commits) < 2 {
		return true
	}
	depth := func(tree plumbing.Hash) (int, bool) {
		e, ok, err := s.trees.lookup(tree, tracesDir)
		if err != nil || !ok {
			return 0, false
		}
		return s.disk.DeltaDepth(e.hash)
	}
	votes := 0
	for _, k := range []int{len(commits) - 1, len(commits) / 2, len(commits) / 4, 3 * len(commits) / 4, 1} {
		n := commits[k]
		if len(n.c.ParentHashes) != 1 {
			continue
		}
		p, err := (&validator{s: s}).readCommit(n.c.ParentHashes[0])
		if err != nil {
			continue
		}
		dc, ok1 := depth(n.c.TreeHash)
		dp, ok2 := depth(p.TreeHash)
		switch {
		case !ok1 || !ok2 || dc == dp:
		case dc > dp:
			votes--
		default:
			votes++
		}
	}
	return votes >= 0
}
