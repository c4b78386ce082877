package search

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hive-dev/hive/search/internal/techvec"
)

// TestSearchLevers measures, on the dev split only, what each lever of the
// search adds (HIVE_SEARCH_LEVERS=1 go test -run Levers -v ./search): the
// table in docs/search.md. It asserts nothing.
func TestSearchLevers(t *testing.T) {
	if os.Getenv("HIVE_SEARCH_LEVERS") != "1" {
		t.Skip("set HIVE_SEARCH_LEVERS=1")
	}
	l := labelledSet(t)
	// Each variant's ranker and calibration are fitted anew and measured
	// out of fold (five folds of dev families, the final penalty), as
	// TestFitRanker measures the final search: a lever is judged by what it
	// gives on families the fit has not seen.
	run := func(name string, p params) {
		ix, ids := labelledIndex(t, &p)
		if !p.rerank {
			f := measure(l.Dev, ids, indexRanker(ix), nil)
			t.Logf("%-44s %s  obj %.3f (in sample)", name, f, objective(f))
			return
		}
		qs := fitQueries(ix, ids, l, l.Dev)
		oof := outOfFold(qs, 5, leverLambda)
		f := rankFigures(qs, oof)
		_, at := fitCalibration(qs, oof)
		t.Logf("%-44s r@1 %.3f (hard %.3f)  r@5 %.3f  obj %.3f  resolve %.3f (wrong %.3f)  false %.3f",
			name, f.r1(), f.hardR1(), f.r5(), objective(f), at[0], at[1], at[2])
	}
	base := defaultParams
	run("defaults", base)
	for _, v := range leverVariants(base) {
		run(v.name, v.p)
	}
	// The analysis: other stemmers, and the old synonym list.
	withStemmer := func(name string, st func(string) string) {
		defer func(old func(string) string) { stemmer = old; resetStems() }(stemmer)
		stemmer = st
		resetStems()
		run(name, base)
	}
	withStemmer("hand-written stemmer (tokens-2)", oldStem)
	withStemmer("no stemmer", func(w string) string { return w })
	wn := loadWordNet()
	withStemmer("WordNet base forms, no stemmer", func(w string) string {
		if ls := wn.lemmas(w); len(ls) > 0 {
			return wn.words[ls[0]]
		}
		return w
	})
	func() {
		old := abbreviationsOf()
		defer func() { abbrevMap = old }()
		m := map[string][]string{}
		for t, ws := range old {
			m[t] = append([]string(nil), ws...)
		}
		groups := map[string][]string{}
		for w, canon := range oldSynonyms {
			groups[canon] = append(groups[canon], w)
		}
		for _, ws := range groups {
			for _, a := range ws {
				for _, b := range ws {
					if a != b {
						m[term(a)] = append(m[term(a)], b)
					}
				}
			}
		}
		abbrevMap = m
		run("and the old synonym list, as abbreviations", base)
	}()
}

func resetStems() {
	stems.Clear()
	stemsCount.Store(0)
}

// leverLambda is the ranker's penalty in the lever measurements: the one
// TestFitRanker chose when the levers' table was measured (with the
// coherence floor it chose 0.3, within noise of 1: docs/search.md).
const leverLambda = 1.0

// objective is what tuning maximises on the dev split: recall@1, with the
// hard queries and recall@5 counting again at half weight.
func objective(f figures) float64 { return f.r1() + 0.5*f.hardR1() + 0.5*f.r5() }

type variant struct {
	name string
	p    params
}

func leverVariants(base params) []variant {
	var vs []variant
	add := func(name string, change func(p *params)) {
		p := base
		change(&p)
		vs = append(vs, variant{name, p})
	}
	add("rank by BM25F (no ranker)", func(p *params) { p.rerank = false })
	for _, w := range []float64{0, 0.3} {
		add(fmt.Sprintf("intent-only terms at %.1f", w), func(p *params) { p.intentOnly = w })
	}
	for _, f := range []float64{0, 0.05, 0.1, 0.3} {
		add(fmt.Sprintf("coherence floor %.2f", f), func(p *params) { p.cohFloor = f })
	}
	add("no WordNet", func(p *params) { p.wnRank = 0; p.lemma = 0 })
	add("WordNet base forms only", func(p *params) { p.wnRank = 0 })
	add("WordNet relations only", func(p *params) { p.lemma = 0 })
	add("WordNet synonyms only", func(p *params) { p.wn = [wnKinds]float64{wnSynonym: p.wn[wnSynonym]}; p.lemma = 0 })
	add("no abbreviations", func(p *params) { p.abbrev = 0 })
	add("no co-occurrence", func(p *params) { p.co = 0 })
	add("co-occurrence at 0.4", func(p *params) { p.co = 0.4 })
	add("co-occurrence, 20 terms a word", func(p *params) { p.coTerms = 20 })
	add("feedback at 0.3", func(p *params) { p.prf = 0.3 })
	add("100 candidates", func(p *params) { p.candidates = 100 })
	return vs
}

