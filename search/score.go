package search

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
	"sort"

	"github.com/hive-dev/hive/schema"
)

// DefaultThreshold is the least score of a skill that `hive resolve` and
// `hive search` take for the same task: scores are calibrated estimates of
// the probability that the skill does the task asked (see docs/search.md),
// and at 0.7 a skill is returned for at most 3% of tasks no skill does on
// the labelled set's dev split.
const DefaultThreshold = 0.7

// Result is one ranked skill.
type Result struct {
	ID                schema.ID `json:"id"`
	Score             float64   `json:"score"`
	Intent            string    `json:"intent"`
	InstanceID        string    `json:"instance_id"`
	Confidence        float64   `json:"confidence"`
	VerificationScore float64   `json:"verification_score"`
}

// Query is a search.
type Query struct {
	Text      string
	Threshold float64 // results scoring below are left out
	Limit     int     // 0: no limit
	Instance  string  // "": any instance
}

// params are the scoring parameters, fitted on the labelled set's dev
// split (docs/search.md says how and what each added).
type params struct {
	k1     float64
	weight [nFields]float64 // BM25F field weights
	b      [nFields]float64 // BM25F length normalisation per field

	wn     [wnKinds]float64 // weight of a WordNet expansion by relation kind; 0 leaves it out
	wnRank int              // senses of a query word whose relations count
	abbrev float64          // weight of abbreviation expansions
	lemma  float64          // weight of a WordNet base form of a query word

	co      float64 // weight of corpus co-occurrence expansions; 0 leaves them out
	coTerms int     // at most this many per query word
	coDocs  int     // skills read per query word

	prf      float64 // weight of pseudo-relevance feedback terms; 0 leaves them out
	prfDocs  int
	prfTerms int

	tv    float64 // weight of the technical vectors' neighbours (times the cosine); 0 leaves them out
	tvK   int     // at most this many per query word
	tvMin float64 // least cosine of a neighbour
	dense bool    // compute the xDense feature (else 0)

	intentOnly float64 // what a term found in the intent alone counts for, times the intent's coherence (see normOf)
	cohFloor   float64 // the least coherence a skill counts with when scored (never in the statistics; see scoreCoh)

	candidates int  // skills scored in full (features, ranker, calibration)
	rerank     bool // rank by the ranker (else by BM25F)
	model      ranker
	cal        calibration
}

// ranker scores a skill's features for a query: a linear model, fitted on
// the dev split so that the skill asked for scores above its rivals
// (conditional logit over each query's candidates).
type ranker struct {
	w [nFeatures]float64
}

func (r *ranker) score(x *[nFeatures]float64) float64 {
	var z float64
	for i, v := range x {
		z += r.w[i] * v
	}
	return z
}

// calibration maps a skill's ranker score and its lead over the best
// other skill (not of its lineage) to the probability that it does the
// task asked: a logistic model fitted on the dev split, out of fold.
type calibration struct {
	bias, score, lead float64
}

// apply is the calibrated score of a ranker score and its lead.
func (c calibration) apply(score, lead float64) float64 {
	z := c.bias + c.score*score + c.lead*max(-maxLead, min(maxLead, lead))
	return 1 / (1 + math.Exp(-z))
}

// maxLead bounds the lead that counts: far ahead is far enough.
const maxLead = 10

// The features of a (query, skill) pair, each in [0,1]. None depends on
// the other candidates: a skill's rank by the ranker is its own, whatever
// else the hive holds (but for the rarity of words).
const (
	xScore       = iota // BM25F score over the most the query's concepts could score
	xExact              // the share of the query's weight whose own terms the skill has
	xIntent             // the share of the query's weight matched in the intent
	xPrecision          // the share of the intent's weight that the query matches
	xBody               // the share of the query's weight matched outside the intent
	xCoherence          // the share of the intent's weight that the rest of the skill also says (whatever the query)
	xFieldIntent        // BM25 of each field alone, over the most it could be
	xFieldTags
	xFieldActions
	xFieldDetails
	xFieldResult
	xCoverage // the share of the query's words that the skill has, each counting alike
	xRarest   // the weight of the rarest word of the query it has, over the rarest word's
	xPlain    // plain BM25 over all its text, own words only
	xDense    // the cosine of the query's and the skill's sums of technical vectors
	nFeatures
)

var featureNames = [nFeatures]string{"score", "exact", "intent", "precision", "body", "coherence",
	"field_intent", "field_tags", "field_actions", "field_details", "field_result", "coverage", "rarest", "plain", "techvec"}

// concept is one word of the query and the terms that stand for it: its
// own term, then its expansions, each with a weight.
type concept struct {
	word string
	term string // the word's own term, whether or not the hive has it
	own  int    // index in alts of the word's own term, -1 when the hive lacks it
	alts []alt
	idf  float64 // the concept's weight
	prf  bool    // a feedback concept: not part of what the query asked
}

type alt struct {
	text  string // the term
	term  uint32 // its number, when known
	known bool   // the index has the term
	w     float64
	via   string // "" for the word's own term; else how it was reached
}

