// Package lineage is the DAG of traces: each trace names the traces it was
// derived from. It walks ancestors and descendants through a Source, which
// the registry provides; it knows nothing of git.
package lineage

import (
	"errors"
	"fmt"
	"sort"

	"github.com/hive-dev/hive/schema"
)

// ErrNotFound reports a trace the source does not have.
var ErrNotFound = errors.New("trace not found")

// Node is one trace in the graph.
type Node struct {
	ID       schema.ID   `json:"id"`
	Parents  []schema.ID `json:"parents"`
	Instance string      `json:"instance_id,omitempty"`
	Intent   string      `json:"intent,omitempty"`
	Commit   string      `json:"commit,omitempty"`  // the commit that introduced the trace
	Missing  bool        `json:"missing,omitempty"` // named as a parent, absent from the source
	// RemovedIn is the commit that removed the trace by a resolved dispute
	// (Missing is then true too), and Dispute the dispute it upheld.
	RemovedIn string    `json:"removed_in,omitempty"`
	Dispute   schema.ID `json:"dispute,omitempty"`
}

// Source gives the traces of a hive.
type Source interface {
	// Node returns a trace, or an error wrapping ErrNotFound. A removed
	// trace may be returned with Missing and RemovedIn set.
	Node(id schema.ID) (Node, error)
	// Children returns the traces that name id in their lineage.
	Children(id schema.ID) ([]schema.ID, error)
}

// Graph is the lineage of one trace: everything it descends from and
// everything that descends from it.
type Graph struct {
	Root        schema.ID          `json:"root"`
	Nodes       map[schema.ID]Node `json:"nodes"`
	Ancestors   []schema.ID        `json:"ancestors"`   // nearest first
	Descendants []schema.ID        `json:"descendants"` // nearest first
	Depth       map[schema.ID]int  `json:"depth"`       // generations from the root: parents -1, children +1
}

// Walk builds the graph of id from src.
func Walk(src Source, id schema.ID) (*Graph, error) {
	root, err := src.Node(id)
	if err != nil {
		return nil, err
	}
	g := &Graph{Root: id, Nodes: map[schema.ID]Node{id: root}, Ancestors: []schema.ID{}, Descendants: []schema.ID{}, Depth: map[schema.ID]int{id: 0}}
	// Ancestors, breadth first.
	queue := []schema.ID{id}
	for len(queue) > 0 {
		cur := g.Nodes[queue[0]]
		queue = queue[1:]
		for _, p := range cur.Parents {
			if _, ok := g.Nodes[p]; ok {
				continue
			}
			n, err := src.Node(p)
			if errors.Is(err, ErrNotFound) {
				n = Node{ID: p, Missing: true}
			} else if err != nil {
				return nil, fmt.Errorf("lineage of %s: %w", cur.ID, err)
			}
			g.Nodes[p] = n
			g.Depth[p] = g.Depth[cur.ID] - 1
			g.Ancestors = append(g.Ancestors, p)
			queue = append(queue, p)
		}
	}
	// Descendants, breadth first.
	queue = []schema.ID{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		kids, err := src.Children(cur)
		if err != nil {
			return nil, err
		}
		sort.Slice(kids, func(i, j int) bool { return kids[i] < kids[j] })
		for _, k := range kids {
			if _, ok := g.Nodes[k]; ok {
				continue
			}
			n, err := src.Node(k)
			if err != nil {
				return nil, fmt.Errorf("child %s of %s: %w", k, cur, err)
			}
			g.Nodes[k] = n
			g.Depth[k] = g.Depth[cur] + 1
			g.Descendants = append(g.Descendants, k)
			queue = append(queue, k)
		}
	}
	return g, nil
}
