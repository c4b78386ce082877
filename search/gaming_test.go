package search

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// attacker is a trace that games the search, with a body about nothing
// (other words than the copiers the calibration is fitted beside).
func attacker(i int, intent string) *schema.Trace {
	return bodiless(fmt.Sprintf("mallory_%d", i), intent, "do_it", "Did it.", "pass\n")
}

// TestGaming: beside the labelled set's honest skills, 14 traces whose
// intents are stuffed with the corpus's commonest words, 6 that repeat one
// word, and, for each dev query, a trace whose intent copies the query
// word for word over a body about nothing. For the dev queries whose
// honest skill ranks first without them: no stuffed intent ranks first,
// the honest skill stays first for at least 80% (the query-copying trace
// wins the rest: an intent that is the query word for word is strong
// evidence, a body about nothing only weighs against it), and attackers
// resolve at most 1%. (The calibration is fitted beside copiers of another
// body; see TestFitCalibration.)
func TestGaming(t *testing.T) {
	l := labelledSet(t)
	honest, ids := labelledIndex(t, &defaultParams)

	// The commonest words of the intents, as an attacker would pick them.
	df := map[string]int{}
	for _, s := range l.Skills {
		seen := map[string]bool{}
		eachWord(s.Trace.Intent, func(w string) {
			if term(w) != "" && !seen[w] {
				seen[w] = true
				df[w]++
			}
		})
	}
	words := make([]string, 0, len(df))
	for w := range df {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		return df[words[i]] > df[words[j]] || df[words[i]] == df[words[j]] && words[i] < words[j]
	})
	var attackers []*schema.Trace
	for i := range 14 {
		n := 40 + 10*i // 40 to 170 common words
		attackers = append(attackers, attacker(len(attackers), strings.Join(words[:min(n, len(words))], " ")))
	}
	for i := range 6 {
		attackers = append(attackers, attacker(len(attackers), strings.Repeat(words[i]+" ", 60)))
	}
	stuffed := len(attackers)
	for _, q := range l.Dev.Queries {
		attackers = append(attackers, attacker(len(attackers), q.Text))
	}
	mallory := map[schema.ID]bool{}
	for _, a := range attackers {
		mallory[schema.Digest(mustMarshal(a))] = true
	}
	ix := newIndex(plumbing.ZeroHash)
	var all []*schema.Trace
	for _, s := range l.Skills {
		all = append(all, s.Trace)
	}
	ix.addTraces(append(all, attackers...)...)

	var base, kept, resolvedBefore, resolvedAfter, stolen, stuffedWins int
	for _, q := range l.Dev.Queries {
		before := honest.Search(Query{Text: q.Text, Limit: 1})
		if len(before) == 0 || before[0].ID != ids[q.Key] {
			continue
		}
		base++
		if before[0].Score >= DefaultThreshold {
			resolvedBefore++
		}
		after := ix.Search(Query{Text: q.Text, Limit: 1})
		switch {
		case len(after) > 0 && after[0].ID == ids[q.Key]:
			kept++
			if after[0].Score >= DefaultThreshold {
				resolvedAfter++
			}
		case len(after) > 0 && mallory[after[0].ID]:
			if after[0].Score >= DefaultThreshold {
				stolen++
			}
			for _, a := range attackers[:stuffed] {
				if after[0].ID == schema.Digest(mustMarshal(a)) {
					stuffedWins++
				}
			}
			if testing.Verbose() && after[0].Score >= DefaultThreshold {
				t.Logf("%q: %s (%.2f) outranks %q", q.Text, schema.Quote(after[0].Intent, 60), after[0].Score, before[0].Intent)
			}
		}
	}
	t.Logf("honest skill first for %d of %d dev queries; with %d attackers beside it still first for %d, resolved %d (before %d); attackers resolve %d, stuffed ones rank first for %d",
		base, len(l.Dev.Queries), len(attackers), kept, resolvedAfter, resolvedBefore, stolen, stuffedWins)
	if stuffedWins > 0 {
		t.Errorf("stuffed or repeating intents rank first for %d queries, want none", stuffedWins)
	}
	if float64(kept) < 0.8*float64(base) {
		t.Errorf("the honest skill stays first for %d of %d queries beside query-copying traces, want at least 80%%", kept, base)
	}
	if float64(stolen) > 0.01*float64(base) {
		t.Errorf("attackers resolve %d of %d queries, want at most 1%%", stolen, base)
	}
}