// coScratch is co-occurrence's counters, by term, reused across queries:
// the skills counted in the high 16 bits, their weight in the low.
type coScratch struct {
	counts  []uint32
	touched []uint32
}

// scratch is one query's accumulators, reused across queries.
type scratch struct {
	score  []float32 // per doc
	tf     []float32 // per doc, the current concept's pseudo-frequency
	ctouch []uint32  // the docs whose tf is set
}

// idf is BM25's inverse document frequency of a term in df of n skills.
func idf[N int | float64](df, n N) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// idfOf is the idf of a term of weighted document frequency df in the
// index (see statWeight), or 1 for an index of no corpus.
func (ix *Index) idfOf(df float64) float64 {
	if ix.uniform {
		return 1
	}
	return idf(df, float64(ix.n)/statUnit)
}

// queryWords returns the distinct words of a query, lower-cased, with the
// term of each (function words left out).
func queryWords(text string) (words, terms []string) {
	seen := map[string]bool{}
	eachWord(text, func(w string) {
		t := term(w)
		if t == "" || seen[t] {
			return
		}
		seen[t] = true
		words = append(words, w)
		terms = append(terms, t)
	})
	return words, terms
}

// concepts analyses a query: a concept per distinct word, with its
// expansions from WordNet, abbreviations and the hive's own vocabulary.
// Terms the index lacks are kept only when extra (the terms of a skill
// outside the index) has them.
func (ix *Index) concepts(text string, extra map[string]*[nFields]uint8) []concept {
	words, terms := queryWords(text)
	var cs []concept
	for i, w := range words {
		c := concept{word: w, term: terms[i], own: -1}
		if k, ok := ix.vocab[terms[i]]; ok {
			c.own = 0
			c.alts = append(c.alts, alt{text: terms[i], term: k, known: true, w: 1})
			c.idf = ix.idfOf(ix.dfOf(k))
		} else {
			if extra[terms[i]] != nil {
				c.own = 0
				c.alts = append(c.alts, alt{text: terms[i], w: 1})
			}
			c.idf = ix.idfOf(0)
		}
		ix.expand(&c, w, terms[i], extra)
		if c.own < 0 && len(c.alts) > 0 {
			// A word the hive never uses stands for what its expansions
			// stand for, and weighs as the rarest of them.
			c.idf = 0
			for _, a := range c.alts {
				df := 0.0
				if a.known {
					df = ix.dfOf(a.term)
				}
				c.idf = max(c.idf, ix.idfOf(df))
			}
		} else if c.own == 0 && c.alts[0].known && ix.df[c.alts[0].term] == 0 && len(c.alts) > 1 {
			// So does a word only traces that count for nothing in the
			// statistics use (an intent borne out by nothing, a copy of
			// the query): such traces change no query's weights.
			c.idf = 0
			for _, a := range c.alts[1:] {
				df := 0.0
				if a.known {
					df = ix.dfOf(a.term)
				}
				c.idf = max(c.idf, ix.idfOf(df))
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// common reports whether a term is in more than a tenth of the skills of
// a hive of 100 or more: as an expansion it would add little (its idf is
// low) at the cost of its long postings.
func (ix *Index) common(t uint32) bool {
	return len(ix.docs) >= 100 && ix.df[t] > uint32(ix.n/10)
}

// addAlt adds term t to c with weight w, or raises the weight it has.
func (c *concept) addAlt(a alt) {
	for k := range c.alts {
		if c.alts[k].text == a.text {
			if a.w > c.alts[k].w {
				c.alts[k].w, c.alts[k].via = a.w, a.via
			}
			return
		}
	}
	c.alts = append(c.alts, a)
}

var wnKindNames = [wnKinds]string{"wordnet synonym", "wordnet derived form", "wordnet hypernym", "wordnet similar", "wordnet hyponym"}

// expand adds a query word's expansions to its concept.
func (ix *Index) expand(c *concept, w, own string, extra map[string]*[nFields]uint8) {
	p := ix.p
	addWord := func(r string, weight float64, via string) {
		t := term(r)
		if t == "" || t == own {
			return
		}
		if k, ok := ix.vocab[t]; ok {
			if ix.common(k) {
				return
			}
			c.addAlt(alt{text: t, term: k, known: true, w: weight, via: via})
		} else if extra[t] != nil {
			c.addAlt(alt{text: t, w: weight, via: via})
		}
	}
	if p.abbrev > 0 {
		for _, r := range abbreviationsOf()[own] {
			addWord(r, p.abbrev, "abbreviation")
		}
	}
	if p.wnRank > 0 || p.lemma > 0 {
		wn := loadWordNet()
		for _, l := range wn.lemmas(w) {
			if p.lemma > 0 {
				addWord(wn.words[l], p.lemma, "wordnet base form")
			}
			for _, r := range wn.rels[l] {
				if int(r.rank) >= p.wnRank || p.wn[r.kind] == 0 {
					continue
				}
				addWord(wn.words[r.word], p.wn[r.kind], wnKindNames[r.kind])
			}
		}
	}
	if p.co > 0 && c.own == 0 && c.alts[0].known {
		ix.cooccur(c)
	}
	if p.tv > 0 {
		ix.neighbours(c, own)
	}
}

// cooccur adds the terms that the hive's skills use together with the
// concept's own term, across fields: the intent words of skills whose
// other fields have it, and the other fields' words of skills whose intent
// has it, weighted by pointwise mutual information.
func (ix *Index) cooccur(c *concept) {
	p := ix.p
	t := c.alts[0].term
	post := ix.post[t]
	if len(post) < 2 {
		return
	}
	cs, _ := ix.coPool.Get().(*coScratch)
	if cs == nil || len(cs.counts) < len(ix.terms) {
		cs = &coScratch{counts: make([]uint32, len(ix.terms))}
	}
	defer ix.coPool.Put(cs)
	// Skills count by their weight in the statistics: one whose intent its
	// body does not bear out teaches nothing of what goes with what.
	read, readW := 0, 0
	for _, ps := range ix.sample(post, p.coDocs) {
		d := &ix.docs[ps.doc]
		read++
		readW += int(d.w)
		inIntent := ps.count(fIntent) > 0
		for k, u := range d.terms {
			if u == t {
				continue
			}
			// Across fields: what the intent says when the body has the
			// word, what the body says when the intent has it.
			if inIntent && (d.tfs[k][fDetails] > 0 || d.tfs[k][fResult] > 0 || d.tfs[k][fActions] > 0) ||
				!inIntent && d.tfs[k][fIntent] > 0 {
				if cs.counts[u] == 0 {
					cs.touched = append(cs.touched, u)
				}
				cs.counts[u] += 1<<16 | d.w
			}
		}
	}
	type cand struct {
		u   uint32
		pmi float64
	}
	var cands []cand
	for _, u := range cs.touched {
		k, kw := cs.counts[u]>>16, cs.counts[u]&0xffff
		cs.counts[u] = 0
		if k < 2 || ix.df[u] == 0 {
			continue
		}
		pmi := math.Log(float64(kw) * float64(ix.n) / (float64(readW) * float64(ix.df[u])))
		if pmi > 1 {
			cands = append(cands, cand{u, pmi})
		}
	}
	cs.touched = cs.touched[:0]
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].pmi != cands[j].pmi {
			return cands[i].pmi > cands[j].pmi
		}
		return ix.terms[cands[i].u] < ix.terms[cands[j].u] // not by number: numbers depend on the order of updates
	})
	if len(cands) > p.coTerms {
		cands = cands[:p.coTerms]
	}
	for _, cd := range cands {
		if ix.common(cd.u) {
			continue
		}
		c.addAlt(alt{text: ix.terms[cd.u], term: cd.u, known: true, w: p.co * min(1, cd.pmi/4), via: "co-occurrence in the hive"})
	}
}

// sample returns about n of the postings of skills that count in the
// statistics, chosen by their keys (those under a cutoff that n of the
// postings would be expected to pass), so that the sample is the same
// whatever order the skills entered the index in.
func (ix *Index) sample(post []posting, n int) []posting {
	var out []posting
	cut := uint64(math.MaxUint64)
	if len(post) > n {
		cut = uint64(float64(n) / float64(len(post)) * (1 << 63) * 2)
	}
	for _, ps := range post {
		if ix.keys[ps.doc] <= cut && ix.docs[ps.doc].w > 0 {
			out = append(out, ps)
		}
	}
	return out
}

// match is one scored skill.
type match struct {
	doc   uint32
	raw   float64 // BM25F
	x     [nFeatures]float64
	rank  float64 // the ranker's score
	lead  float64 // rank less the best other candidate's that is not of its lineage
	score float64 // calibrated
	tie   uint64
}

// rank scores every skill having a term of the query and returns the best
// k, scored in full, best first.
//
// extra is the analysis of a skill outside the index that the caller
// will score with the same concepts (Similarity), or nil.
func (ix *Index) rank(text string, k int, extra map[string]*[nFields]uint8) ([]match, []concept) {
	cs := ix.concepts(text, extra)
	if len(cs) == 0 || len(ix.docs) == 0 {
		return nil, cs
	}
	sc := ix.scratch()
	defer ix.pool.Put(sc)
	var top []match
	if ix.p.prf > 0 {
		ix.accumulate(cs, sc)
		if first := ix.top(sc, max(k, ix.p.prfDocs)); len(first) > 0 {
			if fb := ix.feedback(cs, first); len(fb.alts) > 0 {
				cs = append(cs, fb)
				ix.accumulate(cs[len(cs)-1:], sc)
			}
		}
		top = ix.top(sc, k)
		ix.reset(sc)
	} else {
		top = ix.best(cs, sc, k)
	}
	if len(top) == 0 {
		return nil, cs
	}
	key := tieKey(cs)
	for i := range top {
		m := &top[i]
		v := view{ix: ix, d: &ix.docs[m.doc], norm: ix.norm[m.doc]}
		m.x = ix.features(cs, v, m.raw)
		m.rank = ix.p.model.score(&m.x)
		m.tie = tieBreak(key, ix.docs[m.doc].id)
	}
	ix.leads(top)
	for i := range top {
		top[i].score = ix.p.cal.apply(top[i].rank, top[i].lead)
	}
	sort.Slice(top, func(i, j int) bool {
		a, b := &top[i], &top[j]
		if ix.p.rerank && a.score != b.score {
			return a.score > b.score
		}
		if ix.p.rerank && a.rank != b.rank {
			return a.rank > b.rank
		}
		if a.raw != b.raw {
			return a.raw > b.raw
		}
		if a.score != b.score {
			return a.score > b.score
		}
		return a.tie < b.tie
	})
	return top, cs
}

func (ix *Index) scratch() *scratch {
	sc, _ := ix.pool.Get().(*scratch)
	if sc == nil || len(sc.score) != len(ix.docs) {
		sc = &scratch{score: make([]float32, len(ix.docs)), tf: make([]float32, len(ix.docs))}
	}
	return sc
}

// altWeight is how much an expansion counts for its concept: its weight,
// and at most as much as its own rarity allows (a common word reached by
// a synonym of a rare one weighs as a common word).
func (ix *Index) altWeight(c *concept, a alt) float64 {
	if !a.known || c.idf == 0 {
		return a.w
	}
	return a.w * min(1, ix.idfOf(ix.dfOf(a.term))/c.idf)
}

// accumulate adds each concept's BM25F score to the skills: the concept's
// pseudo-frequency in a skill is the weighted sum, over its terms and the
// skill's fields, of the term's count over the field's length norm; the
// concept scores idf * tf / (k1 + tf), so a skill gains little from
// saying a word, or its synonyms, again and again.
func (ix *Index) accumulate(cs []concept, sc *scratch) {
	k1 := float32(ix.p.k1)
	for ci := range cs {
		c := &cs[ci]
		cidf := float32(c.idf)
		known := 0
		for _, a := range c.alts {
			if a.known && ix.altWeight(c, a) > 0 {
				known++
			}
		}
		if known == 1 {
			// One term: its pseudo-frequency is final, saturate at once.
			for _, a := range c.alts {
				wf := float32(ix.altWeight(c, a))
				if !a.known || wf <= 0 {
					continue
				}
				for _, ps := range ix.post[a.term] {
					if tf := wf * postingTF(ps, &ix.norm[ps.doc]); tf > 0 {
						sc.score[ps.doc] += cidf * tf / (k1 + tf)
					}
				}
			}
			continue
		}
		for _, a := range c.alts {
			wf := float32(ix.altWeight(c, a))
			if !a.known || wf <= 0 {
				continue
			}
			for _, ps := range ix.post[a.term] {
				d := ps.doc
				tf := postingTF(ps, &ix.norm[d])
				if tf <= 0 {
					continue // only in fields of weight 0
				}
				if sc.tf[d] == 0 {
					sc.ctouch = append(sc.ctouch, d)
				}
				sc.tf[d] += wf * tf
			}
		}
		for _, d := range sc.ctouch {
			tf := sc.tf[d]
			sc.tf[d] = 0
			sc.score[d] += cidf * tf / (k1 + tf)
		}
		sc.ctouch = sc.ctouch[:0]
	}
}

// best returns the k best skills by BM25F for the concepts, best first
// (then by doc number). The words' own terms are scored over their postings
// first; then, when what the expansions could add to a skill (bound) is less
// than the k-th best score so far, no skill that only an expansion reaches
// can be among the best k, and only the skills that could still be are
// scored in full, from their own terms (the expansions' postings, the
// longest, are not read). Otherwise the expansions' postings are read too.
func (ix *Index) best(cs []concept, sc *scratch, k int) []match {
	own := make([]concept, 0, len(cs))
	for _, c := range cs {
		if c.own >= 0 {
			o := c
			o.alts = c.alts[c.own : c.own+1]
			own = append(own, o)
		}
	}
	ix.accumulate(own, sc)
	bound := ix.expansionBound(cs)
	if bound == 0 {
		top := ix.top(sc, k)
		ix.reset(sc)
		return top
	}
	first := ix.top(sc, k)
	if len(first) < k || first[k-1].raw*(1-1e-4) <= bound {
		ix.reset(sc) // no pruning: every posting
		ix.accumulate(cs, sc)
		top := ix.top(sc, k)
		ix.reset(sc)
		return top
	}
	floor := float32((first[k-1].raw - bound) * (1 - 1e-4))
	var cands []match
	for d, s := range sc.score {
		if s >= floor && s > 0 {
			cands = append(cands, match{doc: uint32(d)})
		}
	}
	ix.reset(sc)
	for i := range cands {
		m := &cands[i]
		m.raw = ix.raw(cs, view{ix: ix, d: &ix.docs[m.doc], norm: ix.norm[m.doc]})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].raw != cands[j].raw {
			return cands[i].raw > cands[j].raw
		}
		return ix.docs[cands[i].doc].key < ix.docs[cands[j].doc].key
	})
	return cands[:min(k, len(cands))]
}

