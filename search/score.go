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

	intentOnly float64 // what a term found in the intent alone counts for (see pseudoTF)

	candidates int  // skills scored in full (features, calibration)
	rerank     bool // rank by the calibrated score (else by BM25F)
	cal        calibration
}

// calibration maps a skill's features for a query to the probability that
// it does the task asked: a logistic model fitted on the dev split.
type calibration struct {
	bias float64
	w    [nFeatures]float64
}

// The features of a (query, skill) pair, each in [0,1].
const (
	xScore     = iota // BM25F score over the most the query's concepts could score
	xExact            // the share of the query's weight whose own terms the skill has
	xIntent           // the share of the query's weight matched in the intent
	xPrecision        // the share of the intent's weight that the query matches
	xBody             // the share of the query's weight matched outside the intent
	xMargin           // how far the skill's BM25F score is ahead of the best other skill's (negative when behind), over the most it could be
	xCoherence        // the share of the intent's weight that the rest of the skill also says (whatever the query)
	nFeatures
)

var featureNames = [nFeatures]string{"score", "exact", "intent", "precision", "body", "margin", "coherence"}

// concept is one word of the query and the terms that stand for it: its
// own term, then its expansions, each with a weight.
type concept struct {
	word string
	own  int // index in alts of the word's own term, -1 when the hive lacks it
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

// coScratch is co-occurrence's counters, by term, reused across queries.
type coScratch struct {
	counts  []uint16
	touched []uint32
}

// scratch is one query's accumulators, reused across queries.
type scratch struct {
	score   []float32 // per doc
	tf      []float32 // per doc, the current concept's pseudo-frequency
	touched []uint32
	ctouch  []uint32
}

// idf is BM25's inverse document frequency of a term in df of n skills.
func idf(df, n int) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// idfOf is a term's idf in the index, or 1 for an index of no corpus.
func (ix *Index) idfOf(df int) float64 {
	if ix.uniform {
		return 1
	}
	return idf(df, len(ix.docs))
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
		c := concept{word: w, own: -1}
		if k, ok := ix.vocab[terms[i]]; ok {
			c.own = 0
			c.alts = append(c.alts, alt{text: terms[i], term: k, known: true, w: 1})
			c.idf = ix.idfOf(int(ix.df[k]))
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
				df := 0
				if a.known {
					df = int(ix.df[a.term])
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
	n := len(ix.docs)
	return n >= 100 && int(ix.df[t]) > n/10
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
	n := float64(len(ix.docs))
	cs, _ := ix.coPool.Get().(*coScratch)
	if cs == nil || len(cs.counts) < len(ix.terms) {
		cs = &coScratch{counts: make([]uint16, len(ix.terms))}
	}
	defer ix.coPool.Put(cs)
	read := 0
	for _, ps := range post {
		if read >= p.coDocs {
			break
		}
		read++
		d := &ix.docs[ps.doc]
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
				cs.counts[u]++
			}
		}
	}
	type cand struct {
		u   uint32
		pmi float64
	}
	var cands []cand
	scale := float64(len(post)) / float64(read)
	for _, u := range cs.touched {
		k := cs.counts[u]
		cs.counts[u] = 0
		if k < 2 {
			continue
		}
		pmi := math.Log(float64(k) * scale * n / (float64(len(post)) * float64(ix.df[u])))
		if pmi > 1 {
			cands = append(cands, cand{u, pmi})
		}
	}
	cs.touched = cs.touched[:0]
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].pmi != cands[j].pmi {
			return cands[i].pmi > cands[j].pmi
		}
		return cands[i].u < cands[j].u
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

// match is one scored skill.
type match struct {
	doc   uint32
	raw   float64 // BM25F
	x     [nFeatures]float64
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
	ix.accumulate(cs, sc)
	top := ix.top(sc, max(k, ix.p.prfDocs))
	if ix.p.prf > 0 && len(top) > 0 {
		if fb := ix.feedback(cs, top); len(fb.alts) > 0 {
			cs = append(cs, fb)
			ix.accumulate(cs[len(cs)-1:], sc)
		}
	}
	top = ix.top(sc, k)
	ix.reset(sc)
	if len(top) == 0 {
		return nil, cs
	}
	key := tieKey(cs)
	for i := range top {
		m := &top[i]
		v := view{ix: ix, d: &ix.docs[m.doc], norm: ix.norm[m.doc]}
		m.x = ix.features(cs, v, m.raw)
		m.x[xMargin] = margin(m.raw, ix.bestOther(top, i), mass(cs))
		m.score = ix.p.cal.apply(m.x)
		m.tie = tieBreak(key, ix.docs[m.doc].id)
	}
	sort.Slice(top, func(i, j int) bool {
		a, b := &top[i], &top[j]
		if ix.p.rerank && a.score != b.score {
			return a.score > b.score
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
	return a.w * min(1, ix.idfOf(int(ix.df[a.term]))/c.idf)
}

// accumulate adds each concept's BM25F score to the skills: the concept's
// pseudo-frequency in a skill is the weighted sum, over its terms and the
// skill's fields, of the term's count over the field's length norm; the
// concept scores idf * tf / (k1 + tf), so a skill gains little from
// saying a word, or its synonyms, again and again.
func (ix *Index) accumulate(cs []concept, sc *scratch) {
	k1 := float32(ix.p.k1)
	io := float32(ix.p.intentOnly)
	for ci := range cs {
		c := &cs[ci]
		for _, a := range c.alts {
			if !a.known {
				continue
			}
			wf := float32(ix.altWeight(c, a))
			if wf <= 0 {
				continue
			}
			for _, ps := range ix.post[a.term] {
				d := ps.doc
				nm := &ix.norm[d]
				tf := postingTF(ps, nm, io)
				if tf <= 0 {
					continue // only in fields of weight 0
				}
				if sc.tf[d] == 0 {
					sc.ctouch = append(sc.ctouch, d)
				}
				sc.tf[d] += wf * tf
			}
		}
		cidf := float32(c.idf)
		for _, d := range sc.ctouch {
			tf := sc.tf[d]
			sc.tf[d] = 0
			if sc.score[d] == 0 {
				sc.touched = append(sc.touched, d)
			}
			sc.score[d] += cidf * tf / (k1 + tf)
		}
		sc.ctouch = sc.ctouch[:0]
	}
}

// pseudoTF is a term's BM25F pseudo-frequency in a skill: its count in
// each field over the field's norm, summed. A term the skill has in its
// intent alone counts intentOnly times: an intent is judged by what the
// rest of the skill says, so an intent that copies a query, or is stuffed
// with words, over a body about something else gains less.
func pseudoTF(tf *[nFields]uint8, nm *[nFields]float32, intentOnly float32) float32 {
	var x float32
	for f := fTags; f < nFields; f++ {
		if tf[f] != 0 {
			x += float32(tf[f]) * nm[f]
		}
	}
	if tf[fIntent] != 0 {
		in := float32(tf[fIntent]) * nm[fIntent]
		if x == 0 {
			in *= intentOnly
		}
		x += in
	}
	return x
}

// postingTF is pseudoTF of a posting.
func postingTF(ps posting, nm *[nFields]float32, intentOnly float32) float32 {
	var x float32
	for f := fTags; f < nFields; f++ {
		if c := ps.count(f); c != 0 {
			x += float32(c) * nm[f]
		}
	}
	if c := ps.count(fIntent); c != 0 {
		in := float32(c) * nm[fIntent]
		if x == 0 {
			in *= intentOnly
		}
		x += in
	}
	return x
}

// top returns the k best skills by BM25F, best first (then by doc
// number), keeping a min-heap of the best k seen.
func (ix *Index) top(sc *scratch, k int) []match {
	if k <= 0 {
		return nil
	}
	h := make([]match, 0, k)
	// less orders the heap: the worst of the best k at the root.
	less := func(a, b match) bool { return a.raw < b.raw || a.raw == b.raw && a.doc > b.doc }
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
	for _, d := range sc.touched {
		s := float64(sc.score[d])
		if s <= 0 {
			continue
		}
		m := match{doc: d, raw: s}
		if len(h) < k {
			h = append(h, m)
			for i := len(h) - 1; i > 0 && less(h[i], h[(i-1)/2]); i = (i - 1) / 2 {
				h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
			}
			continue
		}
		if less(h[0], m) {
			h[0] = m
			down(0)
		}
	}
	sort.Slice(h, func(i, j int) bool { return less(h[j], h[i]) })
	return h
}

func (ix *Index) reset(sc *scratch) {
	for _, d := range sc.touched {
		sc.score[d] = 0
	}
	sc.touched = sc.touched[:0]
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
			if have[t] || ix.df[t] < 2 {
				continue
			}
			tf := float64(pseudoTF(&d.tfs[k], &ix.norm[m.doc], float32(p.intentOnly)))
			weights[t] += rw * tf / (p.k1 + tf) * ix.idfOf(int(ix.df[t]))
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
	norm [nFields]float32
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
				fn(ix.terms[t], ix.idfOf(int(ix.df[t])), body(&v.d.tfs[k]))
			}
		}
		return
	}
	for t, c := range v.a.tf {
		if c[fIntent] > 0 {
			df := 0
			if k, ok := ix.vocab[t]; ok {
				df = int(ix.df[k])
			}
			fn(t, ix.idfOf(df+1), body(c))
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
			x := float64(pseudoTF(&t, &v.norm, float32(ix.p.intentOnly)))
			tf += ix.altWeight(c, a) * x
		}
		s += c.idf * tf / (ix.p.k1 + tf)
	}
	return s
}

// features computes a skill's features for the query's concepts, given its
// BM25F score.
func (ix *Index) features(cs []concept, v view, raw float64) [nFeatures]float64 {
	var x [nFeatures]float64
	var mass, exact, intent, body float64
	matched := map[string]float64{}
	for _, c := range cs {
		if c.prf {
			continue
		}
		mass += c.idf
		var inExact, inIntent, inBody float64
		for k, a := range c.alts {
			tf, ok := v.tf(a)
			if !ok {
				continue
			}
			w := min(1, a.w) // an expansion stands for the word at most fully
			if tf[fTags] > 0 || tf[fActions] > 0 || tf[fDetails] > 0 || tf[fResult] > 0 {
				inBody = max(inBody, w)
			}
			if k == c.own {
				inExact = 1
			}
			if tf[fIntent] > 0 {
				inIntent = max(inIntent, w)
				matched[a.text] = 1
			}
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
	}
	x[xScore] = min(1, raw/mass)
	x[xExact] = exact / mass
	x[xIntent] = intent / mass
	x[xBody] = body / mass
	if iAll > 0 {
		x[xPrecision] = iMatched / iAll
	}
	return x
}

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

// bestOther is the best BM25F score among the candidates other than the
// i-th and not of its lineage (its parents and the skills derived from it
// do the same task, as a rule: they do not make it less clearly the
// skill asked for).
func (ix *Index) bestOther(top []match, i int) float64 {
	d := &ix.docs[top[i].doc]
	for j := range top {
		if j == i {
			continue
		}
		o := &ix.docs[top[j].doc]
		if !related(d, o) {
			return top[j].raw // top is in BM25F order here
		}
	}
	return 0
}

// related reports whether one of two skills was derived from the other.
func related(a, b *doc) bool {
	return slices.Contains(a.lineage, b.id) || slices.Contains(b.lineage, a.id)
}

// margin is how far a score is ahead of another, over the most the
// query's concepts could score (so a weak match has a small lead, however
// few its rivals).
func margin(raw, other, mass float64) float64 {
	if mass <= 0 {
		return 0
	}
	return max(-1, min(1, (raw-other)/mass))
}

// apply is the calibrated score of features x.
func (c calibration) apply(x [nFeatures]float64) float64 {
	z := c.bias
	for i, v := range x {
		z += c.w[i] * v
	}
	return 1 / (1 + math.Exp(-z))
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
// score, the features the calibrated score is made of, and for each word
// of the query the terms that stood for it in the skill, and where.
type Explanation struct {
	Result
	BM25F    float64            `json:"bm25f"`
	Features map[string]float64 `json:"features"`
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
		e := Explanation{Result: ix.result(m), BM25F: m.raw, Features: map[string]float64{}}
		for i, v := range m.x {
			e.Features[featureNames[i]] = v
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
