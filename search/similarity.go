// Package search finds the skills of a hive that do a task, however the
// task is worded: BM25F over every field of a skill with the hive's own
// corpus statistics, the query's words expanded through WordNet, common
// abbreviations and the hive's own vocabulary, and a score calibrated to
// read as the probability that a skill does the task asked (see
// docs/search.md). It knows nothing of git; the registry supplies traces.
package search

import (
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// Similarity is the score of trace t for the task query, in [0,1], as
// Index.Search scores it but with no corpus: every word counts as equally
// rare. It reads as the probability that t does the task asked; at
// DefaultThreshold and above, take it for the same task. Commands use it
// where there is no index to hand, such as `hive pull --intent` against
// another hive's traces; Index.Similarity uses a hive's statistics.
func Similarity(query string, t *schema.Trace) float64 {
	ix := newIndex(plumbing.ZeroHash)
	ix.uniform = true
	return ix.Similarity(query, t)
}

// Similarity is the score of trace t for the task query, in [0,1], with
// the statistics of the index's hive (how rare each word is), whether or
// not t is in it: what Search scores t, its lead over the best other skill
// of the hive included. Trust's near-duplicate detection reads it as the
// probability that t does the task of a skill whose intent is query.
func (ix *Index) Similarity(query string, t *schema.Trace) float64 {
	id := schema.Digest(mustMarshal(t))
	var v view
	var extra map[string]*[nFields]uint8
	if i, ok := ix.byID[id]; ok {
		v = view{ix: ix, d: &ix.docs[i], norm: ix.norm[i]}
	} else {
		a := analyzeTrace(toIndexed(t))
		v = view{ix: ix, a: &a, norm: ix.normOf(a.lens, a.coh)}
		extra = a.tf
	}
	ms, cs := ix.rank(query, ix.p.candidates, extra)
	raw := ix.raw(cs, v)
	if raw == 0 {
		return 0
	}
	return ix.scoreAgainst(cs, v, &doc{id: id, lineage: t.Lineage}, raw, ms).score
}

func mustMarshal(t *schema.Trace) []byte {
	b, err := t.Marshal()
	if err != nil {
		return nil
	}
	return b
}

func toIndexed(t *schema.Trace) *indexed {
	in := &indexed{Intent: t.Intent, Lineage: t.Lineage, Result: t.Result, Confidence: t.Confidence, VerificationScore: t.VerificationScore, InstanceID: t.InstanceID, Tags: t.Tags}
	for _, st := range t.ReasoningPath {
		in.ReasoningPath = append(in.ReasoningPath, step{Action: st.Action, Detail: st.Detail})
	}
	return in
}

// addTraces adds traces to the index as more skills, as an update would
// (tests).
func (ix *Index) addTraces(ts ...*schema.Trace) {
	old := len(ix.terms)
	var docs []doc
	for _, t := range ts {
		in := toIndexed(t)
		docs = append(docs, ix.numbered(schema.Digest(mustMarshal(t)), in, analyzeTrace(in)))
	}
	ix.apply(old, docs, nil)
}