// expansionBound is the most that the concepts' expansions could add to a
// skill's BM25F score: for each concept, its weight times the saturation
// of the most its expansions could count (each term's highest count in
// each field over the hive's highest norm of that field). A concept's
// score is concave in its pseudo-frequency, so what expansions add to a
// skill is at most what they would score alone.
func (ix *Index) expansionBound(cs []concept) float64 {
	var u float64
	for ci := range cs {
		c := &cs[ci]
		var e float64
		for k, a := range c.alts {
			if k == c.own || !a.known {
				continue
			}
			var t float64
			for f, n := range ix.maxc[a.term] {
				t += float64(n) * float64(ix.maxNorm[f])
			}
			e += ix.altWeight(c, a) * t
		}
		if e > 0 {
			u += c.idf * e / (ix.p.k1 + e)
		}
	}
	return u
}

// pseudoTF is a term's BM25F pseudo-frequency in a skill: its count in
// each field over the field's norm, summed. A term the skill has in its
// intent alone counts nm[intentOnlyNorm] times: an intent is judged by what
// the rest of the skill says, so an intent that copies a query, or is
// stuffed with words, over a body about something else gains little or
// nothing.
func pseudoTF(tf *[nFields]uint8, nm *norms) float32 {
	var x float32
	for f := fTags; f < nFields; f++ {
		if tf[f] != 0 {
			x += float32(tf[f]) * nm[f]
		}
	}
	if tf[fIntent] != 0 {
		in := float32(tf[fIntent]) * nm[fIntent]
		if x == 0 {
			in *= nm[intentOnlyNorm]
		}
		x += in
	}
	return x
}

