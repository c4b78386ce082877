package search

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/schema"
)

// attacker is a trace that games the search with its intent, over a body
// about nothing.
func attacker(name, intent string) *schema.Trace {
	return bodiless("mallory_"+name, intent, "do_it", "Did it.", "pass\n")
}

// borrower is a trace whose intent games the search over the body (steps
// and result) of an honest skill about something else.
func borrower(name, intent string, body *schema.Trace) *schema.Trace {
	t := bodiless("mallory_"+name, intent, "", "", body.Result)
	t.ReasoningPath = body.ReasoningPath
	t.Tags = body.Tags
	return t
}

// commonWords are the words of the set's intents, commonest first, as an
// attacker would pick them.
func commonWords(l *fixtures.Labelled) []string {
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
	return words
}

// TestGaming: for every dev query whose honest skill ranks first among the
// labelled set's skills, the same hive with attackers aimed at that query
// beside it (14 intents stuffed with the set's 40 to 170 commonest words, 6
// that repeat one word 60 times, and four that copy the query: word for
// word over a body about nothing, five times over, with the commonest words
// added, and word for word over the body of an honest skill of another
// domain): the honest skill still ranks first, and no attacker resolves.
// Then all the dev queries' copiers at once (a hive flooded with them, so
// that their words are no longer rare): no attacker ranks first.
func TestGaming(t *testing.T) {
	l := labelledSet(t)
	honest, ids := labelledIndex(t, &defaultParams)
	words := commonWords(l)
	var stuffed []*schema.Trace
	for i := range 14 {
		n := 40 + 10*i // 40 to 170 common words
		stuffed = append(stuffed, attacker(fmt.Sprint("stuffed", i), strings.Join(words[:min(n, len(words))], " ")))
	}
	for i := range 6 {
		stuffed = append(stuffed, attacker(fmt.Sprint("repeat", i), strings.Repeat(words[i]+" ", 60)))
	}
	var skills []*schema.Trace
	domain := map[string]string{}
	for _, s := range l.Skills {
		skills = append(skills, s.Trace)
		domain[s.Key] = s.Domain
	}
	// other is an honest skill of another domain than key's that shares
	// no word with query, for a borrower's body; near is one of another
	// domain that shares some (the first found from a place that varies
	// with i), or nil.
	terms := func(t *schema.Trace) map[string]bool {
		out := map[string]bool{}
		for _, w := range Tokens(allFields(t)) {
			out[w] = true
		}
		return out
	}
	bodies := make([]map[string]bool, len(l.Skills))
	for k, s := range l.Skills {
		bodies[k] = terms(&schema.Trace{ReasoningPath: s.Trace.ReasoningPath, Result: s.Trace.Result, Tags: s.Trace.Tags})
	}
	pick := func(i int, key, query string, sharing bool) *schema.Trace {
		_, qt := queryWords(query)
		for k := range l.Skills {
			j := (i*7 + k) % len(l.Skills)
			if l.Skills[j].Domain == domain[key] {
				continue
			}
			shares := false
			for _, w := range qt {
				shares = shares || bodies[j][w]
			}
			if shares == sharing {
				return l.Skills[j].Trace
			}
		}
		return nil
	}
	isAttacker := func(r Result) bool { return strings.HasPrefix(r.InstanceID, "mallory_") }

	var tried, base, kept, resolved, stolen int
	var copiers []*schema.Trace
	every := 1 // an index of the set and its attackers per query: -short aims at a quarter of them
	if testing.Short() {
		every = 4
	}
	for i, q := range l.Dev.Queries {
		if i%every != 0 {
			continue
		}
		tried++
		before := honest.Search(Query{Text: q.Text, Limit: 1})
		if len(before) == 0 || before[0].ID != ids[q.Key] {
			continue
		}
		base++
		aimed := []*schema.Trace{
			attacker(fmt.Sprint("copy", i), q.Text),
			attacker(fmt.Sprint("repeat-copy", i), strings.Repeat(q.Text+" ", 5)),
			attacker(fmt.Sprint("stuffed-copy", i), q.Text+" "+strings.Join(words[:40], " ")),
		}
		if body := pick(i, q.Key, q.Text, false); body != nil {
			aimed = append(aimed, borrower(fmt.Sprint("borrow", i), q.Text, body))
		}
		copiers = append(copiers, aimed[0])
		ix := newIndex(plumbing.ZeroHash)
		ix.addTraces(append(append(append([]*schema.Trace{}, skills...), stuffed...), aimed...)...)
		after := ix.Search(Query{Text: q.Text, Limit: 3})
		if len(after) > 0 && after[0].ID == ids[q.Key] {
			kept++
		} else {
			t.Errorf("%q: %s %s (%.2f) outranks the honest skill %q", q.Text, after[0].InstanceID, schema.Quote(after[0].Intent, 60), after[0].Score, before[0].Intent)
		}
		for _, r := range after {
			if isAttacker(r) && r.Score >= DefaultThreshold {
				stolen++
				t.Errorf("%q: attacker %s %s resolves (%.2f)", q.Text, r.InstanceID, schema.Quote(r.Intent, 60), r.Score)
				for _, e := range ix.Explain(Query{Text: q.Text, Limit: 1}) {
					t.Logf("  %v coh %v", e.Features, ix.docs[ix.byID[e.ID]].coh)
					for _, w := range e.Words {
						t.Logf("   %s %.2f %+v", w.Word, w.Weight, w.Matches)
					}
				}
			}
		}
		if len(after) > 0 && after[0].ID == ids[q.Key] && after[0].Score >= DefaultThreshold {
			resolved++
		}
	}
	t.Logf("honest skill first for %d of %d dev queries; with attackers aimed at each beside it, still first for %d (resolved %d); attackers resolve %d",
		base, tried, kept, resolved, stolen)

	// The flood: every copier at once.
	ix := newIndex(plumbing.ZeroHash)
	ix.addTraces(append(append(append([]*schema.Trace{}, skills...), stuffed...), copiers...)...)
	first, honestFirst, was := 0, 0, 0
	for _, q := range l.Dev.Queries {
		before := honest.Search(Query{Text: q.Text, Limit: 1})
		if len(before) == 0 || before[0].ID != ids[q.Key] {
			continue
		}
		was++
		after := ix.Search(Query{Text: q.Text, Limit: 1})
		switch {
		case len(after) > 0 && isAttacker(after[0]):
			first++
			t.Errorf("flooded: %q: %s (%.2f) ranks first", q.Text, schema.Quote(after[0].Intent, 60), after[0].Score)
		case len(after) > 0 && after[0].ID == ids[q.Key]:
			honestFirst++
		}
	}
	t.Logf("flooded with %d copiers: attackers first for %d queries; the honest skill still first for %d of %d (the others lose to honest skills, as the copiers make the queries' words common)",
		len(copiers), first, honestFirst, was)
}

