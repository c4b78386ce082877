package registry

import (
	"fmt"

	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/schema"
)

// LineageSource is the lineage of every trace on main, read from the trace
// files (never from commit messages), with the commits that introduced them.
type LineageSource struct {
	nodes    map[schema.ID]lineage.Node
	children map[schema.ID][]schema.ID
}

// Lineage reads every trace on main and the commits that added them.
func (s *Store) Lineage() (*LineageSource, error) {
	ids, err := s.TraceIDs()
	if err != nil {
		return nil, err
	}
	intro, err := s.Introduced(ids)
	if err != nil {
		return nil, err
	}
	src := &LineageSource{nodes: map[schema.ID]lineage.Node{}, children: map[schema.ID][]schema.ID{}}
	for _, id := range ids {
		e, err := s.Trace(id)
		if err != nil {
			return nil, err
		}
		n := lineage.Node{ID: id, Parents: e.Trace.Lineage, Instance: e.Trace.InstanceID, Intent: e.Trace.Intent}
		if c, ok := intro[id]; ok {
			n.Commit = c.Hash.String()
		}
		src.nodes[id] = n
		for _, p := range e.Trace.Lineage {
			src.children[p] = append(src.children[p], id)
		}
	}
	return src, nil
}

// Node returns a trace's node.
func (l *LineageSource) Node(id schema.ID) (lineage.Node, error) {
	n, ok := l.nodes[id]
	if !ok {
		return lineage.Node{}, fmt.Errorf("%s: %w", id, lineage.ErrNotFound)
	}
	return n, nil
}

// Children returns the traces derived from id.
func (l *LineageSource) Children(id schema.ID) ([]schema.ID, error) {
	return append([]schema.ID(nil), l.children[id]...), nil
}