// postingTF is pseudoTF of a posting.
func postingTF(ps posting, nm *norms) float32 {
	x := float32(ps.tf>>(6*fTags)&63)*nm[fTags] + float32(ps.tf>>(6*fActions)&63)*nm[fActions] +
		float32(ps.tf>>(6*fDetails)&63)*nm[fDetails] + float32(ps.tf>>(6*fResult)&63)*nm[fResult]
	in := float32(ps.tf&63) * nm[fIntent]
	if x == 0 {
		in *= nm[intentOnlyNorm]
	}
	return x + in
}

// top returns the k best skills by BM25F, best first (then by doc
// number), keeping a min-heap of the best k seen: a skill that does not
// beat the worst of them costs a comparison.
func (ix *Index) top(sc *scratch, k int) []match {
	if k <= 0 {
		return nil
	}
	type hit struct {
		raw float32
		doc uint32
	}
	h := make([]hit, 0, k)
	// less orders the heap: the worst of the best k at the root.
	// Equal scores by the skills' keys, not by when they entered the
	// index, so that every build of a commit has the same candidates.
	less := func(a, b hit) bool {
		return a.raw < b.raw || a.raw == b.raw && ix.docs[a.doc].key > ix.docs[b.doc].key
	}
	down := func(i int) {
		for {
			l, small := 2*i+1, i
			if l < len(h) && less(h[l], h[small]) {
				small = l
			}
			if r := l + 1; r < len(h) && less(h[r], h[small]) {
				small = r
			}
			if small == i {
				return
			}
			h[i], h[small] = h[small], h[i]
			i = small
		}
	}
	for d, s := range sc.score {
		if s <= 0 {
			continue
		}
		m := hit{s, uint32(d)}
		if len(h) < k {
			h = append(h, m)
			for i := len(h) - 1; i > 0 && less(h[i], h[(i-1)/2]); i = (i - 1) / 2 {
				h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
			}
			continue
		}
		if s < h[0].raw {
			continue
		}
		if less(h[0], m) {
			h[0] = m
			down(0)
		}
	}
	sort.Slice(h, func(i, j int) bool { return less(h[j], h[i]) })
	out := make([]match, len(h))
	for i, m := range h {
		out[i] = match{doc: m.doc, raw: float64(m.raw)}
	}
	return out
}