// bodiless is a valid trace of instance whose one step and result say
// nothing of its intent.
func bodiless(instance, intent, action, detail, result string) *schema.Trace {
	return &schema.Trace{
		Intent:            intent,
		ReasoningPath:     []schema.Step{{Step: 1, Action: action, Detail: detail}},
		Result:            result,
		Confidence:        1,
		VerificationScore: 1,
		Lineage:           []schema.ID{},
		CreatedAt:         "2025-01-01T00:00:00Z",
		InstanceID:        instance,
	}
}

// concise is an honest skill whose body bears out none of its intent's
// words, as concise traces in the wild do, with the queries that must find
// it: its own intent and light rewordings.
type concise struct {
	t       *schema.Trace
	queries []string
}

func conciseSkills() []concise {
	mk := func(intent string, steps []string, result string) *schema.Trace {
		t := bodiless("honest_concise", intent, "", "", result)
		t.ReasoningPath = nil
		for i, s := range steps {
			t.ReasoningPath = append(t.ReasoningPath, schema.Step{Step: i + 1, Action: s})
		}
		t.Confidence, t.VerificationScore = 0.95, 0.97
		return t
	}
	return []concise{
		{mk("Find the largest files in a directory", []string{"list sizes with du", "sort numerically in reverse and keep the top"}, "du -ah . | sort -rh | head -20"),
			[]string{"find the largest files in a directory", "largest", "largest files", "files in a directory", "find files", "find the biggest files in this directory"}},
		{mk("Deploy the web app", []string{"run it"}, "echo hi"),
			[]string{"Deploy the web app", "deploy", "deploy my web application"}},
		{mk("Count lines of code in a repository", []string{"run cloc over the tree"}, "cloc --vcs=git"),
			[]string{"Count lines of code in a repository", "count the lines of code in a repo"}},
		{mk("Reclaim space taken by unused images", []string{"prune dangling layers and stopped containers"}, "docker system prune -af"),
			[]string{"Reclaim space taken by unused images", "reclaim the space unused images take"}},
	}
}

