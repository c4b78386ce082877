package search

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/schema"
)

// TestFitRanker fits the ranker and the calibration on the dev split
// (HIVE_SEARCH_FIT=1 go test -run FitRanker -v ./search) and prints them
// for params.go. Nothing is fitted on the test split.
//
// The ranker is a conditional logit: over each dev query's candidates (the
// best by BM25F, with their features), the skill asked for should have the
// highest score. Its L2 penalty is chosen by cross-validation over the dev
// families (five folds: a family's queries are all in one fold, so a fold is
// scored by a model that has seen none of its skills' neighbours), then the
// ranker is fitted on all of dev (HIVE_SEARCH_FIT_FOLDS sets the folds,
// HIVE_SEARCH_FIT_LAMBDA fixes the penalty instead of choosing it).
//
// The calibration is a logistic regression of "this is the skill asked for"
// on a candidate's ranker score and its lead over the best other, over the
// best ten candidates of every dev query and negative, with the scores each
// fold's model gives out of fold: so it is fitted to scores as the ranker
// gives them to queries it has not seen, not to the ranker's own training
// queries, on which it is more confident. Its bias is then set to the
// highest (the most recall) at which, out of fold, at most 2% of the dev
// negatives and 2% of the dev queries resolve to a wrong skill at
// DefaultThreshold (3% is the target: the margin is for queries the fit has
// not seen).
func TestFitRanker(t *testing.T) {
	if os.Getenv("HIVE_SEARCH_FIT") != "1" {
		t.Skip("set HIVE_SEARCH_FIT=1")
	}
	l := labelledSet(t)
	p := defaultParams
	ix, ids := labelledIndex(t, &p)
	qs := fitQueries(ix, ids, l, l.Dev)
	folds := 5
	if v := os.Getenv("HIVE_SEARCH_FIT_FOLDS"); v != "" {
		folds, _ = strconv.Atoi(v)
	}
	best, bestObj := 0.0, math.Inf(-1)
	lambdas := []float64{0.01, 0.03, 0.1, 0.3, 1, 3}
	if v := os.Getenv("HIVE_SEARCH_FIT_LAMBDA"); v != "" { // a penalty fixed, not chosen
		l, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("HIVE_SEARCH_FIT_LAMBDA: %v", err)
		}
		lambdas = []float64{l}
	}
	for _, lambda := range lambdas {
		oof := outOfFold(qs, folds, lambda)
		f := rankFigures(qs, oof)
		t.Logf("lambda %-5g out of fold: %s obj %.3f", lambda, f, objective(f))
		if o := objective(f); o > bestObj+1e-9 {
			best, bestObj = lambda, o
		}
	}
	r := fitRanker(qs, best)
	oof := outOfFold(qs, folds, best)
	c, at := fitCalibration(qs, oof)
	t.Logf("out of fold at the operating point: resolve right %.3f, wrong %.3f, false matches %.3f", at[0], at[1], at[2])
	t.Logf("lambda %g; in sample: %s", best, rankFigures(qs, scoresOf(qs, r)))
	var ws []string
	for _, w := range r.w {
		ws = append(ws, fmt.Sprintf("%.4f", w))
	}
	t.Logf("ranker{w: [nFeatures]float64{%s}}", strings.Join(ws, ", "))
	t.Logf("calibration{bias: %.4f, score: %.4f, lead: %.4f}", c.bias, c.score, c.lead)
	for i, n := range featureNames {
		t.Logf("  %-14s %+.3f", n, r.w[i])
	}
}

// fitQuery is a query (or a negative) and its candidates.
type fitQuery struct {
	family, kind string
	neg          bool
	cands        []fitCand
}

type fitCand struct {
	x     [nFeatures]float64
	right bool
}

// fitQueries ranks every query and negative of a split and keeps the
// candidates' features.
func fitQueries(ix *Index, ids map[string]schema.ID, l *fixtures.Labelled, sp fixtures.Split) []fitQuery {
	family := map[string]string{}
	for _, s := range l.Skills {
		family[s.Key] = s.Family
	}
	var qs []fitQuery
	add := func(text string, q fitQuery, want schema.ID) {
		ms, _ := ix.rank(text, ix.p.candidates, nil)
		for _, m := range ms {
			q.cands = append(q.cands, fitCand{x: m.x, right: ix.docs[m.doc].id == want})
		}
		qs = append(qs, q)
	}
	for _, q := range sp.Queries {
		add(q.Text, fitQuery{family: family[q.Key], kind: q.Kind}, ids[q.Key])
	}
	// Negatives ask for no skill: they go to folds by their topic.
	for _, n := range sp.Negatives {
		add(n.Text, fitQuery{family: "negative " + n.Topic, kind: "n", neg: true}, "")
	}
	return qs
}