// TestSearchTune is the coordinate ascent that chose defaultParams'
// ranking parameters on the dev split (HIVE_SEARCH_TUNE=1 go test -run
// Tune -v ./search): each parameter in turn is multiplied by a few factors
// and the best value on the objective kept, for a few rounds. It prints the
// parameters; they are copied into params.go by hand.
func TestSearchTune(t *testing.T) {
	if os.Getenv("HIVE_SEARCH_TUNE") != "1" {
		t.Skip("set HIVE_SEARCH_TUNE=1")
	}
	l := labelledSet(t)
	eval := func(p params) float64 {
		ix, ids := labelledIndex(t, &p)
		return objective(measure(l.Dev, ids, indexRanker(ix), nil))
	}
	p := defaultParams
	best := eval(p)
	knobs := []struct {
		name string
		ptr  func(p *params) *float64
	}{
		{"k1", func(p *params) *float64 { return &p.k1 }},
	}
	for f := range nFields {
		knobs = append(knobs, struct {
			name string
			ptr  func(p *params) *float64
		}{"weight " + fieldNames[f], func(p *params) *float64 { return &p.weight[f] }},
			struct {
				name string
				ptr  func(p *params) *float64
			}{"b " + fieldNames[f], func(p *params) *float64 { return &p.b[f] }})
	}
	for k := range wnKinds {
		knobs = append(knobs, struct {
			name string
			ptr  func(p *params) *float64
		}{wnKindNames[k], func(p *params) *float64 { return &p.wn[k] }})
	}
	for _, k := range []struct {
		name string
		ptr  func(p *params) *float64
	}{
		{"lemma", func(p *params) *float64 { return &p.lemma }},
		{"abbrev", func(p *params) *float64 { return &p.abbrev }},
		{"co", func(p *params) *float64 { return &p.co }},
		{"prf", func(p *params) *float64 { return &p.prf }},
	} {
		knobs = append(knobs, k)
	}
	for round := range 3 {
		improved := false
		for _, k := range knobs {
			cur := *k.ptr(&p)
			for _, v := range []float64{cur * 0.5, cur * 0.75, cur * 1.33, cur * 2, 0, 0.1, 0.3} {
				if k.name[0] == 'b' && v > 1 || v == cur {
					continue
				}
				q := p
				*k.ptr(&q) = v
				if o := eval(q); o > best+1e-9 {
					best, p, improved = o, q, true
					t.Logf("round %d: %s %.3f -> %.3f: objective %.4f", round, k.name, cur, v, o)
				}
			}
		}
		for _, r := range []int{1, 2, 3, 4} {
			q := p
			q.wnRank = r
			if o := eval(q); o > best+1e-9 {
				best, p, improved = o, q, true
				t.Logf("round %d: wnRank %d: objective %.4f", round, r, o)
			}
		}
		if !improved {
			break
		}
	}
	t.Logf("best objective %.4f: %+v", best, p)
}

