package search

import (
	_ "embed"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/hive-dev/hive/search/internal/techvec"
)

// techvecTable is word vectors learned from technical text, Debian's
// documentation packages, by search/internal/techvec/learn (see
// TECHVEC-SOURCES): for the commonest terms of that text (38,379), a
// vector of 128 signed bytes and the terms nearest it.
//
//go:embed techvec.bin
var techvecTable []byte

var (
	tvOnce sync.Once
	tv     *techvec.Table
)

// loadVectors decodes the embedded table once.
func loadVectors() *techvec.Table {
	tvOnce.Do(func() {
		var err error
		if tv, err = techvec.Decode(techvecTable); err != nil {
			panic("search: embedded techvec.bin: " + err.Error()) // a build defect, caught by every test
		}
	})
	return tv
}

// neighbours adds to c the hive's terms nearest the word's own by the
// technical vectors: at most p.tvK of the table's nearest terms that the
// hive has (and not in a tenth of its skills), of cosine p.tvMin or more,
// each at p.tv × its cosine.
func (ix *Index) neighbours(c *concept, own string) {
	p := ix.p
	vs := loadVectors()
	r, ok := vs.Index[own]
	if !ok {
		return
	}
	n := 0
	for _, nb := range vs.Nbrs[r] {
		if n == p.tvK || nb.Cos < float32(p.tvMin) {
			break
		}
		text := vs.Terms[nb.Row]
		t, ok := ix.vocab[text]
		if !ok || ix.df[t] == 0 || ix.common(t) {
			continue
		}
		c.addAlt(alt{text: text, term: t, known: true, w: p.tv * float64(nb.Cos), via: "technical vectors"})
		n++
	}
}

// denseCos is the cosine between the query's and the skill's idf-weighted
// sums of technical vectors (0 when negative or when either has none): the
// query's words, and the skill's terms of its intent (times its
// coherence), tags and steps.
func (ix *Index) denseCos(cs []concept, v view) float64 {
	vs := loadVectors()
	d := vs.Dims
	var qbuf, sbuf [256]float32 // on the stack for the tables of up to 256 dimensions shipped
	q, s := qbuf[:min(d, 256)], sbuf[:min(d, 256)]
	if d > 256 { // a wider table (HIVE_TECHVEC, up to techvec's 1024)
		q, s = make([]float32, d), make([]float32, d)
	}
	addTo := func(acc []float32, text string, w float32) {
		r, ok := vs.Index[text]
		if !ok || w == 0 || vs.Norm[r] == 0 {
			return
		}
		w /= vs.Norm[r]
		for i, x := range vs.Vector(r) {
			acc[i] += w * float32(x)
		}
	}
	for ci := range cs {
		// Every word of the query counts, whether or not the hive has it
		// (a trace that merely names it changes nothing), by its rarity.
		c := &cs[ci]
		if c.prf || c.term == "" {
			continue
		}
		df := 0.0
		if k, ok := ix.vocab[c.term]; ok {
			df = ix.dfOf(k)
		}
		addTo(q, c.term, float32(ix.idfOf(df)))
	}
	// The intent by its coherence itself, not the floor it is scored
	// with (scoreCoh): a cosine does not see scale, so any weight on the
	// intent of a skill whose body says nothing related would make its
	// vector the intent's, and a copy of a query 1.
	coh := v.coh()
	add := func(text string, df float64, tf *[nFields]uint8) {
		var w float32
		if tf[fTags] > 0 || tf[fActions] > 0 || tf[fDetails] > 0 {
			w = 1
		} else if tf[fIntent] > 0 {
			w = coh
		}
		addTo(s, text, w*float32(ix.idfOf(df)))
	}
	if v.d != nil {
		for k, t := range v.d.terms {
			add(ix.terms[t], ix.dfOf(t), &v.d.tfs[k])
		}
	} else {
		// In a fixed order, so that the sum, and the score, are the same
		// at every call.
		for _, t := range slices.Sorted(maps.Keys(v.a.tf)) {
			df := 0.0
			if k, ok := ix.vocab[t]; ok {
				df = ix.dfOf(k)
			}
			add(t, df, v.a.tf[t])
		}
	}
	var qq, ss, qs float64
	for i := range q {
		qq += float64(q[i] * q[i])
		ss += float64(s[i] * s[i])
		qs += float64(q[i] * s[i])
	}
	if qq == 0 || ss == 0 || qs <= 0 {
		return 0
	}
	return qs / math.Sqrt(qq*ss)
}