// foldOf assigns families to k folds, in the order of their names.
func foldOf(qs []fitQuery, k int) map[string]int {
	var names []string
	seen := map[string]bool{}
	for _, q := range qs {
		if !seen[q.family] {
			seen[q.family] = true
			names = append(names, q.family)
		}
	}
	sort.Strings(names)
	out := map[string]int{}
	for i, n := range names {
		out[n] = i % k
	}
	return out
}

// outOfFold returns each candidate's ranker score by the model fitted on
// the other folds.
func outOfFold(qs []fitQuery, k int, lambda float64) [][]float64 {
	fold := foldOf(qs, k)
	out := make([][]float64, len(qs))
	for f := range k {
		var train []fitQuery
		for _, q := range qs {
			if fold[q.family] != f {
				train = append(train, q)
			}
		}
		r := fitRanker(train, lambda)
		for i, q := range qs {
			if fold[q.family] == f {
				out[i] = candScores(q, r)
			}
		}
	}
	return out
}

func candScores(q fitQuery, r ranker) []float64 {
	s := make([]float64, len(q.cands))
	for j := range q.cands {
		s[j] = r.score(&q.cands[j].x)
	}
	return s
}

func scoresOf(qs []fitQuery, r ranker) [][]float64 {
	out := make([][]float64, len(qs))
	for i, q := range qs {
		out[i] = candScores(q, r)
	}
	return out
}

// rankFigures measures the ranking the scores give (recall only).
func rankFigures(qs []fitQuery, scores [][]float64) figures {
	var f figures
	for i, q := range qs {
		if q.neg {
			continue
		}
		f.queries++
		if q.kind == "h" {
			f.hard++
		}
		order := byScore(scores[i])
		for r, j := range order {
			if r >= 5 {
				break
			}
			if q.cands[j].right {
				if r == 0 {
					f.at1++
					if q.kind == "h" {
						f.hardAt1++
					}
				}
				f.at5++
			}
		}
	}
	return f
}

// byScore returns candidate numbers best first.
func byScore(s []float64) []int {
	order := make([]int, len(s))
	for j := range order {
		order[j] = j
	}
	sort.SliceStable(order, func(a, b int) bool { return s[order[a]] > s[order[b]] })
	return order
}

// fitRanker fits the conditional logit with every weight but the
// length's at zero or above: each feature is evidence that the skill does
// the task, and more of it never counts against a skill (a model that
// learned otherwise from the set's style would not carry to another
// hive's, and could be gamed). Features whose weight would be negative are
// held at zero, and the rest refitted, until none is.
func fitRanker(qs []fitQuery, lambda float64) ranker {
	var fixed [nFeatures]bool
	for {
		r := fitFree(qs, lambda, fixed)
		again := false
		for k, w := range r.w {
			if w < 0 {
				fixed[k], again = true, true
			}
		}
		if !again {
			return r
		}
	}
}

// fitFree fits the conditional logit by Newton's method with step
// halving, with an L2 penalty lambda on the weights and the fixed ones
// held at zero; queries whose skill is not among the candidates (and
// negatives) teach it nothing.
func fitFree(qs []fitQuery, lambda float64, fixed [nFeatures]bool) ranker {
	var r ranker
	loglik := func(r *ranker) float64 {
		var ll float64
		for _, q := range qs {
			p, right := softmax(q, r)
			if right >= 0 {
				ll += math.Log(max(p[right], 1e-300))
			}
		}
		for _, w := range r.w {
			ll -= lambda / 2 * w * w
		}
		return ll
	}
	cur := loglik(&r)
	for range 100 {
		var g [nFeatures]float64
		var h [nFeatures][nFeatures]float64
		for _, q := range qs {
			p, right := softmax(q, &r)
			if right < 0 {
				continue
			}
			var mean [nFeatures]float64
			for j, c := range q.cands {
				for k, v := range c.x {
					mean[k] += p[j] * v
				}
			}
			for k := range mean {
				g[k] += q.cands[right].x[k] - mean[k]
			}
			for j, c := range q.cands {
				for a := range nFeatures {
					da := c.x[a] - mean[a]
					for b := range nFeatures {
						h[a][b] += p[j] * da * (c.x[b] - mean[b])
					}
				}
			}
		}
		for k := range nFeatures {
			g[k] -= lambda * r.w[k]
			h[k][k] += lambda
			if fixed[k] {
				g[k] = 0
				for j := range nFeatures {
					h[k][j], h[j][k] = 0, 0
				}
				h[k][k] = 1
			}
		}
		step := solveSym(h, g)
		improved := false
		for t := 1.0; t > 1e-6; t /= 2 {
			next := r
			for k := range next.w {
				next.w[k] += t * step[k]
			}
			if ll := loglik(&next); ll >= cur {
				improved = ll-cur > 1e-10
				r, cur = next, ll
				break
			}
		}
		if !improved {
			break
		}
	}
	return r
}

