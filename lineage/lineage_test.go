package lineage

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hive-dev/hive/schema"
)

// mapSource is a Source over a fixed set of nodes.
type mapSource map[schema.ID]Node

func (m mapSource) Node(id schema.ID) (Node, error) {
	n, ok := m[id]
	if !ok {
		return Node{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return n, nil
}

func (m mapSource) Children(id schema.ID) ([]schema.ID, error) {
	var out []schema.ID
	for _, n := range m {
		if slices.Contains(n.Parents, id) {
			out = append(out, n.ID)
		}
	}
	return out, nil
}

func id(c byte) schema.ID { return schema.Digest([]byte{c}) }

func TestWalk(t *testing.T) {
	// a <- b <- d, a <- c <- d, and b names a parent the hive lacks (x).
	a, b, c, d, x := id('a'), id('b'), id('c'), id('d'), id('x')
	src := mapSource{
		a: {ID: a},
		b: {ID: b, Parents: []schema.ID{a, x}},
		c: {ID: c, Parents: []schema.ID{a}},
		d: {ID: d, Parents: []schema.ID{b, c}},
	}
	tests := []struct {
		root        schema.ID
		ancestors   []schema.ID
		descendants []schema.ID
		depth       map[schema.ID]int
	}{
		{a, []schema.ID{}, sorted(b, c, d), map[schema.ID]int{a: 0, b: 1, c: 1, d: 2}},
		{d, []schema.ID{b, c, a, x}, []schema.ID{}, map[schema.ID]int{d: 0, b: -1, c: -1, a: -2, x: -2}},
		{b, []schema.ID{a, x}, []schema.ID{d}, map[schema.ID]int{b: 0, a: -1, x: -1, d: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.root.Short(), func(t *testing.T) {
			g, err := Walk(src, tt.root)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.Ancestors, tt.ancestors) {
				t.Errorf("Walk(%s).Ancestors = %v, want %v", tt.root.Short(), g.Ancestors, tt.ancestors)
			}
			if !slices.Equal(sorted(g.Descendants...), sorted(tt.descendants...)) {
				t.Errorf("Walk(%s).Descendants = %v, want %v", tt.root.Short(), g.Descendants, tt.descendants)
			}
			for n, want := range tt.depth {
				if got := g.Depth[n]; got != want {
					t.Errorf("Walk(%s).Depth[%s] = %d, want %d", tt.root.Short(), n.Short(), got, want)
				}
			}
		})
	}
	if g, _ := Walk(src, d); !g.Nodes[x].Missing || g.Nodes[a].Missing {
		t.Errorf("Walk(d): a parent absent from the source must be marked missing, and only it")
	}
	if _, err := Walk(src, id('z')); !errors.Is(err, ErrNotFound) {
		t.Errorf("Walk(unknown) = %v, want ErrNotFound", err)
	}
}

func sorted(ids ...schema.ID) []schema.ID {
	out := append([]schema.ID{}, ids...)
	slices.Sort(out)
	return out
}