func (ix *Index) reset(sc *scratch) {
	clear(sc.score)
}

// feedback is pseudo-relevance feedback: the terms that weigh most in the
// best skills of a first pass, which the query did not name, as one more
// concept.
func (ix *Index) feedback(cs []concept, top []match) concept {
	p := ix.p
	have := map[uint32]bool{}
	var mass float64
	for _, c := range cs {
		mass += c.idf
		for _, a := range c.alts {
			if a.known {
				have[a.term] = true
			}
		}
	}
	weights := map[uint32]float64{}
	for r, m := range top {
		if r >= p.prfDocs {
			break
		}
		d := &ix.docs[m.doc]
		rw := m.raw / top[0].raw
		for k, t := range d.terms {
			if have[t] || len(ix.post[t]) < 2 {
				continue
			}
			tf := float64(pseudoTF(&d.tfs[k], &ix.norm[m.doc]))
			weights[t] += rw * tf / (p.k1 + tf) * ix.idfOf(ix.dfOf(t))
		}
	}
	type tw struct {
		t uint32
		w float64
	}
	var ts []tw
	for t, w := range weights {
		ts = append(ts, tw{t, w})
	}
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].w != ts[j].w {
			return ts[i].w > ts[j].w
		}
		return ts[i].t < ts[j].t
	})
	if len(ts) > p.prfTerms {
		ts = ts[:p.prfTerms]
	}
	fb := concept{word: "(feedback)", own: -1, prf: true, idf: p.prf * mass / float64(max(1, len(cs)))}
	for _, x := range ts {
		fb.alts = append(fb.alts, alt{text: ix.terms[x.t], term: x.t, known: true, w: x.w / ts[0].w, via: "feedback from the best skills"})
	}
	return fb
}

