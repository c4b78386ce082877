package registry

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/schema"
)

// LineageSource is the lineage of every trace on main, read from the trace
// files (never from commit messages), with the commits that introduced them.
type LineageSource struct {
	nodes    map[schema.ID]lineage.Node
	children map[schema.ID][]schema.ID
}

// Lineage reads every trace on main and the commits that added them, and
// the traces that resolved disputes removed, with the commits that did.
func (s *Store) Lineage() (*LineageSource, error) {
	return s.LineageContext(context.Background())
}

// LineageContext is Lineage that stops when ctx ends, with ctx's error.
func (s *Store) LineageContext(ctx context.Context) (*LineageSource, error) {
	hist, err := s.HistoryContext(ctx)
	if err != nil {
		return nil, err
	}
	addedIn := map[schema.ID]plumbing.Hash{}
	removedIn := map[schema.ID]plumbing.Hash{}
	for _, c := range hist {
		for _, id := range c.Added {
			if _, ok := addedIn[id]; !ok {
				addedIn[id] = c.Hash
			}
		}
		for _, id := range c.Removed {
			removedIn[id] = c.Hash
		}
	}
	ids, err := s.TraceIDs()
	if err != nil {
		return nil, err
	}
	src := &LineageSource{nodes: map[schema.ID]lineage.Node{}, children: map[schema.ID][]schema.ID{}}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, err := s.Trace(id)
		if err != nil {
			return nil, err
		}
		n := lineage.Node{ID: id, Parents: e.Trace.Lineage, Instance: e.Trace.InstanceID, Intent: e.Trace.Intent}
		if c, ok := addedIn[id]; ok {
			n.Commit = c.String()
		}
		src.nodes[id] = n
		for _, p := range e.Trace.Lineage {
			src.children[p] = append(src.children[p], id)
		}
	}
	// Removed traces: what they were, from the commit that added them.
	for id, rc := range removedIn {
		ac, ok := addedIn[id]
		if !ok {
			continue
		}
		n := lineage.Node{ID: id, Missing: true, RemovedIn: rc.String(), Commit: ac.String()}
		err := s.TraceFilesContext(ctx, ac, []schema.ID{id}, func(_ int, data []byte) error {
			t, err := schema.ParseCanonical(data)
			if err == nil {
				n.Parents, n.Instance, n.Intent = t.Lineage, t.InstanceID, t.Intent
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if r, err := s.Removed(id); err == nil && r != nil {
			n.Dispute = r.Dispute
		}
		src.nodes[id] = n
	}
	return src, nil
}

// Node returns a trace's node.
func (l *LineageSource) Node(id schema.ID) (lineage.Node, error) {
	n, ok := l.nodes[id]
	if !ok {
		return lineage.Node{}, fmt.Errorf("%s: %w (%w)", id, lineage.ErrNotFound, ErrNotFound)
	}
	return n, nil
}

// Children returns the traces derived from id.
func (l *LineageSource) Children(id schema.ID) ([]schema.ID, error) {
	return append([]schema.ID(nil), l.children[id]...), nil
}
