package search

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/schema"
)

// The quality measurements on the labelled set (fixtures/searchset): every
// skill of both splits is indexed, as a hive would hold them; each query
// of a split should rank its own skill first (recall@1) or in the top five
// (recall@5) and resolve to it (first, and scoring DefaultThreshold or
// more); each negative should resolve to nothing (false match otherwise).
//
// Only the dev split is tuned on. The test split is measured when
// HIVE_SEARCH_REPORT=1 (for docs/search.md) and by TestSearchQuality's
// floors; see docs/search.md for how often it was run.

var (
	labelledOnce sync.Once
	labelled     *fixtures.Labelled
	labelledErr  error
)

func labelledSet(t testing.TB) *fixtures.Labelled {
	labelledOnce.Do(func() { labelled, labelledErr = fixtures.LabelledSet() })
	if labelledErr != nil {
		t.Fatal(labelledErr)
	}
	return labelled
}

// labelledIndex indexes every skill of the set in memory with parameters p,
// and returns the id of each skill by key.
func labelledIndex(t testing.TB, p *params) (*Index, map[string]schema.ID) {
	l := labelledSet(t)
	ix := newIndex(plumbing.ZeroHash)
	ix.p = p
	ids := map[string]schema.ID{}
	var ts []*schema.Trace
	for _, s := range l.Skills {
		ids[s.Key] = schema.Digest(mustMarshal(s.Trace))
		ts = append(ts, s.Trace)
	}
	ix.addTraces(ts...)
	return ix, ids
}

// figures are the measures of one split.
type figures struct {
	queries, hard, negatives int
	at1, at5, hardAt1        int
	resolved, wrong          int // positives resolved to their skill / to another
	falseMatches             int
	byKind                   map[string][2]int // kind -> at1, n
}

func (f figures) r1() float64      { return ratio(f.at1, f.queries) }
func (f figures) r5() float64      { return ratio(f.at5, f.queries) }
func (f figures) hardR1() float64  { return ratio(f.hardAt1, f.hard) }
func (f figures) resolve() float64 { return ratio(f.resolved, f.queries) }
func (f figures) wrongs() float64  { return ratio(f.wrong, f.queries) }
func (f figures) fmRate() float64  { return ratio(f.falseMatches, f.negatives) }
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (f figures) String() string {
	return fmt.Sprintf("r@1 %.3f (hard %.3f)  r@5 %.3f  resolve %.3f (wrong %.3f)  false %.3f",
		f.r1(), f.hardR1(), f.r5(), f.resolve(), f.wrongs(), f.fmRate())
}

// rankFunc ranks the skills for a query: ids best first, and the score of
// the first (NaN when the rankFunc has no calibrated score).
type rankFunc func(query string) (ids []schema.ID, top float64)

func indexRanker(ix *Index) rankFunc {
	return func(q string) ([]schema.ID, float64) {
		ms, _ := ix.rank(q, ix.p.candidates, nil)
		var ids []schema.ID
		for _, m := range ms {
			ids = append(ids, ix.docs[m.doc].id)
		}
		if len(ms) == 0 {
			return nil, 0
		}
		return ids, ms[0].score
	}
}

func measure(sp fixtures.Split, ids map[string]schema.ID, rank rankFunc, logf func(string, ...any)) figures {
	f := figures{byKind: map[string][2]int{}}
	for _, q := range sp.Queries {
		want := ids[q.Key]
		got, top := rank(q.Text)
		f.queries++
		k := f.byKind[q.Kind]
		k[1]++
		if q.Kind == "h" {
			f.hard++
		}
		for r, id := range got {
			if r >= 5 {
				break
			}
			if id == want {
				if r == 0 {
					f.at1++
					k[0]++
					if q.Kind == "h" {
						f.hardAt1++
					}
				}
				f.at5++
			}
		}
		f.byKind[q.Kind] = k
		if len(got) > 0 && top >= DefaultThreshold {
			if got[0] == want {
				f.resolved++
			} else {
				f.wrong++
			}
		}
		if logf != nil && (len(got) == 0 || got[0] != want) {
			logf("miss %s [%s] %q", q.Key, q.Kind, q.Text)
		}
	}
	for _, n := range sp.Negatives {
		f.negatives++
		if got, top := rank(n.Text); len(got) > 0 && top >= DefaultThreshold {
			f.falseMatches++
			if logf != nil {
				logf("false match %.2f %q", top, n.Text)
			}
		}
	}
	return f
}