// view is one skill as features and explanations read it: a doc of the
// index, or the analysis of a trace outside it.
type view struct {
	ix   *Index
	d    *doc      // in the index
	a    *analyzed // outside it
	norm norms
}

// tf returns the counts of a concept's term in the skill's fields.
func (v view) tf(a alt) ([nFields]uint8, bool) {
	if v.d != nil {
		if !a.known {
			return [nFields]uint8{}, false
		}
		j, ok := slices.BinarySearch(v.d.terms, a.term)
		if !ok {
			return [nFields]uint8{}, false
		}
		return v.d.tfs[j], true
	}
	c := v.a.tf[a.text]
	if c == nil {
		return [nFields]uint8{}, false
	}
	return *c, true
}

// intentTerms calls fn with each term of the intent, its idf, and whether
// the rest of the skill has it too.
func (v view) intentTerms(fn func(text string, idf float64, inBody bool)) {
	ix := v.ix
	body := func(tf *[nFields]uint8) bool {
		return tf[fTags] > 0 || tf[fActions] > 0 || tf[fDetails] > 0 || tf[fResult] > 0
	}
	if v.d != nil {
		for k, t := range v.d.terms {
			if v.d.tfs[k][fIntent] > 0 {
				fn(ix.terms[t], ix.idfOf(ix.dfOf(t)), body(&v.d.tfs[k]))
			}
		}
		return
	}
	for t, c := range v.a.tf {
		if c[fIntent] > 0 {
			df := 0.0
			if k, ok := ix.vocab[t]; ok {
				df = ix.dfOf(k)
			}
			fn(t, ix.idfOf(df+float64(v.a.w())/statUnit), body(c))
		}
	}
}

// raw is the skill's BM25F score for the concepts (what accumulate adds
// up, for one skill).
func (ix *Index) raw(cs []concept, v view) float64 {
	var s float64
	for ci := range cs {
		c := &cs[ci]
		var tf float64
		for _, a := range c.alts {
			t, ok := v.tf(a)
			if !ok {
				continue
			}
			x := float64(pseudoTF(&t, &v.norm))
			tf += ix.altWeight(c, a) * x
		}
		s += c.idf * tf / (ix.p.k1 + tf)
	}
	return s
}

// scoreCoh is the coherence a skill of coherence coh is scored with: at
// least cohFloor, so that a skill whose body bears out none of its intent's
// words (a concise honest trace: "Find the largest files" over `du -ah . |
// sort -rh | head`) is still found by its intent when nothing better
// matches, ranked below the skills whose bodies bear the query out. Its
// weight in the statistics stays its coherence (statWeight), so traces
// borne out by nothing, however many, make no word common.
func (p *params) scoreCoh(coh float32) float32 { return max(coh, float32(p.cohFloor)) }

// coh returns the share of the skill's intent that the rest of it bears
// out.
func (v view) coh() float32 {
	if v.d != nil {
		return v.d.coh
	}
	return v.a.coh
}

// lens returns the skill's field lengths.
func (v view) lens() [nFields]uint32 {
	if v.d != nil {
		return v.d.lens
	}
	return v.a.lens
}

