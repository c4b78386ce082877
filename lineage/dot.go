package lineage

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hive-dev/hive/schema"
)

// Dot renders the graph in Graphviz's DOT language: one node a trace
// (labelled with its short id, author instance, the commit that introduced
// it and its intent), an edge from each parent to its child, the traces of
// each author grouped in a cluster, the root drawn bold, and traces named
// as parents but absent from the hive dashed. The output depends only on
// the graph: nodes and clusters are sorted.
func (g *Graph) Dot() string {
	var b strings.Builder
	b.WriteString("digraph lineage {\n")
	b.WriteString("\trankdir=TB;\n") // parents above their children
	b.WriteString("\tnode [shape=box, fontname=\"Helvetica\", fontsize=10];\n")
	ids := make([]schema.ID, 0, len(g.Nodes))
	for id := range g.Nodes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	byAuthor := map[string][]schema.ID{}
	var authors []string
	for _, id := range ids {
		n := g.Nodes[id]
		if n.Missing {
			continue
		}
		if _, ok := byAuthor[n.Instance]; !ok {
			authors = append(authors, n.Instance)
		}
		byAuthor[n.Instance] = append(byAuthor[n.Instance], id)
	}
	sort.Strings(authors)
	for i, a := range authors {
		fmt.Fprintf(&b, "\tsubgraph cluster_%d {\n\t\tlabel=%s;\n\t\tstyle=rounded;\n", i, dotQuote("instance "+a))
		for _, id := range byAuthor[a] {
			b.WriteString("\t\t" + g.dotNode(id) + "\n")
		}
		b.WriteString("\t}\n")
	}
	for _, id := range ids {
		if g.Nodes[id].Missing {
			b.WriteString("\t" + g.dotNode(id) + "\n")
		}
	}
	for _, id := range ids {
		for _, p := range g.Nodes[id].Parents {
			if _, ok := g.Nodes[p]; ok {
				fmt.Fprintf(&b, "\t%s -> %s;\n", dotQuote(string(p)), dotQuote(string(id)))
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

func (g *Graph) dotNode(id schema.ID) string {
	n := g.Nodes[id]
	label := id.Short()
	var attrs []string
	switch {
	case n.RemovedIn != "":
		label += "\n" + n.Instance + "\nremoved in commit " + n.RemovedIn[:min(12, len(n.RemovedIn))]
		attrs = append(attrs, "style=dashed", "color=red3", "fontcolor=red3")
	case n.Missing:
		label += "\nnot in this hive"
		attrs = append(attrs, "style=dashed", "color=gray50", "fontcolor=gray50")
	default:
		label += "\n" + n.Instance
		if n.Commit != "" {
			label += "\ncommit " + n.Commit[:min(12, len(n.Commit))]
		}
		intent := []rune(n.Intent)
		if len(intent) > 40 {
			intent = append(intent[:40], '…')
		}
		label += "\n" + string(intent)
	}
	if id == g.Root {
		attrs = append(attrs, "penwidth=2", "style=bold")
	}
	return fmt.Sprintf("%s [label=%s%s];", dotQuote(string(id)), dotQuote(label), prefixJoin(attrs))
}

func prefixJoin(attrs []string) string {
	if len(attrs) == 0 {
		return ""
	}
	return ", " + strings.Join(attrs, ", ")
}

// dotQuote makes a DOT double-quoted string: backslashes and quotes
// escaped, newlines as \n (a centred line break in a label).
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")
	return `"` + r.Replace(s) + `"`
}
