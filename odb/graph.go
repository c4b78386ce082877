package odb

import (
	"container/heap"
	"context"

	"github.com/go-git/go-git/v5/plumbing"
)

// MergeBases returns the best common ancestors of commits a and b, as git
// merge-base --all does: common ancestors of which none is an ancestor of
// another, sorted by name. Unrelated histories have none. The walk reads
// commits through r (git's paint-down: both sides newest first, until
// only ancestors of a common commit are left), then drops candidates
// that are ancestors of others, which keeps the answer right when
// committer times are skewed.
func MergeBases(ctx context.Context, r Reader, a, b plumbing.Hash) ([]plumbing.Hash, error) {
	if a == b {
		return []plumbing.Hash{a}, nil
	}
	g := &graph{r: r, nodes: map[plumbing.Hash]*gnode{}}
	cands, err := g.paint(ctx, a, []plumbing.Hash{b})
	if err != nil {
		return nil, err
	}
	if len(cands) <= 1 {
		return cands, nil
	}
	// A candidate that another reaches is not a best one.
	var out []plumbing.Hash
	for i, c := range cands {
		others := append(append([]plumbing.Hash{}, cands[:i]...), cands[i+1:]...)
		reached, err := reaches(ctx, r, others, c)
		if err != nil {
			return nil, err
		}
		if !reached {
			out = append(out, c)
		}
	}
	sortHashes(out)
	return out, nil
}

// IsAncestor reports whether commit a is b or an ancestor of b.
func IsAncestor(ctx context.Context, r Reader, a, b plumbing.Hash) (bool, error) {
	return reaches(ctx, r, []plumbing.Hash{b}, a)
}

// reaches reports whether target is one of from or an ancestor of one.
func reaches(ctx context.Context, r Reader, from []plumbing.Hash, target plumbing.Hash) (bool, error) {
	g := &graph{r: r, nodes: map[plumbing.Hash]*gnode{}}
	t, err := g.node(target)
	if err != nil {
		return false, err
	}
	var q nodeQueue
	for _, h := range from {
		n, err := g.node(h)
		if err != nil {
			return false, err
		}
		if !n.seen {
			n.seen = true
			heap.Push(&q, n)
		}
	}
	for q.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		n := heap.Pop(&q).(*gnode)
		if n == t {
			return true, nil
		}
		for _, p := range n.parents {
			pn, err := g.node(p)
			if err != nil {
				return false, err
			}
			if !pn.seen {
				pn.seen = true
				heap.Push(&q, pn)
			}
		}
	}
	return false, nil
}

// graph is commits read for one walk.
type graph struct {
	r     Reader
	nodes map[plumbing.Hash]*gnode
}

type gnode struct {
	hash    plumbing.Hash
	parents []plumbing.Hash
	time    int64
	flags   uint8
	seen    bool // reaches' mark
	queued  bool
}

const (
	side1  = 1
	side2  = 2
	stale  = 4
	result = 8
)

func (g *graph) node(h plumbing.Hash) (*gnode, error) {
	if n, ok := g.nodes[h]; ok {
		return n, nil
	}
	c, err := ReadCommitHeader(g.r, h)
	if err != nil {
		return nil, err
	}
	n := &gnode{hash: h, parents: c.Parents, time: c.Time}
	g.nodes[h] = n
	return n, nil
}

// paint marks the ancestors of one with side1 and those of twos with
// side2, newest first, and returns the commits found with both marks
// that no such commit above them reaches.
func (g *graph) paint(ctx context.Context, one plumbing.Hash, twos []plumbing.Hash) ([]plumbing.Hash, error) {
	var q nodeQueue
	active := 0 // queued commits not marked stale
	push := func(n *gnode, f uint8) {
		was := n.flags
		n.flags |= f
		switch {
		case !n.queued:
			n.queued = true
			heap.Push(&q, n)
			if n.flags&stale == 0 {
				active++
			}
		case was&stale == 0 && n.flags&stale != 0:
			active--
		}
	}
	n1, err := g.node(one)
	if err != nil {
		return nil, err
	}
	push(n1, side1)
	for _, h := range twos {
		n, err := g.node(h)
		if err != nil {
			return nil, err
		}
		push(n, side2)
	}
	var out []*gnode
	for active > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := heap.Pop(&q).(*gnode)
		n.queued = false
		if n.flags&stale == 0 {
			active--
		}
		flags := n.flags & (side1 | side2 | stale)
		if flags == side1|side2 {
			if n.flags&result == 0 {
				n.flags |= result
				out = append(out, n)
			}
			flags |= stale
		}
		for _, p := range n.parents {
			pn, err := g.node(p)
			if err != nil {
				return nil, err
			}
			if pn.flags&flags == flags {
				continue
			}
			push(pn, flags)
		}
	}
	// A result reached later from another common commit is not a best one.
	var kept []plumbing.Hash
	for _, n := range out {
		if n.flags&stale == 0 {
			kept = append(kept, n.hash)
		}
	}
	return kept, nil
}

// nodeQueue orders commits newest first.
type nodeQueue []*gnode

func (q nodeQueue) Len() int { return len(q) }
func (q nodeQueue) Less(i, j int) bool {
	if q[i].time != q[j].time {
		return q[i].time > q[j].time
	}
	return string(q[i].hash[:]) < string(q[j].hash[:])
}
func (q nodeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *nodeQueue) Push(x any)   { *q = append(*q, x.(*gnode)) }
func (q *nodeQueue) Pop() any     { old := *q; n := old[len(old)-1]; *q = old[:len(old)-1]; return n }

func (q nodeQueue) nonStale() bool {
	for _, n := range q {
		if n.flags&stale == 0 {
			return true
		}
	}
	return false
}

func sortHashes(hs []plumbing.Hash) {
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && string(hs[j][:]) < string(hs[j-1][:]); j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
}