// features computes a skill's features for the query's concepts, given its
// BM25F score.
func (ix *Index) features(cs []concept, v view, raw float64) [nFeatures]float64 {
	var x [nFeatures]float64
	var mass, exact, intent, body, rarest, maxIDF, plain float64
	var fields [nFields]float64
	var words int
	var have float64
	lens := v.lens()
	// Each field's length normalisation alone (no field weight), and the
	// whole skill's for plain BM25.
	var fnorm [nFields]float64
	var total, totalAvg float64
	for f := range nFields {
		avg := ix.avgLen(f, lens[f])
		fnorm[f] = 1 / (1 - ix.p.b[f] + ix.p.b[f]*float64(lens[f])/avg)
		total += float64(lens[f])
		totalAvg += avg
	}
	plainNorm := plainK1 * (1 - plainB + plainB*total/totalAvg)
	// A word found in the intent alone counts as far as the rest of the
	// skill bears its intent out (its coherence): a word the body also has
	// counts in full.
	coh := float64(ix.p.scoreCoh(v.coh()))
	matched := map[string]float64{}
	for ci := range cs {
		c := &cs[ci]
		if c.prf {
			continue
		}
		mass += c.idf
		words++
		maxIDF = max(maxIDF, c.idf)
		var inExact, inIntent, inBody, found float64
		var ftf [nFields]float64
		for k, a := range c.alts {
			tf, ok := v.tf(a)
			if !ok {
				continue
			}
			borne := 1.0
			if !bodyHas(&tf) {
				borne = coh
			}
			found = max(found, borne)
			w := min(1, a.w) // an expansion stands for the word at most fully
			if borne == 1 {
				inBody = max(inBody, w)
			}
			if k == c.own || a.w >= 1 { // an abbreviation is the word itself
				inExact = max(inExact, borne)
			}
			if k == c.own {
				var n float64
				for _, t := range tf {
					n += float64(t)
				}
				plain += borne * c.idf * n * (plainK1 + 1) / (n + plainNorm)
			}
			if tf[fIntent] > 0 {
				inIntent = max(inIntent, w*borne)
				matched[a.text] = max(matched[a.text], borne)
			}
			aw := ix.altWeight(c, a)
			for f, t := range tf {
				ftf[f] += aw * float64(t) * fnorm[f]
			}
			ftf[fIntent] -= (1 - borne) * aw * float64(tf[fIntent]) * fnorm[fIntent]
		}
		have += found
		if found > 0 {
			rarest = max(rarest, found*c.idf)
		}
		for f, t := range ftf {
			fields[f] += c.idf * t / (ix.p.k1 + t)
		}
		exact += c.idf * inExact
		intent += c.idf * inIntent
		body += c.idf * inBody
	}
	if mass == 0 {
		return x
	}
	var iAll, iMatched, iBody float64
	v.intentTerms(func(t string, w float64, inBody bool) {
		iAll += w
		iMatched += w * matched[t]
		if inBody {
			iBody += w
		}
	})
	if iAll > 0 {
		x[xCoherence] = iBody / iAll
		x[xPrecision] = iMatched / iAll
	}
	x[xScore] = min(1, raw/mass)
	x[xExact] = exact / mass
	x[xIntent] = intent / mass
	x[xBody] = body / mass
	for f := range nFields {
		x[xFieldIntent+f] = fields[f] / mass
	}
	x[xCoverage] = have / float64(words)
	if maxIDF > 0 {
		x[xRarest] = rarest / maxIDF
	}
	x[xPlain] = plain / mass
	if ix.p.dense {
		x[xDense] = ix.denseCos(cs, v)
	}
	return x
}

// Plain BM25's parameters, for the xPlain feature.
const (
	plainK1 = 1.2
	plainB  = 0.75
)

// mass is the most the query's concepts could score: the sum of their
// weights.
func mass(cs []concept) float64 {
	var m float64
	for _, c := range cs {
		if !c.prf {
			m += c.idf
		}
	}
	return m
}

// leads sets each candidate's lead: its ranker score less the best score
// of the candidates outside its lineage family (the skills it was derived
// from or that derive from it, directly or through other candidates: they
// do the same task, as a rule, and do not make it less clearly the skill
// asked for).
func (ix *Index) leads(top []match) {
	ds := make([]*doc, len(top))
	for i := range top {
		ds[i] = &ix.docs[top[i].doc]
	}
	fam := families(ds)
	for i := range top {
		rival, found := 0.0, false
		for j := range top {
			if fam[j] != fam[i] && (!found || top[j].rank > rival) {
				rival, found = top[j].rank, true
			}
		}
		top[i].lead = leadOf(top[i].rank, rival, found)
	}
}

// families numbers the lineage families of skills: two skills are of one
// family when one was derived from the other, directly or through others of
// the list.
func families(ds []*doc) []int {
	parent := make([]int, len(ds))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if ds[i].id == ds[j].id || related(ds[i], ds[j]) {
				parent[find(i)] = find(j)
			}
		}
	}
	out := make([]int, len(ds))
	for i := range out {
		out[i] = find(i)
	}
	return out
}

// leadOf is a ranker score's lead over the best rival's; with no rival,
// over a skill that matches nothing (which scores 0).
func leadOf(rank, rival float64, found bool) float64 {
	if !found {
		return rank
	}
	return rank - rival
}

// scoreAgainst scores a skill (v, doc d, BM25F raw) that may not be among
// the candidates top (scored): its features, ranker score, lead over them
// and calibrated score, as rank gives them to candidates.
func (ix *Index) scoreAgainst(cs []concept, v view, d *doc, raw float64, top []match) match {
	m := match{raw: raw}
	m.x = ix.features(cs, v, raw)
	m.rank = ix.p.model.score(&m.x)
	ds := []*doc{d}
	for i := range top {
		ds = append(ds, &ix.docs[top[i].doc])
	}
	fam := families(ds)
	rival, found := 0.0, false
	for j := range top {
		if fam[j+1] != fam[0] && (!found || top[j].rank > rival) {
			rival, found = top[j].rank, true
		}
	}
	m.lead = leadOf(m.rank, rival, found)
	m.score = ix.p.cal.apply(m.rank, m.lead)
	return m
}

