package lineage

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/hive-dev/hive/schema"
)

// TestLayout: generations as columns (ancestors left, descendants right),
// boxes inside the drawing and apart, one edge per link between drawn
// nodes, a column over MaxPerColumn cut with the rest counted, and the
// same drawing every time.
func TestLayout(t *testing.T) {
	// g <- a <- r <- c0..c9, and b <- r.
	g, a, b, r := id('g'), id('a'), id('b'), id('r')
	src := mapSource{g: {ID: g}, a: {ID: a, Parents: []schema.ID{g}}, b: {ID: b}, r: {ID: r, Parents: []schema.ID{a, b}}}
	for i := range 10 {
		c := schema.Digest([]byte(fmt.Sprint("child", i)))
		src[c] = Node{ID: c, Parents: []schema.ID{r}}
	}
	gr, err := Walk(src, r)
	if err != nil {
		t.Fatal(err)
	}
	l := gr.Layout()
	depthOf := map[schema.ID]int{}
	cols := map[int][]Placed{}
	for _, n := range l.Nodes {
		depthOf[n.ID] = n.Depth
		cols[n.Depth] = append(cols[n.Depth], n)
		if n.X < 0 || n.Y < 0 || n.X+n.W > l.Width || n.Y+n.H > l.Height {
			t.Errorf("node %s at (%d,%d) is outside the %dx%d drawing", n.ID.Short(), n.X, n.Y, l.Width, l.Height)
		}
		if n.Root != (n.ID == r) {
			t.Errorf("node %s: Root = %v", n.ID.Short(), n.Root)
		}
	}
	if want := map[int]int{-2: 1, -1: 2, 0: 1, 1: MaxPerColumn}; len(cols) != len(want) {
		t.Fatalf("columns = %d, want %d", len(cols), len(want))
	} else {
		for d, n := range want {
			if len(cols[d]) != n {
				t.Errorf("generation %d has %d nodes, want %d", d, len(cols[d]), n)
			}
		}
	}
	if cols[-2][0].X >= cols[-1][0].X || cols[-1][0].X >= cols[0][0].X || cols[0][0].X >= cols[1][0].X {
		t.Error("columns are not ordered ancestors, root, descendants from left to right")
	}
	for d, col := range cols {
		for i := 1; i < len(col); i++ {
			if col[i].Y < col[i-1].Y+col[i-1].H {
				t.Errorf("generation %d: boxes %d and %d overlap", d, i-1, i)
			}
		}
	}
	if l.Hidden != 2 || len(l.More) != 1 || l.More[0].N != 2 {
		t.Errorf("Hidden = %d, More = %+v; want 2 children left out and counted", l.Hidden, l.More)
	}
	// Edges: g-a, a-r, b-r and one per drawn child.
	if len(l.Edges) != 3+MaxPerColumn {
		t.Errorf("%d edges, want %d", len(l.Edges), 3+MaxPerColumn)
	}
	for _, e := range l.Edges {
		if depthOf[e.From] >= depthOf[e.To] {
			t.Errorf("edge %s -> %s does not go from parent to child", e.From.Short(), e.To.Short())
		}
	}
	if again := gr.Layout(); !reflect.DeepEqual(l, again) {
		t.Error("two layouts of one graph differ")
	}
}