// softmax is the ranker's probability of each candidate, and the number
// of the right one (-1 when none is).
func softmax(q fitQuery, r *ranker) ([]float64, int) {
	right := -1
	p := make([]float64, len(q.cands))
	top := math.Inf(-1)
	for j := range q.cands {
		p[j] = r.score(&q.cands[j].x)
		top = max(top, p[j])
		if q.cands[j].right {
			right = j
		}
	}
	if q.neg {
		right = -1
	}
	var sum float64
	for j := range p {
		p[j] = math.Exp(p[j] - top)
		sum += p[j]
	}
	for j := range p {
		p[j] /= sum
	}
	return p, right
}

// solveSym solves h x = g by Gaussian elimination with partial pivoting.
func solveSym(h [nFeatures][nFeatures]float64, g [nFeatures]float64) [nFeatures]float64 {
	const n = nFeatures
	for col := range n {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(h[r][col]) > math.Abs(h[piv][col]) {
				piv = r
			}
		}
		h[col], h[piv] = h[piv], h[col]
		g[col], g[piv] = g[piv], g[col]
		if h[col][col] == 0 {
			continue
		}
		for r := col + 1; r < n; r++ {
			f := h[r][col] / h[col][col]
			for c := col; c < n; c++ {
				h[r][c] -= f * h[col][c]
			}
			g[r] -= f * g[col]
		}
	}
	var x [n]float64
	for r := n - 1; r >= 0; r-- {
		s := g[r]
		for c := r + 1; c < n; c++ {
			s -= h[r][c] * x[c]
		}
		if h[r][r] != 0 {
			x[r] = s / h[r][r]
		}
	}
	return x
}

// calPair is one candidate as the calibration sees it.
type calPair struct {
	score, lead float64
	right       bool
}

// calPairs are the best ten candidates of every query and negative by the
// given scores, with their leads.
func calPairs(qs []fitQuery, scores [][]float64) [][]calPair {
	out := make([][]calPair, len(qs))
	for i, q := range qs {
		order := byScore(scores[i])
		for r, j := range order {
			if r >= 10 {
				break
			}
			rival, found := 0.0, false
			for k, s := range scores[i] {
				if k != j && (!found || s > rival) {
					rival, found = s, true
				}
			}
			out[i] = append(out[i], calPair{scores[i][j], leadOf(scores[i][j], rival, found), q.cands[j].right})
		}
	}
	return out
}

// fitCalibration fits the calibration to out-of-fold scores, then sets
// its bias at the operating point (see TestFitRanker).
func fitCalibration(qs []fitQuery, oof [][]float64) (calibration, [3]float64) {
	pairs := calPairs(qs, oof)
	var c calibration
	ll := func(c calibration) float64 {
		var s float64
		for _, ps := range pairs {
			for _, p := range ps {
				pr := c.apply(p.score, p.lead)
				if p.right {
					s += math.Log(max(pr, 1e-300))
				} else {
					s += math.Log(max(1-pr, 1e-300))
				}
			}
		}
		return s - 1e-3*(c.score*c.score+c.lead*c.lead)
	}
	// Coordinate search: three parameters, a smooth concave objective.
	cur := ll(c)
	for step := 1.0; step > 1e-4; {
		moved := false
		for _, ptr := range []*float64{&c.bias, &c.score, &c.lead} {
			for _, d := range []float64{step, -step} {
				old := *ptr
				*ptr += d
				if v := ll(c); v > cur {
					cur, moved = v, true
				} else {
					*ptr = old
				}
			}
		}
		if !moved {
			step /= 2
		}
	}
	// The operating point.
	fitted := c.bias
	var at [3]float64
	for shift := -6.0; shift <= 6; shift += 0.01 {
		try := c
		try.bias = fitted + shift
		falses, negs, wrong, right, n := 0, 0, 0, 0, 0
		for i, q := range qs {
			if len(pairs[i]) == 0 {
				if q.neg {
					negs++
				} else {
					n++
				}
				continue
			}
			top := pairs[i][0]
			resolves := try.apply(top.score, top.lead) >= DefaultThreshold
			if q.neg {
				negs++
				if resolves {
					falses++
				}
				continue
			}
			n++
			if resolves && !top.right {
				wrong++
			}
			if resolves && top.right {
				right++
			}
		}
		if ratio(falses, negs) <= 0.02 && ratio(wrong, n) <= 0.02 {
			c.bias = try.bias
			at = [3]float64{ratio(right, n), ratio(wrong, n), ratio(falses, negs)}
		}
	}
	return c, at
}