// related reports whether one of two skills was derived from the other.
func related(a, b *doc) bool {
	return slices.Contains(a.lineage, b.id) || slices.Contains(b.lineage, a.id)
}

// tieKey is a key made of the query's analysed words: skills that score
// exactly alike are ordered by a hash of this key and their id, so no id
// wins ties in general (an author would have to grind an id against each
// exact query), rather than by the id itself.
func tieKey(cs []concept) []byte {
	var b []byte
	for _, c := range cs {
		b = append(b, c.word...)
		b = append(b, 0)
	}
	return b
}

func tieBreak(key []byte, id schema.ID) uint64 {
	h := sha256.New()
	h.Write(key)
	h.Write([]byte(id))
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// Coherence is the share of the intent of skill id that the rest of it
// (tags, steps, result) bears out, doubled and capped at 1, and whether the
// index has the skill. A skill of coherence 0 is found by its intent only
// weakly (docs/search.md).
func (ix *Index) Coherence(id schema.ID) (float64, bool) {
	i, ok := ix.byID[id]
	if !ok {
		return 0, false
	}
	return float64(ix.docs[i].coh), true
}

// Search ranks the skills for q.Text, best first; skills scoring below
// q.Threshold are left out.
//
// Skills are first ranked by BM25F over all their fields, with the query's
// words expanded; the best max(Limit, 200) of them (or of 50 when a limit
// under 50 is asked) are then scored in full and ranked by that score.
func (ix *Index) Search(q Query) []Result {
	ms, _ := ix.results(q)
	out := make([]Result, 0, len(ms))
	for _, m := range ms {
		out = append(out, ix.result(m))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (ix *Index) result(m match) Result {
	d := &ix.docs[m.doc]
	return Result{ID: d.id, Score: m.score, Intent: d.intent, InstanceID: d.instance, Confidence: d.conf, VerificationScore: d.verif}
}

// results are the matches Search returns, and the query's concepts.
func (ix *Index) results(q Query) ([]match, []concept) {
	k := ix.p.candidates
	if q.Limit == 0 || q.Limit > k {
		k = max(q.Limit, 200)
	}
	ms, cs := ix.rank(q.Text, k, nil)
	out := ms[:0]
	for _, m := range ms {
		if m.score < q.Threshold || m.score == 0 || q.Instance != "" && ix.docs[m.doc].instance != q.Instance {
			continue
		}
		out = append(out, m)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, cs
}

// Explanation says why a skill scored what it did for a query: its BM25F
// score (which made it a candidate), the features the ranker weighed and
// their weights, the ranker's score and its lead over the best skill of
// another lineage family (of which Score is the calibration), and for each
// word of the query the terms that stood for it in the skill, and where.
type Explanation struct {
	Result
	BM25F    float64            `json:"bm25f"`
	Ranker   float64            `json:"ranker"`
	Lead     float64            `json:"lead"`
	Features map[string]float64 `json:"features"`
	Weights  map[string]float64 `json:"weights"`
	Words    []WordMatch        `json:"words"`
}

// WordMatch is one word of a query (or "(feedback)", the terms pseudo-
// relevance feedback added) and what the skill has of it.
type WordMatch struct {
	Word    string      `json:"word"`
	Weight  float64     `json:"weight"` // the word's weight: how rare it is in the hive
	Matches []TermMatch `json:"matches"`
}

// TermMatch is a term the skill has for a word: the word's own term, or an
// expansion of it (Via says which).
type TermMatch struct {
	Term   string         `json:"term"`
	Via    string         `json:"via,omitempty"`
	Weight float64        `json:"weight"`
	Fields map[string]int `json:"fields"` // field -> count
}

// Explain is Search with the reason for each result.
func (ix *Index) Explain(q Query) []Explanation {
	ms, cs := ix.results(q)
	var out []Explanation
	for _, m := range ms {
		e := Explanation{Result: ix.result(m), BM25F: m.raw, Ranker: m.rank, Lead: m.lead, Features: map[string]float64{}, Weights: map[string]float64{}}
		for i, v := range m.x {
			e.Features[featureNames[i]] = v
			e.Weights[featureNames[i]] = ix.p.model.w[i]
		}
		v := view{ix: ix, d: &ix.docs[m.doc], norm: ix.norm[m.doc]}
		for ci := range cs {
			c := &cs[ci]
			w := WordMatch{Word: c.word, Weight: c.idf, Matches: []TermMatch{}}
			for _, a := range c.alts {
				tf, ok := v.tf(a)
				if !ok {
					continue
				}
				tm := TermMatch{Term: a.text, Via: a.via, Weight: ix.altWeight(c, a), Fields: map[string]int{}}
				for f, n := range tf {
					if n > 0 {
						tm.Fields[fieldNames[f]] = int(n)
					}
				}
				w.Matches = append(w.Matches, tm)
			}
			e.Words = append(e.Words, w)
		}
		out = append(out, e)
	}
	return out
}
