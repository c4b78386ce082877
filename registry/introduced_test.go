package registry

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// TestIntroduced: each trace on main is attributed to the commit that
// added it, on main's first-parent line or on a side merged into it, and a
// trace that was never on main to none.
func TestIntroduced(t *testing.T) {
	h := newTestHive(t, nil)
	intro := map[schema.ID]plumbing.Hash{} // what each trace was added by
	addOn := func(parent plumbing.Hash, intent string) (plumbing.Hash, schema.ID) {
		data := traceBytes(t, instA, intent)
		c := h.commit(parent, h.traceFiles(data, instA))
		id := schema.Digest(data)
		intro[id] = c
		return c, id
	}
	setMain := func(old, new plumbing.Hash) {
		t.Helper()
		if err := h.s.moveMain(old, new); err != nil {
			t.Fatal(err)
		}
	}
	// Main: 12 commits of one trace; a side forked at the 4th adds two
	// more and is merged; then 5 more on main, one of which merges a side
	// that forked from the side (a side within a side).
	start := h.head()
	c := start
	var fork, sideFork plumbing.Hash
	for i := range 12 {
		c, _ = addOn(c, fmt.Sprintf("main task %d", i))
		if i == 3 {
			fork = c
		}
	}
	s := fork
	for i := range 2 {
		s, _ = addOn(s, fmt.Sprintf("side task %d", i))
		if i == 0 {
			sideFork = s
		}
	}
	merge := func(into, side plumbing.Hash) plumbing.Hash {
		files := map[string]*entry{}
		for id, at := range intro {
			if at == side || h.isAncestor(at, side) && !h.isAncestor(at, into) {
				files[TracePath(id)] = h.lookupEntry(side, TracePath(id))
				files[BundlePath(id)] = h.lookupEntry(side, BundlePath(id))
			}
		}
		return h.commitTree(h.edit(into, files), into, side)
	}
	m := merge(c, s)
	c = m
	inner := sideFork
	inner, _ = addOn(inner, "side of the side")
	for i := range 5 {
		c, _ = addOn(c, fmt.Sprintf("after the merge %d", i))
		if i == 2 {
			c = merge(c, inner)
		}
	}
	setMain(start, c)
	never := schema.Digest(traceBytes(t, instA, "never committed"))
	ids := []schema.ID{never, "", "sha256:a", "sha256:" + schema.ID(strings.Repeat("z", 64))}
	for id := range intro {
		ids = append(ids, id)
	}
	got, err := h.s.Introduced(ids)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range intro {
		if got[id] == nil || got[id].Hash != want {
			t.Errorf("Introduced(%s) = %v, want %s", id, got[id], want)
		}
	}
	if got[never] != nil {
		t.Errorf("Introduced(a trace never committed) = %s, want none", got[never].Hash)
	}
	if len(got) != len(intro) {
		t.Errorf("Introduced gave %d commits for %d traces on main (and 3 malformed ids)", len(got), len(intro))
	}
}

// isAncestor reports whether a is an ancestor of b (or b itself).
func (h *testHive) isAncestor(a, b plumbing.Hash) bool {
	h.t.Helper()
	ok, err := h.s.IsAncestor(a, b)
	if err != nil {
		h.t.Fatal(err)
	}
	return ok
}
