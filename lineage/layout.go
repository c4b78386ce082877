package lineage

import (
	"fmt"
	"sort"

	"github.com/hive-dev/hive/schema"
)

// Layout is a drawing of a Graph for an SVG: one column per generation,
// ancestors on the left, the root in the middle, descendants on the right,
// with at most MaxPerColumn nodes a column and MaxGenerations generations
// each way; what is left out is counted, never silently dropped.
type Layout struct {
	Width, Height int
	Nodes         []Placed
	Edges         []Edge
	More          []More // "+N more" marks of columns that were cut
	Hidden        int    // nodes of the graph left out of the drawing
}

// Placed is a node of the drawing: the trace, its box, and its generation.
type Placed struct {
	Node
	X, Y, W, H int
	Depth      int  // generations from the root: parents -1, children +1
	Root       bool // the trace the graph is about
}

// Edge is a lineage link drawn from a parent's box to a child's: Path is
// SVG path data.
type Edge struct {
	From, To schema.ID
	Path     string
}

// More marks the nodes of a column left out of the drawing.
type More struct {
	X, Y, N int
}

// Sizes of the drawing, in SVG user units.
const (
	MaxPerColumn   = 8
	MaxGenerations = 6
	boxW, boxH     = 220, 46
	gapX, gapY     = 56, 12
	pad            = 8
	moreH          = 20
)

// Layout places g's nodes: generations as columns, each column ordered to
// keep a node near the nodes it links to in the column nearer the root
// (its barycentre), then by id, so the same graph is always drawn the same.
func (g *Graph) Layout() *Layout {
	cols := map[int][]schema.ID{}
	minD, maxD := 0, 0
	for id, d := range g.Depth {
		if d < -MaxGenerations || d > MaxGenerations {
			continue
		}
		cols[d] = append(cols[d], id)
		minD, maxD = min(minD, d), max(maxD, d)
	}
	l := &Layout{}
	for _, d := range g.Depth {
		if d < -MaxGenerations || d > MaxGenerations {
			l.Hidden++
		}
	}
	// Neighbours: lineage links in either direction.
	nb := map[schema.ID][]schema.ID{}
	for id, n := range g.Nodes {
		for _, p := range n.Parents {
			if _, ok := g.Nodes[p]; ok {
				nb[id] = append(nb[id], p)
				nb[p] = append(nb[p], id)
			}
		}
	}
	row := map[schema.ID]float64{g.Root: 0}
	place := func(d int) {
		ids := cols[d]
		key := map[schema.ID]float64{}
		for _, id := range ids {
			sum, n := 0.0, 0
			for _, o := range nb[id] {
				if r, ok := row[o]; ok {
					sum += r
					n++
				}
			}
			if n > 0 {
				key[id] = sum / float64(n)
			} else {
				key[id] = 1e9
			}
		}
		sort.Slice(ids, func(i, j int) bool {
			if key[ids[i]] != key[ids[j]] {
				return key[ids[i]] < key[ids[j]]
			}
			return ids[i] < ids[j]
		})
		if len(ids) > MaxPerColumn {
			l.Hidden += len(ids) - MaxPerColumn
			ids = ids[:MaxPerColumn]
		}
		cols[d] = ids
		for i, id := range ids {
			row[id] = float64(i)
		}
	}
	for d := -1; d >= minD; d-- {
		place(d)
	}
	for d := 1; d <= maxD; d++ {
		place(d)
	}
	// Boxes: columns left to right, each column centred vertically.
	cut := map[int]int{}
	for id, d := range g.Depth {
		if _, shown := row[id]; !shown && d >= -MaxGenerations && d <= MaxGenerations {
			cut[d]++
		}
	}
	height := func(d int) int {
		h := len(cols[d])*(boxH+gapY) - gapY
		if cut[d] > 0 {
			h += moreH
		}
		return h
	}
	tallest := 0
	for d := minD; d <= maxD; d++ {
		tallest = max(tallest, height(d))
	}
	pos := map[schema.ID]*Placed{}
	for d := minD; d <= maxD; d++ {
		x := pad + (d-minD)*(boxW+gapX)
		y0 := pad + (tallest-height(d))/2
		for i, id := range cols[d] {
			l.Nodes = append(l.Nodes, Placed{Node: g.Nodes[id], X: x, Y: y0 + i*(boxH+gapY), W: boxW, H: boxH, Depth: d, Root: id == g.Root})
		}
		if cut[d] > 0 {
			l.More = append(l.More, More{X: x, Y: y0 + height(d) - 4, N: cut[d]})
		}
	}
	for i := range l.Nodes {
		pos[l.Nodes[i].ID] = &l.Nodes[i]
	}
	l.Width = 2*pad + (maxD-minD+1)*(boxW+gapX) - gapX
	l.Height = 2*pad + tallest
	// Edges, parent to child, in a stable order.
	for _, n := range l.Nodes {
		for _, p := range n.Parents {
			from, ok := pos[p]
			if !ok {
				continue
			}
			x1, y1 := from.X+from.W, from.Y+from.H/2
			x2, y2 := n.X, n.Y+n.H/2
			mx := (x1 + x2) / 2
			l.Edges = append(l.Edges, Edge{From: p, To: n.ID, Path: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, mx, y1, mx, y2, x2, y2)})
		}
	}
	return l
}