// TestSearchQuality holds the search above floors on both splits of the
// labelled set (measured on the final version; see docs/search.md) and on
// the old 100-skill set, so that a regression fails.
func TestSearchQuality(t *testing.T) {
	l := labelledSet(t)
	ix, ids := labelledIndex(t, &defaultParams)
	report := os.Getenv("HIVE_SEARCH_REPORT") == "1"
	var logf func(string, ...any)
	if os.Getenv("HIVE_SEARCH_MISSES") == "1" {
		logf = t.Logf
	}
	dev := measure(l.Dev, ids, indexRanker(ix), logf)
	t.Logf("dev:  %s", dev)
	checkFloors(t, "dev", dev, devFloors)
	if report || !testing.Short() {
		test := measure(l.Test, ids, indexRanker(ix), nil)
		if report {
			t.Logf("test: %s", test)
		}
		checkFloors(t, "test", test, testFloors)
	}
}

// floors are the least figures a split must keep.
type floors struct{ r1, hard, r5, resolve, falseMax float64 }

// The floors sit a little under the figures measured on the third version
// (docs/search.md): dev r@1 0.754 (hard 0.365), r@5 0.846, resolved 0.581,
// false 0.025; test r@1 0.737 (hard 0.449), r@5 0.865, resolved 0.543,
// false 0.063. With the vectors from 72 packages, dev r@1 0.754 (hard
// 0.372), r@5 0.844, resolved 0.581, false 0.025; test not run yet.
var (
	devFloors  = floors{r1: 0.73, hard: 0.34, r5: 0.82, resolve: 0.56, falseMax: 0.03}
	testFloors = floors{r1: 0.72, hard: 0.42, r5: 0.84, resolve: 0.52, falseMax: 0.07}
)

func checkFloors(t *testing.T, name string, f figures, fl floors) {
	t.Helper()
	for _, c := range []struct {
		what      string
		got, want float64
		max       bool
	}{
		{"recall@1", f.r1(), fl.r1, false},
		{"recall@1 of hard queries", f.hardR1(), fl.hard, false},
		{"recall@5", f.r5(), fl.r5, false},
		{"resolved right", f.resolve(), fl.resolve, false},
		{"false matches", f.fmRate(), fl.falseMax, true},
	} {
		if c.max && c.want > 0 && c.got > c.want || !c.max && c.got < c.want {
			t.Errorf("%s split: %s = %.3f, want %s %.3f", name, c.what, c.got, map[bool]string{false: "at least", true: "at most"}[c.max], c.want)
		}
	}
}

// plainBM25 ranks by BM25 (k1 1.2, b 0.75) over the given fields' text run
// together, with the same analysis and nothing else: the baseline.
func plainBM25(l *fixtures.Labelled, fields func(t *schema.Trace) string) rankFunc {
	type d struct {
		id  schema.ID
		tf  map[string]int
		len int
	}
	var docs []d
	df := map[string]int{}
	total := 0
	for _, s := range l.Skills {
		x := d{id: schema.Digest(mustMarshal(s.Trace)), tf: map[string]int{}}
		for _, w := range Tokens(fields(s.Trace)) {
			if x.tf[w] == 0 {
				df[w]++
			}
			x.tf[w]++
			x.len++
		}
		total += x.len
		docs = append(docs, x)
	}
	avg := float64(total) / float64(len(docs))
	return func(q string) ([]schema.ID, float64) {
		_, terms := queryWords(q)
		var out []scored
		for _, x := range docs {
			var s float64
			for _, w := range terms {
				if tf := float64(x.tf[w]); tf > 0 {
					s += idf(df[w], len(docs)) * tf * 2.2 / (tf + 1.2*(0.25+0.75*float64(x.len)/avg))
				}
			}
			if s > 0 {
				out = append(out, scored{x.id, s})
			}
		}
		ids, _ := best(out)
		return ids, math.NaN()
	}
}

// oldSearch ranks as the search did before issue 13, with its scores.
func oldSearch(l *fixtures.Labelled) rankFunc {
	type d struct {
		id  schema.ID
		doc oldDoc
	}
	var docs []d
	for _, s := range l.Skills {
		docs = append(docs, d{schema.Digest(mustMarshal(s.Trace)), newOldDoc(s.Trace)})
	}
	return func(q string) ([]schema.ID, float64) {
		words := oldTokens(q)
		var out []scored
		for _, x := range docs {
			if s := oldScore(words, x.doc); s > 0 {
				out = append(out, scored{x.id, s})
			}
		}
		return best(out)
	}
}

