package schema

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRulesDocumented checks that the two tables of rule codes in
// docs/format.md §7.6 list exactly ValidatorRules and TraceRules, in order.
func TestRulesDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/format.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### 7.6 Rule codes")
	end := strings.Index(doc[start+1:], "\n### ")
	if start < 0 || end < 0 {
		t.Fatal("docs/format.md has no §7.6 Rule codes")
	}
	row := regexp.MustCompile("^\\| `([a-z0-9-]+)` \\|")
	var tables [][]Rule
	inTable := false
	for _, line := range strings.Split(doc[start:start+1+end], "\n") {
		m := row.FindStringSubmatch(line)
		switch {
		case m != nil && !inTable:
			tables = append(tables, []Rule{Rule(m[1])})
			inTable = true
		case m != nil:
			tables[len(tables)-1] = append(tables[len(tables)-1], Rule(m[1]))
		case !strings.HasPrefix(line, "|"):
			inTable = false
		}
	}
	if len(tables) != 2 {
		t.Fatalf("docs/format.md §7.6 has %d tables of rules, want 2 (the validator's, the trace's)", len(tables))
	}
	for i, want := range [][]Rule{ValidatorRules, TraceRules} {
		if !slices.Equal(tables[i], want) {
			t.Errorf("docs/format.md §7.6 table %d lists\n%v\nthe code has\n%v", i+1, tables[i], want)
		}
	}
	seen := map[Rule]bool{}
	for _, r := range append(slices.Clone(ValidatorRules), TraceRules...) {
		if seen[r] {
			t.Errorf("rule %s is listed twice", r)
		}
		seen[r] = true
	}
}
