package search

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// TestDenseQuality measures the hybrid search (SearchHybrid with a real
// embedding model) against the lexical search alone on the labelled set's
// dev split, through the path a user's search takes: the set's skills in an
// on-disk hive, the embedder parsed from a spec as `git config
// hive.search.embedder` gives it, skills embedded and cached in the hive's
// index folder, the query embedded per search. Run it beside the model
// server of fixtures/embedder:
//
//	HIVE_SEARCH_EMBEDDER=http://127.0.0.1:8089/v1/embeddings go test -run DenseQuality -v -timeout 30m ./search
//
// (HIVE_SEARCH_EMBEDDER is a URL, taken as an OpenAI-compatible endpoint, or
// a whole spec "openai|ollama URL MODEL".) It logs, for the lexical search
// and each fusion variant, the figures in sample (the shipped ranker and
// calibration, fitted on all of dev) and out of fold (each dev family ranked
// and calibrated by the model fitted without its fold, as TestSearchLevers
// measures), then the fusion chosen fold by fold (the variant best on the
// other four folds, scored on the fifth), and the speed. It asserts nothing.
// HIVE_SEARCH_EMBEDDER_TEST=1 adds the test split, lexical and hybrid with
// the shipped fusion, and nothing else: it is for the one run of the test
// split that reports.
func TestDenseQuality(t *testing.T) {
	emb := qualityEmbedder(t)
	l := labelledSet(t)
	s, ids := labelledHive(t)
	ix, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	shipped := *ix.p
	ctx := context.Background()
	hybrid := func(f fusion, text textVariant) rankFunc {
		d := Dense{Embedder: emb.variant(text.name), fusion: &f, text: text.fn, Budget: embedBudget}
		return func(q string) ([]schema.ID, float64) {
			rs, warns := ix.SearchHybrid(ctx, s, Query{Text: q, Limit: 5}, d)
			if len(warns) > 0 {
				t.Fatalf("hybrid search %q: %v", q, warns)
			}
			return resultIDs(rs)
		}
	}
	lexical := func(q string) ([]schema.ID, float64) { return resultIDs(ix.Search(Query{Text: q, Limit: 5})) }

	if os.Getenv("HIVE_SEARCH_EMBEDDER_TEST") == "1" {
		t.Logf("%-5s %-48s %s", "test", "lexical", measure(l.Test, ids, lexical, nil))
		t.Logf("%-5s %-48s %s", "test", "hybrid (shipped fusion)", measure(l.Test, ids, hybrid(defaultFusion, textVariants[0]), nil))
		return
	}

	// The first hybrid search embeds every skill: the time per skill.
	start := time.Now()
	if _, warns := ix.SearchHybrid(ctx, s, Query{Text: "warm up", Limit: 5}, Dense{Embedder: emb.variant(textVariants[0].name), Budget: embedBudget}); len(warns) > 0 {
		t.Fatal(warns)
	}
	t.Logf("embedding the %d skills (batches of 32): %v, %.1f ms a skill", ix.Len(), time.Since(start).Round(time.Millisecond),
		float64(time.Since(start).Microseconds())/1000/float64(ix.Len()))

	// Out of fold: each fold's families ranked and calibrated by the ranker
	// fitted on the other folds (the calibration fitted once to all dev's
	// out-of-fold scores), as TestSearchLevers does.
	const folds = 5
	qs := fitQueries(ix, ids, l, l.Dev)
	fold := foldOf(qs, folds)
	cal, _ := fitCalibration(qs, outOfFold(qs, folds, leverLambda))
	foldParams := make([]params, folds)
	for f := range folds {
		var train []fitQuery
		for _, q := range qs {
			if fold[q.family] != f {
				train = append(train, q)
			}
		}
		foldParams[f] = shipped
		foldParams[f].model, foldParams[f].cal = fitRanker(train, leverLambda), cal
	}
	sub := devFolds(l, fold, folds)
	// measureOOF measures r fold by fold, each with its fold's ranker.
	measureOOF := func(r rankFunc) []figures {
		defer func() { ix.p = &shipped }()
		out := make([]figures, folds)
		for f := range folds {
			ix.p = &foldParams[f]
			out[f] = measure(sub[f], ids, r, nil)
		}
		return out
	}

	type row struct {
		name     string
		in       figures
		oof      []figures
		isHybrid bool
	}
	var rows []row
	only := os.Getenv("HIVE_SEARCH_EMBEDDER_ONLY") // a part of the names of the variants to run
	run := func(name string, r rankFunc, isHybrid bool) {
		if only != "" && isHybrid && !strings.Contains(name, only) {
			return
		}
		x := row{name: name, in: measure(l.Dev, ids, r, nil), oof: measureOOF(r), isHybrid: isHybrid}
		rows = append(rows, x)
		o := sumFigures(x.oof)
		t.Logf("%-52s in sample %s obj %.3f | out of fold %s obj %.3f", name, x.in, objective(x.in), o, objective(o))
	}
	run("lexical", lexical, false)
	for _, v := range fusionVariants() {
		run(v.name, hybrid(v.f, v.text), true)
	}
	// Score fusion: for each weight of the dense z-score (and depth of
	// the dense candidates, and text embedded), the calibration fitted to
	// the out-of-fold hybrid scores; measured with the hybrid's calibrated
	// scores, and with Search's scores (the order the hybrid's).
	type scoreVariant struct {
		w     float64
		depth int
		text  textVariant
		both  bool // measure with the hybrid's scores too
	}
	var svs []scoreVariant
	for _, w := range []float64{0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5} {
		svs = append(svs, scoreVariant{w, 0, textVariants[0], true})
	}
	for _, depth := range []int{10, 20, 100} {
		svs = append(svs, scoreVariant{0.75, depth, textVariants[0], false})
	}
	for _, tv := range textVariants[1:] {
		svs = append(svs, scoreVariant{0.75, 0, tv, false})
	}
	for _, sv := range svs {
		name := fmt.Sprintf("score fusion, z-cosine at %g", sv.w)
		if sv.depth > 0 {
			name += fmt.Sprintf(", dense top %d", sv.depth)
		}
		if sv.text.name != textVariants[0].name {
			name += "; " + sv.text.name
		}
		if only != "" && !strings.Contains(name, only) {
			continue
		}
		e := emb.variant(sv.text.name)
		ix.SearchHybrid(ctx, s, Query{Text: "warm up", Limit: 5}, Dense{Embedder: e, text: sv.text.fn, Budget: embedBudget}) // the skills' vectors
		f := fusion{cos: sv.w, depth: sv.depth}
		var at [3]float64
		f.cal, at = fitDenseCalibration(denseCandidates(t, ix, s, e, ids, sub, foldParams, sv.depth), sv.w)
		t.Logf("  %s: fusion{cos: %g, depth: %d, cal: calibration{bias: %.4f, score: %.4f, lead: %.4f}}; out of fold at the operating point: resolve %.3f, wrong %.3f, false %.3f",
			name, f.cos, f.depth, f.cal.bias, f.cal.score, f.cal.lead, at[0], at[1], at[2])
		if sv.both {
			run(name+", hybrid scores", hybrid(f, sv.text), true)
		}
		f.lexicalScores = true
		run(name+", lexical scores", hybrid(f, sv.text), true)
	}

	// The fusion chosen fold by fold among the variants of the shipped
	// kind (score fusion keeping Search's scores: weight, depth, text).
	var nested []figures
	for f := range folds {
		best, bestObj := -1, math.Inf(-1)
		for i, x := range rows {
			if !x.isHybrid || !strings.HasSuffix(x.name, "lexical scores") {
				continue
			}
			var others []figures
			for g := range folds {
				if g != f {
					others = append(others, x.oof[g])
				}
			}
			if o := objective(sumFigures(others)); o > bestObj+1e-9 {
				best, bestObj = i, o
			}
		}
		if best >= 0 {
			t.Logf("fold %d: chose %s (obj %.3f on the other folds)", f, rows[best].name, bestObj)
			nested = append(nested, rows[best].oof[f])
		}
	}
	if len(nested) == folds {
		n := sumFigures(nested)
		t.Logf("%-52s out of fold %s obj %.3f", "hybrid, fusion chosen on the other folds", n, objective(n))
	}

	// By the kind and the length of the query, in sample: lexical against
	// the shipped hybrid.
	byLength := map[string]*fixtures.Split{}
	var buckets []string
	for _, q := range l.Dev.Queries {
		n := len(strings.Fields(q.Text))
		b := "1-4 words"
		if n > 8 {
			b = "9 words or more"
		} else if n > 4 {
			b = "5-8 words"
		}
		if byLength[b] == nil {
			byLength[b] = &fixtures.Split{Name: b}
			buckets = append(buckets, b)
		}
		byLength[b].Queries = append(byLength[b].Queries, q)
	}
	sort.Strings(buckets)
	shippedHybrid := hybrid(defaultFusion, textVariants[0])
	lx, hy := measure(l.Dev, ids, lexical, nil), measure(l.Dev, ids, shippedHybrid, nil)
	for _, k := range []string{"e", "m", "h"} {
		t.Logf("%s (%d queries): r@1 lexical %.3f, hybrid %.3f", fixtures.QueryKinds[k], lx.byKind[k][1],
			ratio(lx.byKind[k][0], lx.byKind[k][1]), ratio(hy.byKind[k][0], hy.byKind[k][1]))
	}
	for _, b := range buckets {
		lx, hy := measure(*byLength[b], ids, lexical, nil), measure(*byLength[b], ids, shippedHybrid, nil)
		t.Logf("%s (%d queries): r@1 lexical %.3f, hybrid %.3f; r@5 %.3f, %.3f", b, lx.queries, lx.r1(), hy.r1(), lx.r5(), hy.r5())
	}

	// Speed: embedding a query, and a whole hybrid search against the
	// lexical one, on the first 200 dev queries (the query's vector not
	// cached: every search asks the server).
	var qtexts []string
	for _, q := range l.Dev.Queries[:min(200, len(l.Dev.Queries))] {
		qtexts = append(qtexts, q.Text+" ") // not in the memo
	}
	d := Dense{Embedder: emb.inner, Budget: embedBudget}
	ix.SearchHybrid(ctx, s, Query{Text: "warm up", Limit: 5}, d) // the skills' vectors, once
	var lex, hyb []time.Duration
	for _, q := range qtexts {
		t0 := time.Now()
		ix.Search(Query{Text: q, Limit: 5})
		lex = append(lex, time.Since(t0))
		t0 = time.Now()
		if _, warns := ix.SearchHybrid(ctx, s, Query{Text: q, Limit: 5}, d); len(warns) > 0 {
			t.Fatal(warns)
		}
		hyb = append(hyb, time.Since(t0))
	}
	var emb1 []time.Duration
	for _, q := range qtexts[:50] {
		t0 := time.Now()
		if _, err := emb.inner.Embed(ctx, []string{q + "."}); err != nil {
			t.Fatal(err)
		}
		emb1 = append(emb1, time.Since(t0))
	}
	t.Logf("speed over %d dev queries at %d skills: lexical search p50 %v; hybrid search p50 %v (p90 %v); embedding one query p50 %v",
		len(qtexts), ix.Len(), p50(lex), p50(hyb), quantile(hyb, 0.9), p50(emb1))
}