// TestConciseSkills: a skill whose body bears out none of its intent's
// words (coherence 0) is found by its intent and by light rewordings, first,
// alone in a fresh hive (the newcomer's case), and beside attackers: the
// stuffed intents of TestGaming, a copier of every dev query, and its own
// intent repeated five times or padded with the 40 commonest words, over a
// body about nothing. No attacker resolves. (A copy of its intent word for
// word over a body about nothing is as good as it: nothing tells them apart
// but their bodies, which bear out neither; docs/search.md.)
func TestConciseSkills(t *testing.T) {
	l := labelledSet(t)
	words := commonWords(l)
	cs := conciseSkills()
	check := func(ix *Index, c concise, where string) {
		t.Helper()
		id := schema.Digest(mustMarshal(c.t))
		if coh := ix.docs[ix.byID[id]].coh; coh != 0 {
			t.Fatalf("%q: coherence %v, want 0 (the test is of skills whose bodies bear out none of their intent)", c.t.Intent, coh)
		}
		for _, q := range c.queries {
			rs := ix.Search(Query{Text: q, Limit: 5})
			switch {
			case len(rs) == 0:
				t.Errorf("%s: %q: nothing found, want %q first", where, q, c.t.Intent)
			case rs[0].ID != id:
				t.Errorf("%s: %q: %s %q (%.3f) first, want %q", where, q, rs[0].InstanceID, rs[0].Intent, rs[0].Score, c.t.Intent)
			}
			for _, r := range rs {
				if strings.HasPrefix(r.InstanceID, "mallory_") && r.Score >= DefaultThreshold {
					t.Errorf("%s: %q: attacker %q resolves (%.2f)", where, q, schema.Quote(r.Intent, 60), r.Score)
				}
			}
		}
	}
	for _, c := range cs {
		ix := newIndex(plumbing.ZeroHash)
		ix.addTraces(c.t)
		check(ix, c, "alone")
	}
	var ts []*schema.Trace
	for i := range 14 {
		ts = append(ts, attacker(fmt.Sprint("stuffed", i), strings.Join(words[:min(40+10*i, len(words))], " ")))
	}
	for i := range 6 {
		ts = append(ts, attacker(fmt.Sprint("repeat", i), strings.Repeat(words[i]+" ", 60)))
	}
	for i, q := range l.Dev.Queries {
		ts = append(ts, attacker(fmt.Sprint("copy", i), q.Text))
	}
	for i, c := range cs {
		ts = append(ts, c.t,
			attacker(fmt.Sprint("repeat-intent", i), strings.Repeat(c.t.Intent+" ", 5)),
			attacker(fmt.Sprint("stuffed-intent", i), c.t.Intent+" "+strings.Join(words[:40], " ")))
	}
	ix := newIndex(plumbing.ZeroHash)
	ix.addTraces(ts...)
	for _, c := range cs {
		check(ix, c, "beside attackers")
	}
}
