package lineage

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/hive-dev/hive/schema"
)

// Line is one line of a trace diff: Op is ' ' (in both), '-' (only in
// the first trace) or '+' (only in the second).
type Line struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// Section is the diff of one part of two traces.
type Section struct {
	Name  string `json:"name"` // intent, reasoning_path, result, fields
	Lines []Line `json:"lines"`
}

// TraceDiff is a line diff of two traces, part by part; parts that are the
// same are left out.
type TraceDiff struct {
	A        schema.ID `json:"a"`
	B        schema.ID `json:"b"`
	Same     bool      `json:"same"`
	Sections []Section `json:"sections"`
}

// Diff compares two traces: their intents, reasoning paths (one line a
// step, its detail indented below), results, and other fields, each as a
// line diff (go-diff's line mode).
func Diff(aID schema.ID, a *schema.Trace, bID schema.ID, b *schema.Trace) *TraceDiff {
	d := &TraceDiff{A: aID, B: bID, Same: true, Sections: []Section{}}
	for _, part := range []struct {
		name string
		text func(*schema.Trace) string
	}{
		{"intent", func(t *schema.Trace) string { return t.Intent }},
		{"reasoning_path", stepsText},
		{"result", func(t *schema.Trace) string { return t.Result }},
		{"fields", fieldsText},
	} {
		x, y := part.text(a), part.text(b)
		if x == y {
			continue
		}
		d.Same = false
		d.Sections = append(d.Sections, Section{Name: part.name, Lines: lineDiff(x, y)})
	}
	return d
}

func stepsText(t *schema.Trace) string {
	var b strings.Builder
	for _, st := range t.ReasoningPath {
		fmt.Fprintf(&b, "%d. %s\n", st.Step, st.Action)
		if st.Detail != "" {
			for _, l := range strings.Split(st.Detail, "\n") {
				b.WriteString("   " + l + "\n")
			}
		}
	}
	return b.String()
}

func fieldsText(t *schema.Trace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "instance_id: %s\n", t.InstanceID)
	fmt.Fprintf(&b, "confidence: %s\n", strconv.FormatFloat(t.Confidence, 'g', -1, 64))
	fmt.Fprintf(&b, "verification_score: %s\n", strconv.FormatFloat(t.VerificationScore, 'g', -1, 64))
	fmt.Fprintf(&b, "created_at: %s\n", t.CreatedAt)
	for _, p := range t.Lineage {
		fmt.Fprintf(&b, "lineage: %s\n", p)
	}
	for _, tag := range t.Tags {
		fmt.Fprintf(&b, "tag: %s\n", tag)
	}
	return b.String()
}

// lineDiff diffs two texts line by line.
func lineDiff(x, y string) []Line {
	dmp := diffmatchpatch.New()
	cx, cy, lines := dmp.DiffLinesToChars(terminated(x), terminated(y))
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(cx, cy, false), lines)
	var out []Line
	for _, df := range diffs {
		op := " "
		switch df.Type {
		case diffmatchpatch.DiffDelete:
			op = "-"
		case diffmatchpatch.DiffInsert:
			op = "+"
		}
		for _, l := range strings.SplitAfter(df.Text, "\n") {
			if l != "" {
				out = append(out, Line{Op: op, Text: strings.TrimSuffix(l, "\n")})
			}
		}
	}
	return out
}

// terminated ends text with a newline, so that a last line that changed is
// not glued to the one after it.
func terminated(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// Context is how many unchanged lines Format shows around a change.
const Context = 3

// Format writes the diff as text: a header naming both traces, then each
// section that differs, its changed lines with Context lines around them.
func (d *TraceDiff) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", d.A, d.B)
	for _, s := range d.Sections {
		fmt.Fprintf(&b, "@@ %s @@\n", s.Name)
		show := make([]bool, len(s.Lines))
		for i, l := range s.Lines {
			if l.Op == " " {
				continue
			}
			for k := max(0, i-Context); k <= min(len(s.Lines)-1, i+Context); k++ {
				show[k] = true
			}
		}
		skipped := false
		for i, l := range s.Lines {
			if !show[i] {
				if !skipped {
					b.WriteString(" …\n")
				}
				skipped = true
				continue
			}
			skipped = false
			b.WriteString(l.Op + l.Text + "\n")
		}
	}
	return b.String()
}
