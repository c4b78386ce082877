package search

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestTechnicalVectors: a query word reaches a skill that says a term the
// technical vectors put near it (certificate: ca, pem...), shown by
// Explain, with the ranker's feature above zero; without the vectors the
// skill is not reached.
func TestTechnicalVectors(t *testing.T) {
	ca := bodiless("instance_a", "Install the CA bundle", "copy_bundle", "Copy the CA bundle into the trust store.", "install -m 644 bundle /etc/ssl\n")
	ca.Tags = []string{"ca"}
	csv := bodiless("instance_a", "Parse CSV files with pandas", "read_csv", "Read the file with pandas.", "import pandas\n")
	build := func(p *params) *Index {
		ix := newIndex(plumbing.ZeroHash)
		ix.p = p
		ix.addTraces(ca, csv)
		return ix
	}
	ix := build(&defaultParams)
	es := ix.Explain(Query{Text: "certificate", Limit: 2})
	if len(es) == 0 || es[0].Intent != ca.Intent {
		t.Fatalf("certificate: %+v, want %q first", es, ca.Intent)
	}
	via := false
	for _, w := range es[0].Words {
		for _, m := range w.Matches {
			via = via || m.Via == "technical vectors"
		}
	}
	if !via {
		t.Errorf("certificate: no match through the technical vectors in %+v", es[0].Words)
	}
	if es[0].Features["techvec"] <= 0 {
		t.Errorf("certificate: techvec feature %v for %q, want > 0", es[0].Features["techvec"], ca.Intent)
	}
	off := defaultParams
	off.tv, off.dense = 0, false
	if rs := build(&off).Search(Query{Text: "certificate"}); len(rs) != 0 {
		t.Errorf("without the vectors, certificate finds %+v", rs)
	}
}

// TestTechvecTable: the embedded table decodes, and its neighbours are
// the domain's (a guard against a table learned from the wrong text).
func TestTechvecTable(t *testing.T) {
	vs := loadVectors()
	near := func(a, b string) bool {
		for _, n := range vs.Nbrs[vs.Index[term(a)]] {
			if vs.Terms[n.Row] == term(b) {
				return true
			}
		}
		return false
	}
	for _, p := range [][2]string{{"certificate", "issuer"}, {"timeout", "retry"}, {"kill", "sigterm"}, {"credential", "password"}} {
		if !near(p[0], p[1]) {
			t.Errorf("%s is not among the nearest terms of %s", p[1], p[0])
		}
	}
}

// TestWideTechvecTable: a table of more dimensions than the shipped one
// (as HIVE_TECHVEC loads for experiments; techvec decodes up to 1024)
// gives the same feature as the same vectors padded with zeros, and does
// not overflow the feature's buffers.
func TestWideTechvecTable(t *testing.T) {
	shipped := loadVectors()
	wide := *shipped
	wide.Dims = 512
	wide.Vec = make([]int8, len(shipped.Terms)*wide.Dims)
	for r := range shipped.Terms {
		copy(wide.Vec[r*wide.Dims:], shipped.Vec[r*shipped.Dims:(r+1)*shipped.Dims])
	}
	feature := func() float64 {
		ca := bodiless("instance_a", "Install the CA bundle", "copy_bundle", "Copy the CA bundle into the trust store.", "install -m 644 bundle /etc/ssl\n")
		ix := newIndex(plumbing.ZeroHash)
		ix.addTraces(ca)
		es := ix.Explain(Query{Text: "certificate", Limit: 1})
		if len(es) == 0 {
			t.Fatal("certificate finds nothing")
		}
		return es[0].Features["techvec"]
	}
	want := feature()
	tv = &wide
	defer func() { tv = shipped }()
	if got := feature(); got != want || got <= 0 {
		t.Errorf("techvec feature with 512 dimensions = %v, want %v as with %d", got, want, shipped.Dims)
	}
}
