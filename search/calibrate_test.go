package search

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/schema"
)

// TestFitCalibration fits the calibration on the dev split
// (HIVE_SEARCH_FIT=1 go test -run FitCalibration -v ./search) and prints
// it for params.go. The model is a logistic regression of "this skill does
// the task asked" on a pair's features, over the best ten skills of every
// dev query (the right one is a positive, the others negatives) and of
// every dev negative; then the bias is lowered, if need be, until at most
// 2% of the dev negatives resolve to a skill at DefaultThreshold (3% is
// the target; the margin is for queries the fit has not seen).
func TestFitCalibration(t *testing.T) {
	if os.Getenv("HIVE_SEARCH_FIT") != "1" {
		t.Skip("set HIVE_SEARCH_FIT=1")
	}
	l := labelledSet(t)
	p := defaultParams
	ix, ids := labelledIndex(t, &p)
	// The pairs come from the set's skills beside traces that copy each
	// dev query into their intent over a body about nothing (labelled
	// not the skill asked for, as they are not): so the fit learns what a
	// skill's body says, and TestGaming holds with other attackers.
	gamed := newIndex(plumbing.ZeroHash)
	gamed.p = &p
	var all []*schema.Trace
	for _, s := range l.Skills {
		all = append(all, s.Trace)
	}
	for i, q := range l.Dev.Queries {
		all = append(all, copier(i, q.Text))
	}
	gamed.addTraces(all...)
	xs, ys, copied := calibrationPairs(gamed, ids, l.Dev, 10)
	ws := make([]float64, len(xs))
	for i := range ws {
		ws[i] = 1
		if copied[i] {
			ws[i] = copierWeight
		}
	}
	if v := os.Getenv("HIVE_SEARCH_FIT_COPIER"); v != "" {
		w, _ := strconv.ParseFloat(v, 64)
		for i := range ws {
			if copied[i] {
				ws[i] = w
			}
		}
	}
	if os.Getenv("HIVE_SEARCH_FIT_DROP") != "" { // a feature left out, to measure it
		k, _ := strconv.Atoi(os.Getenv("HIVE_SEARCH_FIT_DROP"))
		for i := range xs {
			xs[i][k] = 0
		}
	}
	c := fitLogistic(xs, ys, ws, 1e-3)
	p.cal = c
	t.Logf("fitted: %#v", c)
	// The operating point: the highest bias (the most recall) that keeps
	// the dev negatives resolving to a skill, and the dev queries resolving
	// to the wrong skill, at 2% or under each.
	best := math.Inf(-1)
	for shift := -4.0; shift <= 4; shift += 0.05 {
		q := p
		q.cal.bias = c.bias + shift
		ix.p = &q
		f := measure(l.Dev, ids, indexRanker(ix), nil)
		if f.fmRate() <= 0.02 && f.wrongs() <= 0.02 {
			best = q.cal.bias
			t.Logf("shift %+.2f: %s", shift, f)
		}
	}
	t.Logf("calibration{bias: %.4f, w: [nFeatures]float64{%.4f, %.4f, %.4f, %.4f, %.4f, %.4f, %.4f}}", best, c.w[0], c.w[1], c.w[2], c.w[3], c.w[4], c.w[5], c.w[6])
}

// copierWeight is how much each pair of a query and a copier counts in
// the fit against a pair of honest skills.
const copierWeight = 0.5

// calibrationPairs returns the features of the best k skills of every
// query and negative of a split, whether each is the skill asked for, and
// whether it is a copier.
func calibrationPairs(ix *Index, ids map[string]schema.ID, sp fixtures.Split, k int) (xs [][nFeatures]float64, ys []float64, copied []bool) {
	add := func(text string, want schema.ID) {
		ms, _ := ix.rank(text, k, nil)
		for _, m := range ms {
			xs = append(xs, m.x)
			y := 0.0
			if ix.docs[m.doc].id == want {
				y = 1
			}
			ys = append(ys, y)
			copied = append(copied, strings.HasPrefix(ix.docs[m.doc].instance, "copier_"))
		}
	}
	for _, q := range sp.Queries {
		add(q.Text, ids[q.Key])
	}
	for _, n := range sp.Negatives {
		add(n.Text, "")
	}
	return xs, ys, copied
}

// fitLogistic fits p(y=1|x) = 1/(1+exp(-(b + w.x))) by Newton's method
// with an L2 penalty lambda on w.
func fitLogistic(xs [][nFeatures]float64, ys, ws []float64, lambda float64) calibration {
	const n = nFeatures + 1
	var beta [n]float64
	for iter := 0; iter < 50; iter++ {
		var g [n]float64
		var h [n][n]float64
		for i, x := range xs {
			v := [n]float64{1}
			copy(v[1:], x[:])
			z := 0.0
			for j := range v {
				z += beta[j] * v[j]
			}
			pr := 1 / (1 + math.Exp(-z))
			for j := range v {
				g[j] += ws[i] * (ys[i] - pr) * v[j]
				for k := range v {
					h[j][k] += ws[i] * pr * (1 - pr) * v[j] * v[k]
				}
			}
		}
		for j := 1; j < n; j++ {
			g[j] -= lambda * float64(len(xs)) * beta[j]
			h[j][j] += lambda * float64(len(xs))
		}
		step := solve(h, g)
		change := 0.0
		for j := range beta {
			beta[j] += step[j]
			change += math.Abs(step[j])
		}
		if change < 1e-9 {
			break
		}
	}
	var c calibration
	c.bias = beta[0]
	copy(c.w[:], beta[1:])
	return c
}

// solve solves h x = g by Gaussian elimination with partial pivoting.
func solve(h [nFeatures + 1][nFeatures + 1]float64, g [nFeatures + 1]float64) [nFeatures + 1]float64 {
	n := len(g)
	var x [nFeatures + 1]float64
	m := h
	b := g
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		m[col], m[piv] = m[piv], m[col]
		b[col], b[piv] = b[piv], b[col]
		if m[col][col] == 0 {
			continue
		}
		for r := col + 1; r < n; r++ {
			f := m[r][col] / m[col][col]
			for c := col; c < n; c++ {
				m[r][c] -= f * m[col][c]
			}
			b[r] -= f * b[col]
		}
	}
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < n; c++ {
			s -= m[r][c] * x[c]
		}
		if m[r][r] != 0 {
			x[r] = s / m[r][r]
		}
	}
	return x
}

// copier is a trace that copies a query into its intent over a body about
// nothing: the attacker the calibration is fitted against.
func copier(i int, query string) *schema.Trace {
	return bodiless("copier_"+strconv.Itoa(i), query, "answer", "Answered.", "ok\n")
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