// denseCandidate is a candidate of the hybrid search for a dev query or
// negative: its out-of-fold ranker score, its dense z-score, and whether it
// is the skill asked for.
type denseCandidate struct {
	rank, z float64
	right   bool
}

// denseQuery is a dev query's or negative's hybrid candidates.
type denseQuery struct {
	neg   bool
	cands []denseCandidate
}

// denseCandidates are the hybrid candidates of every dev query and negative
// (the lexical ones and the dense ones not among them, as fuse takes them),
// fold by fold with each fold's ranker.
func denseCandidates(t *testing.T, ix *Index, s *registry.Store, emb *memoEmbedder, ids map[string]schema.ID, sub []fixtures.Split, foldParams []params, depth int) []denseQuery {
	vc, err := readVectors(vectorFile(s, emb.Name()), emb.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer func(p *params) { ix.p = p }(ix.p)
	var out []denseQuery
	one := func(text string, right schema.ID) {
		qv, err := emb.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		k := ix.p.candidates
		ms, cs := ix.rank(text, k, nil)
		cos, near := ix.denseRanking(qv[0], vc)
		z := zScores(cos)
		q := denseQuery{neg: right == ""}
		if depth <= 0 {
			depth = k
		}
		for _, m := range ix.withDense(cs, ms, near[:min(depth, len(near))]) {
			q.cands = append(q.cands, denseCandidate{m.rank, z[m.doc], ix.docs[m.doc].id == right})
		}
		out = append(out, q)
	}
	for f, sp := range sub {
		ix.p = &foldParams[f]
		for _, q := range sp.Queries {
			one(q.Text, ids[q.Key])
		}
		for _, n := range sp.Negatives {
			one(n.Text, "")
		}
	}
	return out
}

// fitDenseCalibration fits the calibration of score fusion at weight w to
// the out-of-fold hybrid scores, as fitCalibration fits Search's.
func fitDenseCalibration(dqs []denseQuery, w float64) (calibration, [3]float64) {
	var qs []fitQuery
	var scores [][]float64
	for _, dq := range dqs {
		q := fitQuery{neg: dq.neg}
		var sc []float64
		for _, c := range dq.cands {
			q.cands = append(q.cands, fitCand{right: c.right})
			sc = append(sc, c.rank+w*c.z)
		}
		qs = append(qs, q)
		scores = append(scores, sc)
	}
	return fitCalibration(qs, scores)
}

// embedBudget is the time the harness gives the first search to embed
// every skill (a search gives it 30 s; a loaded machine may need more).
const embedBudget = 10 * time.Minute

// qualityEmbedder is the embedder HIVE_SEARCH_EMBEDDER names, behind a
// memo (skip the test when it is not set).
func qualityEmbedder(t *testing.T) *memoEmbedder {
	spec := os.Getenv("HIVE_SEARCH_EMBEDDER")
	if spec == "" {
		t.Skip("set HIVE_SEARCH_EMBEDDER to an embedding endpoint (fixtures/embedder)")
	}
	if !strings.Contains(spec, " ") {
		spec = "openai " + spec + " universal-sentence-encoder"
	}
	e, err := ParseEmbedder(spec, os.Getenv(EmbedderKeyEnv), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &memoEmbedder{inner: e, memo: map[string][]float32{}}
}

// memoEmbedder remembers the vector of every text it embedded, so that
// variants of the fusion measured in one run embed each query once.
// variant names the text of skills embedded: vectors are cached under it.
type memoEmbedder struct {
	inner Embedder
	name  string
	mu    sync.Mutex
	memo  map[string][]float32
}

func (m *memoEmbedder) variant(name string) *memoEmbedder {
	return &memoEmbedder{inner: m.inner, name: name, memo: m.memo}
}

func (m *memoEmbedder) Name() string { return m.inner.Name() + " " + m.name }

func (m *memoEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var todo []string
	for _, s := range texts {
		if _, ok := m.memo[s]; !ok {
			todo = append(todo, s)
		}
	}
	if len(todo) > 0 {
		vs, err := m.inner.Embed(ctx, todo)
		if err != nil {
			return nil, err
		}
		for i, s := range todo {
			m.memo[s] = vs[i]
		}
	}
	out := make([][]float32, len(texts))
	for i, s := range texts {
		out[i] = m.memo[s]
	}
	return out, nil
}

// labelledHive adds every skill of the labelled set to an on-disk hive,
// and returns the id of each skill by key.
func labelledHive(t *testing.T) (*registry.Store, map[string]schema.ID) {
	t.Helper()
	l := labelledSet(t)
	sp := fixtures.Spec{Instances: 4}
	s, err := fixtures.Hive(t.TempDir(), sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var in []registry.Input
	for _, sk := range l.Skills {
		b, err := sk.Trace.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, registry.Input{Name: sk.Key, Data: b})
	}
	added, err := s.AddBatch(in, sp.KeyFunc(), len(in))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]schema.ID{}
	for i, a := range added {
		if a.Name != l.Skills[i].Key {
			t.Fatalf("added %s as the %d-th trace, want %s", a.Name, i, l.Skills[i].Key)
		}
		ids[a.Name] = a.ID
	}
	return s, ids
}

// devFolds splits the dev queries and negatives by the fold of their family.
func devFolds(l *fixtures.Labelled, fold map[string]int, k int) []fixtures.Split {
	family := map[string]string{}
	for _, s := range l.Skills {
		family[s.Key] = s.Family
	}
	out := make([]fixtures.Split, k)
	for f := range out {
		out[f].Name = fmt.Sprintf("dev fold %d", f)
	}
	for _, q := range l.Dev.Queries {
		f := fold[family[q.Key]]
		out[f].Queries = append(out[f].Queries, q)
	}
	for _, n := range l.Dev.Negatives {
		f := fold["negative "+n.Topic]
		out[f].Negatives = append(out[f].Negatives, n)
	}
	return out
}

// sumFigures adds the counts of several figures.
func sumFigures(fs []figures) figures {
	var s figures
	for _, f := range fs {
		s.queries += f.queries
		s.hard += f.hard
		s.negatives += f.negatives
		s.at1 += f.at1
		s.at5 += f.at5
		s.hardAt1 += f.hardAt1
		s.resolved += f.resolved
		s.wrong += f.wrong
		s.falseMatches += f.falseMatches
	}
	return s
}

func resultIDs(rs []Result) ([]schema.ID, float64) {
	if len(rs) == 0 {
		return nil, 0
	}
	ids := make([]schema.ID, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids, rs[0].Score
}

// textVariant is a text of a skill to embed.
type textVariant struct {
	name string
	fn   func(*indexed) string
}

// textVariants are the texts measured; the first is embedText.
var textVariants = []textVariant{
	{"intent, tags, steps", embedText},
	{"intent", func(t *indexed) string { return t.Intent }},
	{"intent, tags", func(t *indexed) string { return t.Intent + "\n" + strings.Join(t.Tags, ", ") }},
	{"intent, tags, actions", func(t *indexed) string {
		parts := []string{t.Intent, strings.Join(t.Tags, ", ")}
		for _, s := range t.ReasoningPath {
			parts = append(parts, s.Action)
		}
		return strings.Join(parts, "\n")
	}},
}

type fusionVariant struct {
	name string
	f    fusion
	text textVariant
}

// fusionVariants are the fusions measured: RRF's constant, the dense
// ranking's weight and depth, and the text embedded, each varied from the
// shipped fusion.
func fusionVariants() []fusionVariant {
	var vs []fusionVariant
	add := func(f fusion, text textVariant) {
		depth := "all candidates"
		if f.depth > 0 {
			depth = fmt.Sprintf("top %d", f.depth)
		}
		vs = append(vs, fusionVariant{fmt.Sprintf("hybrid k %g, dense %.2f, %s; %s", f.k, f.dense, depth, text.name), f, text})
	}
	base := fusion{k: 60, dense: 1}
	add(base, textVariants[0])
	vs = append(vs, fusionVariant{"dense ranking alone (lexical breaks ties)", fusion{k: 60, dense: 1e6}, textVariants[0]})
	for _, k := range []float64{1, 5, 20, 120} {
		f := base
		f.k = k
		add(f, textVariants[0])
	}
	for _, w := range []float64{0.25, 0.5, 0.75, 1.5} {
		f := base
		f.dense = w
		add(f, textVariants[0])
	}
	for _, d := range []int{5, 10, 20} {
		f := base
		f.depth = d
		add(f, textVariants[0])
	}
	for _, tv := range textVariants[1:] {
		add(base, tv)
	}
	return vs
}

func p50(ds []time.Duration) time.Duration { return quantile(ds, 0.5) }

func quantile(ds []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}