// TestTechvecNeighbours prints the nearest terms of a few words by the
// technical vectors ($HIVE_TECHVEC; HIVE_TECHVEC_WORDS).
func TestTechvecNeighbours(t *testing.T) {
	if os.Getenv("HIVE_TECHVEC_WORDS") == "" {
		t.Skip("set HIVE_TECHVEC_WORDS")
	}
	if f := os.Getenv("HIVE_TECHVEC"); f != "" {
		useVectorsFile(t, f)
	}
	vs := loadVectors()
	words := strings.Fields(os.Getenv("HIVE_TECHVEC_WORDS"))
	for _, w := range words {
		r, ok := vs.Index[term(w)]
		if !ok {
			t.Logf("%s: none", w)
			continue
		}
		type nb struct {
			t string
			c float32
		}
		var ns []nb
		for _, n := range vs.Nbrs[r] {
			ns = append(ns, nb{vs.Terms[n.Row], n.Cos})
		}
		var b strings.Builder
		for _, n := range ns {
			fmt.Fprintf(&b, " %s %.2f", n.t, n.c)
		}
		t.Logf("%s:%s", w, b.String())
	}
	for _, p := range [][2]string{{"slow", "latency"}, {"crash", "segfault"}, {"crash", "panic"}, {"secure", "certificate"}, {"secure", "tls"}, {"spreadsheet", "excel"}, {"slow", "fast"}, {"memory", "leak"}, {"deploy", "rollout"}} {
		a, aok := vs.Index[term(p[0])]
		b, bok := vs.Index[term(p[1])]
		if aok && bok {
			var d int32
			for i, x := range vs.Vector(a) {
				d += int32(x) * int32(vs.Vector(b)[i])
			}
			t.Logf("%s-%s %.2f", p[0], p[1], float32(d)/(vs.Norm[a]*vs.Norm[b]))
		}
	}
}

// TestTechvecLevers measures the technical vectors' levers on dev, out of
// fold, against the search without them (HIVE_SEARCH_LEVERS=1; folds and
// penalty from HIVE_TECHVEC_FOLDS and HIVE_TECHVEC_LAMBDA; the table from
// the file HIVE_TECHVEC instead of the embedded one; only the variants whose
// names contain HIVE_TECHVEC_ONLY, and the search without vectors unless
// HIVE_TECHVEC_BASE=0).
func TestTechvecLevers(t *testing.T) {
	if os.Getenv("HIVE_SEARCH_LEVERS") != "1" {
		t.Skip("set HIVE_SEARCH_LEVERS=1")
	}
	l := labelledSet(t)
	folds, lambda := 5, float64(leverLambda)
	if f := os.Getenv("HIVE_TECHVEC_FOLDS"); f != "" {
		fmt.Sscan(f, &folds)
	}
	if f := os.Getenv("HIVE_TECHVEC_LAMBDA"); f != "" {
		fmt.Sscan(f, &lambda)
	}
	only := os.Getenv("HIVE_TECHVEC_ONLY") // a part of the names of the variants to run
	if f := os.Getenv("HIVE_TECHVEC"); f != "" {
		useVectorsFile(t, f)
	}
	run := func(name string, p params) {
		if only != "" && !strings.Contains(name, only) && (!strings.HasPrefix(name, "without") || os.Getenv("HIVE_TECHVEC_BASE") == "0") {
			return
		}
		ix, ids := labelledIndex(t, &p)
		qs := fitQueries(ix, ids, l, l.Dev)
		oof := outOfFold(qs, folds, lambda)
		f := rankFigures(qs, oof)
		_, at := fitCalibration(qs, oof)
		t.Logf("%-56s r@1 %.3f (hard %.3f)  r@5 %.3f  obj %.3f  resolve %.3f (wrong %.3f)  false %.3f",
			name, f.r1(), f.hardR1(), f.r5(), objective(f), at[0], at[1], at[2])
	}
	base := defaultParams
	base.tv, base.dense = 0, false
	run("without technical vectors", base)
	for _, g := range []struct {
		w, min float64
		k      int
	}{{0.1, 0.5, 3}, {0.1, 0.6, 3}, {0.15, 0.5, 3}, {0.1, 0.5, 2}, {0.05, 0.5, 3}, {0.2, 0.6, 3}, {0.1, 0.7, 3}} {
		p := base
		p.tv, p.tvMin, p.tvK = g.w, g.min, g.k
		run(fmt.Sprintf("neighbours at %.2f, cos >= %.1f, %d a word", g.w, g.min, g.k), p)
		p.dense = true
		run(fmt.Sprintf("dense and neighbours at %.2f, cos >= %.1f, %d a word", g.w, g.min, g.k), p)
	}
	p := base
	p.dense = true
	run("dense feature", p)
}

// useVectorsFile makes the search use the table in file f instead of the
// embedded one, for the rest of the test process (a table learned from
// another corpus or with other settings, measured before it is shipped).
func useVectorsFile(t *testing.T, f string) {
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	d, err := techvec.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	loadVectors()
	tv = d
	t.Logf("technical vectors from %s: %d terms, %d dimensions", f, len(d.Terms), d.Dims)
}
