package registry

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/hive-dev/hive/schema"
)

// This file serves derived data (the search index, reputation): what each
// commit added, what changed between two commits, and the bytes of many
// traces at once. Everything is read from trees, never from commit
// messages.

// IsAncestor reports whether commit a is b or one of b's ancestors.
func (s *Store) IsAncestor(a, b plumbing.Hash) (bool, error) { return s.isAncestor(a, b) }

// CommitTree returns the tree of commit h.
func (s *Store) CommitTree(h plumbing.Hash) (plumbing.Hash, error) {
	c, err := (&validator{s: s}).readCommit(h)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", h, err)
	}
	return c.TreeHash, nil
}

// TraceIDsAt lists the ids of the traces in commit h's tree.
func (s *Store) TraceIDsAt(h plumbing.Hash) ([]schema.ID, error) {
	root, err := s.CommitTree(h)
	if err != nil {
		return nil, err
	}
	return s.traceIDsAt(root)
}

// Changes lists the traces added and removed between the trees of commits
// a and b (a may be zero: everything in b is added), reading only the
// shards whose hashes differ. Both lists are sorted.
func (s *Store) Changes(a, b plumbing.Hash) (added, removed []schema.ID, err error) {
	var ta plumbing.Hash
	if !a.IsZero() {
		if ta, err = s.CommitTree(a); err != nil {
			return nil, nil, err
		}
	}
	tb, err := s.CommitTree(b)
	if err != nil {
		return nil, nil, err
	}
	shards := func(root plumbing.Hash) (span, error) {
		if root.IsZero() {
			return span{}, nil
		}
		e, ok, err := s.trees.lookup(root, tracesDir)
		if err != nil || !ok || !e.isTree() {
			return span{}, err
		}
		t, err := s.trees.get(e.hash)
		if err != nil {
			return span{}, err
		}
		return t.all(), nil
	}
	sa, err := shards(ta)
	if err != nil {
		return nil, nil, err
	}
	sb, err := shards(tb)
	if err != nil {
		return nil, nil, err
	}
	files := func(e *entry, old *tree) (*tree, error) {
		if e == nil || !e.isTree() {
			return nil, nil
		}
		return s.trees.getFrom(e.hash, old)
	}
	// A trace is a regular file <hex>.json in shard <hh>; anything else
	// (bundles, or what the validator would refuse) is not counted.
	trace := func(shard string, e *entry) (schema.ID, bool) {
		hex, ok := strings.CutSuffix(e.name, traceExt)
		if !ok || e.mode != filemode.Regular || !isHex64(hex) || hex[:2] != shard {
			return "", false
		}
		return schema.ID("sha256:" + hex), true
	}
	// The shards that differ, read on all cores (a full build reads all
	// 256), then compared in order.
	type pair struct {
		x, y       *entry
		told, tnew *tree
		err        error
	}
	var pairs []pair
	mergeEntries(sa, sb, func(x, y *entry) error {
		pairs = append(pairs, pair{x: x, y: y})
		return nil
	})
	var wg sync.WaitGroup
	next := make(chan *pair, len(pairs))
	for i := range pairs {
		next <- &pairs[i]
	}
	close(next)
	workers := 1
	if s.concurrentReads() {
		workers = min(runtime.GOMAXPROCS(0), max(1, len(pairs)/8))
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				if p.told, p.err = files(p.x, nil); p.err == nil {
					p.tnew, p.err = files(p.y, p.told)
				}
			}
		}()
	}
	wg.Wait()
	for _, p := range pairs {
		x, y, told, tnew := p.x, p.y, p.told, p.tnew
		if p.err != nil {
			return nil, nil, p.err
		}
		fa, fb := told.all(), tnew.all()
		if told != nil && tnew != nil && tnew.from == told.hash {
			fa, fb = fa.trim(tnew.same[0], tnew.same[1]), fb.trim(tnew.same[0], tnew.same[1])
		}
		mergeEntries(fa, fb, func(f, g *entry) error {
			switch {
			case f == nil:
				if id, ok := trace(y.name, g); ok {
					added = append(added, id)
				}
			case g == nil:
				if id, ok := trace(x.name, f); ok {
					removed = append(removed, id)
				}
			}
			return nil
		})
	}
	sort.Slice(added, func(i, j int) bool { return added[i] < added[j] })
	sort.Slice(removed, func(i, j int) bool { return removed[i] < removed[j] })
	return added, removed, nil
}

// mergeEntries calls fn for each name in either of two trees' entries
// whose entry differs: fn(x, nil) for a name only in a, fn(nil, y) for one
// only in b, fn(x, y) for one in both with another hash or mode. x and y
// are fn's to keep.
func mergeEntries(a, b span, fn func(x, y *entry) error) error {
	at := func(s span, k int) entry {
		if k < s.len() {
			return s.at(k)
		}
		return entry{}
	}
	i, j := 0, 0
	ea, eb := at(a, 0), at(b, 0)
	for i < a.len() || j < b.len() {
		var x, y *entry
		switch {
		case j >= b.len() || i < a.len() && gitLess(ea, eb):
			x = &entry{}
			*x = ea
			i++
			ea = at(a, i)
		case i >= a.len() || gitLess(eb, ea):
			y = &entry{}
			*y = eb
			j++
			eb = at(b, j)
		default:
			if ea.hash != eb.hash || ea.mode != eb.mode {
				x, y = &entry{}, &entry{}
				*x, *y = ea, eb
			}
			i, j = i+1, j+1
			ea, eb = at(a, i), at(b, j)
			if x == nil {
				continue
			}
		}
		if err := fn(x, y); err != nil {
			return err
		}
	}
	return nil
}