type scored struct {
	id schema.ID
	s  float64
}

// best orders scored skills best first (then by id) and returns their ids
// and the best score.
func best(out []scored) ([]schema.ID, float64) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].s != out[j].s {
			return out[i].s > out[j].s
		}
		return out[i].id < out[j].id
	})
	var ids []schema.ID
	for _, o := range out {
		ids = append(ids, o.id)
	}
	if len(out) == 0 {
		return nil, 0
	}
	return ids, out[0].s
}

func intentTags(t *schema.Trace) string { return t.Intent + " " + strings.Join(t.Tags, " ") }

func allFields(t *schema.Trace) string {
	parts := []string{t.Intent, strings.Join(t.Tags, " ")}
	for _, s := range t.ReasoningPath {
		parts = append(parts, s.Action, s.Detail)
	}
	return strings.Join(append(parts, t.Result), " ")
}

// TestSearchBaselines logs the baselines' figures on the dev split (and on
// the test split with HIVE_SEARCH_REPORT=1): the old search and plain BM25.
func TestSearchBaselines(t *testing.T) {
	if os.Getenv("HIVE_SEARCH_LEVERS") != "1" && os.Getenv("HIVE_SEARCH_REPORT") != "1" {
		t.Skip("set HIVE_SEARCH_LEVERS=1 or HIVE_SEARCH_REPORT=1")
	}
	l := labelledSet(t)
	_, ids := labelledIndex(t, &defaultParams)
	splits := []fixtures.Split{l.Dev}
	if os.Getenv("HIVE_SEARCH_REPORT") == "1" {
		splits = append(splits, l.Test)
	}
	for _, sp := range splits {
		for _, b := range []struct {
			name string
			r    rankFunc
		}{
			{"old search", oldSearch(l)},
			{"plain BM25, intent and tags", plainBM25(l, intentTags)},
			{"plain BM25, all fields", plainBM25(l, allFields)},
		} {
			t.Logf("%-5s %-30s %s", sp.Name, b.name, measure(sp, ids, b.r, nil))
		}
	}
}

// TestOldSearchSet keeps the labelled set of the search before issue 13
// (fixtures.SearchSet: 100 skills, one query each, 30 absent tasks) as a
// regression test, with floors under what the search measures on it.
func TestOldSearchSet(t *testing.T) {
	cases, negatives := fixtures.SearchSet()
	ix := newIndex(plumbing.ZeroHash)
	var ts []*schema.Trace
	for _, c := range cases {
		ts = append(ts, c.Trace)
	}
	ix.addTraces(ts...)
	var at1, at5, resolved, falseMatches int
	for _, c := range cases {
		want := schema.Digest(mustMarshal(c.Trace))
		rs := ix.Search(Query{Text: c.Query, Limit: 5})
		for r, x := range rs {
			if x.ID == want {
				if r == 0 {
					at1++
					if x.Score >= DefaultThreshold {
						resolved++
					}
				}
				at5++
			}
		}
	}
	for _, q := range negatives {
		if rs := ix.Search(Query{Text: q, Threshold: DefaultThreshold, Limit: 1}); len(rs) > 0 {
			falseMatches++
			t.Logf("false match: %q scores %.2f for %q", q, rs[0].Score, rs[0].Intent)
		}
	}
	n := float64(len(cases))
	r1, r5, res, fm := float64(at1)/n, float64(at5)/n, float64(resolved)/n, float64(falseMatches)/float64(len(negatives))
	t.Logf("old set: recall@1 %.3f, recall@5 %.3f, resolved %.3f, false matches %.3f", r1, r5, res, fm)
	for _, c := range []struct {
		what      string
		got, want float64
	}{{"recall@1", r1, oldSetFloors.r1}, {"recall@5", r5, oldSetFloors.r5}, {"resolved", res, oldSetFloors.resolve}} {
		if c.got < c.want {
			t.Errorf("old set: %s = %.3f, want at least %.3f", c.what, c.got, c.want)
		}
	}
	if fm > oldSetFloors.falseMax {
		t.Errorf("old set: false matches %.3f, want at most %.3f", fm, oldSetFloors.falseMax)
	}
}

var oldSetFloors = floors{r1: 0.8, r5: 0.9, resolve: 0.35, falseMax: 0.05}
