package search

import (
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// TestSearchQuality measures the search on the labelled set of fixtures:
// each paraphrased query should rank its own skill first (recall@1) or in
// the top five (recall@5), and a query for a task no skill does should
// find nothing at the default threshold (false-match rate). The figures
// are logged (go test -v -run Quality ./search) and held above floors.
func TestSearchQuality(t *testing.T) {
	cases, negatives := fixtures.SearchSet()
	if len(cases) < 100 {
		t.Fatalf("labelled set has %d skills, want at least 100", len(cases))
	}
	s, err := fixtures.Memory(fixtures.Spec{Instances: 4})
	if err != nil {
		t.Fatal(err)
	}
	var in []registry.Input
	for i, c := range cases {
		b, err := c.Trace.Marshal()
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		in = append(in, registry.Input{Name: c.Query, Data: b})
	}
	added, err := s.AddBatch(in, fixtures.Spec{Instances: 4}.KeyFunc(), 50)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	var at1, at5, above int
	for i, c := range cases {
		want := added[i].ID
		rs := ix.Search(Query{Text: c.Query, Limit: 5})
		for rank, r := range rs {
			if r.ID == want {
				if rank == 0 {
					at1++
				}
				at5++
			}
		}
		if len(rs) > 0 && rs[0].ID == want && rs[0].Score >= DefaultThreshold {
			above++
		}
		if len(rs) == 0 || rs[0].ID != want {
			got := "nothing"
			if len(rs) > 0 {
				got = rs[0].Intent
			}
			t.Logf("miss@1: %q wants %q, got %q", c.Query, c.Trace.Intent, got)
		}
	}
	falseMatches := 0
	for _, q := range negatives {
		if rs := ix.Search(Query{Text: q, Threshold: DefaultThreshold, Limit: 1}); len(rs) > 0 {
			falseMatches++
			t.Logf("false match: %q scores %.2f for %q", q, rs[0].Score, rs[0].Intent)
		}
	}
	n := float64(len(cases))
	r1, r5, fm := float64(at1)/n, float64(at5)/n, float64(falseMatches)/float64(len(negatives))
	t.Logf("%d skills, %d paraphrased queries, %d queries for absent tasks", len(cases), len(cases), len(negatives))
	t.Logf("recall@1 %.3f, recall@5 %.3f, first result right and at least %.1f: %.3f, false-match rate at %.1f: %.3f",
		r1, r5, DefaultThreshold, float64(above)/n, DefaultThreshold, fm)
	if r1 < 0.8 {
		t.Errorf("recall@1 = %.3f, want at least 0.8", r1)
	}
	if r5 < 0.9 {
		t.Errorf("recall@5 = %.3f, want at least 0.9", r5)
	}
	if fm > 0.05 {
		t.Errorf("false-match rate = %.3f, want at most 0.05", fm)
	}
}
