package reuse

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// family is the lineage of every trace on one commit of main, read from
// the trace files (never from commit messages): each trace's parents, and
// the traces that name each id as a parent.
type family struct {
	head     plumbing.Hash
	parents  map[schema.ID][]schema.ID
	children map[schema.ID][]schema.ID
	about    map[schema.ID]about
}

// about is what a lineage shows of a trace besides its parents.
type about struct{ instance, intent string }

// readFamily reads the family of head: from prev's, when prev's commit is
// an ancestor of head, reading only the traces added since; else from
// every trace. prev is never changed.
func readFamily(st *registry.Store, head plumbing.Hash, prev *family) (*family, error) {
	if prev != nil && prev.head == head {
		return prev, nil
	}
	base := plumbing.ZeroHash
	f := &family{head: head, parents: map[schema.ID][]schema.ID{}, children: map[schema.ID][]schema.ID{}, about: map[schema.ID]about{}}
	if prev != nil {
		if ok, err := st.IsAncestor(prev.head, head); err == nil && ok {
			base = prev.head
			f.parents = maps.Clone(prev.parents)
			f.children = maps.Clone(prev.children)
			f.about = maps.Clone(prev.about)
		}
	}
	added, removed, err := st.Changes(base, head)
	if err != nil {
		return nil, err
	}
	// Lists of children may be shared with prev: each is copied before
	// its first change.
	own := map[schema.ID]bool{}
	kids := func(p schema.ID) []schema.ID {
		if !own[p] {
			f.children[p], own[p] = slices.Clone(f.children[p]), true
		}
		return f.children[p]
	}
	for _, id := range removed {
		for _, p := range f.parents[id] {
			f.children[p] = slices.DeleteFunc(kids(p), func(c schema.ID) bool { return c == id })
		}
		delete(f.parents, id)
		delete(f.about, id)
	}
	parents := make([][]schema.ID, len(added))
	abouts := make([]about, len(added))
	err = st.TraceFiles(head, added, func(i int, data []byte) error {
		var t struct {
			Lineage    []schema.ID `json:"lineage"`
			InstanceID string      `json:"instance_id"`
			Intent     string      `json:"intent"`
		}
		if err := json.Unmarshal(data, &t); err != nil {
			return fmt.Errorf("trace %s: %w", added[i], err)
		}
		parents[i], abouts[i] = t.Lineage, about{t.InstanceID, t.Intent}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, id := range added {
		f.parents[id], f.about[id] = parents[i], abouts[i]
		for _, p := range parents[i] {
			f.children[p] = append(kids(p), id)
		}
	}
	return f, nil
}