// TraceFiles reads the trace files ids from commit h's tree on all cores
// and calls fn(i, data) for ids[i], from several goroutines at once: fn
// must be safe for concurrent use. Each file is checked against its id
// (a mismatch, or a file the tree names that cannot be read, is an error
// wrapping ErrCorrupt); nothing is parsed. An id
// not in the tree is an error wrapping ErrNotFound; fn may have been
// called for other ids by then.
func (s *Store) TraceFiles(h plumbing.Hash, ids []schema.ID, fn func(i int, data []byte) error) error {
	return s.TraceFilesContext(context.Background(), h, ids, fn)
}

// TraceFilesContext is TraceFiles that stops when ctx ends, with ctx's
// error; fn may have been called for some ids by then.
func (s *Store) TraceFilesContext(ctx context.Context, h plumbing.Hash, ids []schema.ID, fn func(i int, data []byte) error) error {
	root, err := s.CommitTree(h)
	if err != nil {
		return err
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, len(ids)/64))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := s.readerCache()
			defer rc.close()
			for {
				if err := ctx.Err(); err != nil {
					fail(err)
				}
				mu.Lock()
				i := next
				next += 64
				stop := first != nil
				mu.Unlock()
				if stop || i >= len(ids) {
					return
				}
				for j := i; j < min(i+64, len(ids)); j++ {
					e, ok, err := rc.trees.lookup(root, TracePath(ids[j]))
					if err == nil && !ok {
						err = ErrNotFound
					}
					if err != nil {
						fail(fmt.Errorf("trace %s: %w", ids[j], err))
						return
					}
					b, err := rc.objs.read(plumbing.BlobObject, e.hash, schema.MaxTraceSize)
					if err != nil {
						fail(fmt.Errorf("trace %s: %v: %w", ids[j], err, ErrCorrupt))
						return
					}
					if schema.Digest(b) != ids[j] {
						fail(fmt.Errorf("trace %s: %s: file's sha256 is %s: %w", ids[j], RuleTraceName, schema.Digest(b).Hex(), ErrCorrupt))
						return
					}
					if err := fn(j, b); err != nil {
						fail(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// HistoryCommit is one commit of main's history and the traces it added.
type HistoryCommit struct {
	Hash    plumbing.Hash
	Parents []plumbing.Hash
	Added   []schema.ID // sorted by path (that is, by id); empty for merges
	Removed []schema.ID // traces removed by a resolved dispute (tombstones added); empty for merges
}

// History lists every commit of main, parents before children; among
// commits whose parents are all listed, the smallest hash comes first, so
// the order depends only on the commit graph, not on how it was fetched.
// Each non-merge commit carries the traces its tree adds to its parent's
// (a merge adds nothing of its own: the validator refuses evil merges).
func (s *Store) History() ([]HistoryCommit, error) {
	return s.HistoryContext(context.Background())
}

// HistoryContext is History that stops when ctx ends, with ctx's error.
func (s *Store) HistoryContext(ctx context.Context) ([]HistoryCommit, error) {
	head, err := s.Head()
	if err != nil {
		return nil, err
	}
	v := &validator{s: s}
	type node struct {
		parents  []plumbing.Hash
		tree     plumbing.Hash
		children []plumbing.Hash
		pending  int
	}
	nodes := map[plumbing.Hash]*node{}
	stack := []plumbing.Hash{head}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := nodes[h]; ok {
			continue
		}
		c, err := v.readCommit(h)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", h, err)
		}
		nodes[h] = &node{parents: c.ParentHashes, tree: c.TreeHash}
		stack = append(stack, c.ParentHashes...)
	}
	var ready hashHeap
	for h, n := range nodes {
		seen := map[plumbing.Hash]bool{}
		for _, p := range n.parents {
			if pn, ok := nodes[p]; ok && !seen[p] {
				seen[p] = true
				pn.children = append(pn.children, h)
				n.pending++
			}
		}
	}
	for h, n := range nodes {
		if n.pending == 0 {
			ready = append(ready, h)
		}
	}
	heap.Init(&ready)
	out := make([]HistoryCommit, 0, len(nodes))
	for ready.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := heap.Pop(&ready).(plumbing.Hash)
		n := nodes[h]
		hc := HistoryCommit{Hash: h, Parents: n.parents}
		if len(n.parents) <= 1 {
			var parentTree plumbing.Hash
			if len(n.parents) == 1 {
				parentTree = nodes[n.parents[0]].tree
			}
			var changes []change
			if err := s.diff(s.trees, parentTree, n.tree, false, "", &changes); err != nil {
				return nil, err
			}
			for _, ch := range changes {
				k, ok := classify(ch.path)
				switch {
				case ok && k == kindTrace && ch.old == nil && ch.new != nil:
					hc.Added = append(hc.Added, traceIDOf(ch.path))
				case ok && k == kindTombstone && ch.old == nil && ch.new != nil:
					hc.Removed = append(hc.Removed, traceIDOf(ch.path))
				}
			}
		}
		out = append(out, hc)
		for _, c := range n.children {
			cn := nodes[c]
			if cn.pending--; cn.pending == 0 {
				heap.Push(&ready, c)
			}
		}
	}
	return out, nil
}

type hashHeap []plumbing.Hash

func (h hashHeap) Len() int           { return len(h) }
func (h hashHeap) Less(i, j int) bool { return bytes.Compare(h[i][:], h[j][:]) < 0 }
func (h hashHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hashHeap) Push(x any)        { *h = append(*h, x.(plumbing.Hash)) }
func (h *hashHeap) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }
