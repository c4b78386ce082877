package search

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestZZSim(t *testing.T) {
	for _, q := range []string{"Refactor auth to use env vars", "use environment variables for auth", "Parse a CSV file"} {
		ix := newIndex(plumbing.ZeroHash)
		ix.uniform = true
		a := analyzeTrace(toIndexed(seedTrace))
		v := view{ix: ix, a: &a, norm: ix.normOf(a.lens, a.coh)}
		_, cs := ix.rank(q, 50, a.tf)
		raw := ix.raw(cs, v)
		m := ix.scoreAgainst(cs, v, &doc{}, raw, nil)
		t.Logf("%q raw %.2f rank %.2f lead %.2f score %.3f x %.2v", q, raw, m.rank, m.lead, m.score, m.x)
	}
}
