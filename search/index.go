package search

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// The fields of a skill that the index keeps, each scored with its own
// weight and length normalisation (BM25F).
const (
	fIntent = iota
	fTags
	fActions // the actions of the reasoning steps
	fDetails // the details of the reasoning steps
	fResult  // the result: its identifiers, comments and strings
	nFields
)

var fieldNames = [nFields]string{"intent", "tags", "actions", "details", "result"}

// norms are a skill's field weights over their length normalisation, and
// at intentOnlyNorm what a term found in its intent alone counts for.
type norms [nFields + 1]float32

const intentOnlyNorm = nFields

// maxTF caps a term's count in one field of one skill: repeating a word
// past it gains nothing (and BM25's saturation gives little well before).
const maxTF = 63

// Index is the search index of one commit of a hive: for every skill on
// that commit's tree, the terms of each of its fields with their counts
// (the forward index, which is what the index file keeps), and for every
// term the skills that have it (postings, rebuilt on load), with the
// corpus statistics BM25F needs (document frequencies and field lengths),
// kept exactly as skills are added and removed. It is derived data, kept
// under <gitDir>/hive/index/ and never in the tree; an Index is safe for
// concurrent use.
type Index struct {
	commit  plumbing.Hash
	terms   []string          // term number -> term
	vocab   map[string]uint32 // term -> number
	df      []uint32          // term number -> the weight (see statWeight) of the skills having it
	n       uint64            // the weight of all the skills
	docs    []doc             // in the order they entered the index
	byID    map[schema.ID]uint32
	total   [nFields]uint64  // summed field lengths, each skill's times its weight
	lenAll  [nFields]uint64  // summed field lengths, every skill's alike (avgLen when no skill has weight)
	post    [][]posting      // term number -> the skills having it, by doc number
	maxc    [][nFields]uint8 // term number -> its highest count in each field of a skill
	maxNorm norms            // the highest norm of each field over the skills
	norm    []norms          // doc number -> field weight / length normalisation
	keys    []uint64         // doc number -> its key (doc.key), for scans
	p       *params          // the scoring parameters (defaults unless a test sets others)
	pool    sync.Pool        // *scratch
	coPool  sync.Pool        // *coScratch

	uniform bool // every term counts as equally rare (Similarity without a corpus)

	// extended is set once a successor (Update) has appended to the
	// slices this index shares with it, beyond this index's lengths: a
	// second successor must copy them instead.
	extended atomic.Bool
	// ownVocab is false while vocab is shared with the index this one
	// succeeds: it is copied before a new term is added.
	ownVocab bool

	file baseFile // the index file this index extends, if any
}

// doc is one skill as the index keeps it.
type doc struct {
	id          schema.ID
	intent      string
	instance    string
	conf, verif float64
	lens        [nFields]uint32
	lineage     []schema.ID      // the skills it was derived from
	coh         float32          // the share of its intent's terms that the rest of it also has
	w           uint32           // its weight in the statistics: statWeight(coh)
	key         uint64           // the first 8 bytes of its id: an order of skills that does not depend on when they entered the index
	terms       []uint32         // sorted, unique
	tfs         [][nFields]uint8 // per term, its count in each field
}

// posting is one skill having a term, and how often in each field, 6
// bits a field (counts over 63 count 63: BM25's saturation has long
// flattened them).
type posting struct {
	doc uint32
	tf  uint32
}

func newPosting(doc uint32, tf [nFields]uint8) posting {
	var packed uint32
	for f, c := range tf {
		packed |= uint32(min(c, 63)) << (6 * f)
	}
	return posting{doc: doc, tf: packed}
}

// count is the term's count in field f.
func (p posting) count(f int) uint32 { return p.tf >> (6 * f) & 63 }

// indexVersion names the file format and the analysis: an index made by
// another version is rebuilt, never read.
const indexVersion = "hive search index v4 " + analyzerVersion

// indexFile is where a hive keeps its index.
func indexFile(s *registry.Store) string {
	if s.GitDir() == "" {
		return ""
	}
	return filepath.Join(s.GitDir(), "hive", "index", "search.idx")
}

// OpenIndex returns the index of s's main, brought up to date: read from
// <gitDir>/hive/index/search.idx when that file is intact (its checksum
// matches) and its commit is main or an ancestor of main, then updated
// with the traces added and removed since (the diff of the two trees);
// built from every trace on main otherwise. The updated index is written
// back; a hive whose folder cannot be written is still searched.
func OpenIndex(s *registry.Store) (*Index, error) {
	head, err := s.Head()
	if err != nil {
		return nil, err
	}
	path := indexFile(s)
	if path != "" {
		if ix, err := readIndexFile(path); err == nil {
			if ix.commit == head {
				return ix, nil
			}
			if ok, err := s.IsAncestor(ix.commit, head); err == nil && ok {
				if err := ix.update(s, head); err == nil {
					_ = ix.save(path)
					return ix, nil
				}
			}
		}
	}
	ix, err := Build(s, head)
	if err != nil {
		return nil, err
	}
	if path != "" {
		_ = ix.writeFile(path)
	}
	return ix, nil
}

// Build makes the index of commit h from every trace in its tree, without
// reading or writing any file of the index.
func Build(s *registry.Store, h plumbing.Hash) (*Index, error) {
	ix := newIndex(plumbing.ZeroHash)
	if err := ix.update(s, h); err != nil {
		return nil, err
	}
	return ix, nil
}

func newIndex(h plumbing.Hash) *Index {
	return &Index{commit: h, vocab: map[string]uint32{}, byID: map[schema.ID]uint32{}, p: &defaultParams, ownVocab: true}
}

// Update returns the index of commit h, brought up from ix as OpenIndex
// brings up an index read from its file: when ix's commit is h or an
// ancestor of h, only the traces added since are read and analysed (the
// removed ones dropped); otherwise the index is built from h's tree. ix is
// not changed: searches on it may run during Update and after, as a server
// does while main moves. The two share what did not change. The index is
// not written to its file (OpenIndex does that).
func (ix *Index) Update(s *registry.Store, h plumbing.Hash) (*Index, error) {
	if ix.commit == h {
		return ix, nil
	}
	if ix.commit.IsZero() {
		return Build(s, h)
	}
	if ok, err := s.IsAncestor(ix.commit, h); err != nil || !ok {
		return Build(s, h)
	}
	nx := ix.successor()
	if err := nx.update(s, h); err != nil {
		return nil, err
	}
	return nx, nil
}

// successor is a copy of ix that shares its data: the slices it appends to
// are ix's when ix has no other successor (its searches read only up to
// its own lengths), copies otherwise; what it changes in place (document
// frequencies, field maxima, norms, the maps) is its own.
func (ix *Index) successor() *Index {
	nx := &Index{commit: ix.commit, terms: ix.terms, vocab: ix.vocab, df: slices.Clone(ix.df), n: ix.n, docs: ix.docs,
		byID: maps.Clone(ix.byID), total: ix.total, lenAll: ix.lenAll, post: slices.Clone(ix.post), maxc: slices.Clone(ix.maxc),
		maxNorm: ix.maxNorm, p: ix.p, uniform: ix.uniform, file: ix.file}
	if ix.extended.Swap(true) {
		// Another successor appends beyond ix's lengths: append to copies.
		nx.terms = slices.Clip(nx.terms)
		nx.docs = slices.Clip(nx.docs)
		for t := range nx.post {
			nx.post[t] = slices.Clip(nx.post[t])
		}
	}
	return nx
}

// Commit returns the commit the index reflects.
func (ix *Index) Commit() plumbing.Hash { return ix.commit }

// Len returns how many skills the index holds.
func (ix *Index) Len() int { return len(ix.docs) }

// indexed is the part of a trace the index reads. The trace was checked by
// the validator when it entered main and its bytes are checked against its
// id as they are read, so a lenient decode suffices here; commands re-read
// any trace they act on through the registry's strict parser.
type indexed struct {
	Intent            string      `json:"intent"`
	ReasoningPath     []step      `json:"reasoning_path"`
	Result            string      `json:"result"`
	Confidence        float64     `json:"confidence"`
	VerificationScore float64     `json:"verification_score"`
	InstanceID        string      `json:"instance_id"`
	Tags              []string    `json:"tags"`
	Lineage           []schema.ID `json:"lineage"`
}

// step is the part of a reasoning step the index reads.
type step struct {
	Action string `json:"action"`
	Detail string `json:"detail"`
}

// fieldTexts returns the text of each field of t.
func (t *indexed) fieldTexts() [nFields][]string {
	var f [nFields][]string
	f[fIntent] = []string{t.Intent}
	f[fTags] = t.Tags
	for _, st := range t.ReasoningPath {
		f[fActions] = append(f[fActions], st.Action)
		if st.Detail != "" {
			f[fDetails] = append(f[fDetails], st.Detail)
		}
	}
	f[fResult] = []string{t.Result}
	return f
}

// analyzed is a skill's terms before they are numbered: per term, its
// count in each field; and each field's length in terms.
type analyzed struct {
	tf   map[string]*[nFields]uint8
	lens [nFields]uint32
	coh  float32 // the share of the intent's terms that the other fields also have
}

func analyzeTrace(t *indexed) analyzed {
	a := analyzed{tf: map[string]*[nFields]uint8{}}
	for f, texts := range t.fieldTexts() {
		for _, text := range texts {
			eachWord(text, func(w string) {
				term := term(w)
				if term == "" {
					return
				}
				a.lens[f]++
				c := a.tf[term]
				if c == nil {
					c = new([nFields]uint8)
					a.tf[term] = c
				}
				if c[f] < maxTF {
					c[f]++
				}
			})
		}
	}
	var in, borne int
	for _, c := range a.tf {
		if c[fIntent] > 0 {
			in++
			if bodyHas(c) {
				borne++
			}
		}
	}
	a.coh = coherence(in, borne)
	return a
}

// w is the skill's weight in the corpus statistics.
func (a *analyzed) w() uint32 { return statWeight(a.coh) }

// bodyHas reports whether a term's counts put it in a field other than
// the intent.
func bodyHas(tf *[nFields]uint8) bool {
	return tf[fTags] > 0 || tf[fActions] > 0 || tf[fDetails] > 0 || tf[fResult] > 0
}

// coherence is the share of an intent's terms, in of them, that the rest
// of the skill bears out (borne of them); 1 for an intent of no terms.
func coherence(in, borne int) float32 {
	if in == 0 {
		return 1
	}
	return min(1, cohGain*float32(borne)/float32(in))
}

// cohGain scales coherence: an intent half borne out by its skill counts
// in full. The highest gain that TestGaming holds with (docs/search.md).
const cohGain = 2

// statUnit is the weight, in the corpus statistics (document frequencies,
// the number of skills, average field lengths), of a skill whose intent its
// body wholly bears out.
const statUnit = 64

// statWeight is a skill's weight in the corpus statistics: its coherence,
// in 64ths. A skill counts as far as its body bears out its intent, so
// traces whose intent their body does not bear out (stuffed, or copied from
// a query over a body about nothing) do not make the words they repeat
// common, nor move the average lengths, however many they are.
func statWeight(coh float32) uint32 { return uint32(math.Round(float64(coh) * statUnit)) }

// docCoherence is coherence over a doc's counts.
func docCoherence(tfs [][nFields]uint8) float32 {
	var in, borne int
	for k := range tfs {
		if tfs[k][fIntent] > 0 {
			in++
			if bodyHas(&tfs[k]) {
				borne++
			}
		}
	}
	return coherence(in, borne)
}

// update brings the index from its commit to h: the traces added between
// the two trees are read and analysed, the removed ones dropped.
func (ix *Index) update(s *registry.Store, h plumbing.Hash) error {
	from := ix.commit // zero for a new index: everything is added
	if from == h {
		return nil
	}
	added, removed, err := s.Changes(from, h)
	if err != nil {
		return err
	}
	// Each trace is decoded and its terms numbered as it is read, so that
	// only the numbers are kept, not the words of every trace at once.
	// Terms new to the index are numbered in reading order, which varies
	// between runs; they are renumbered in sorted order below, so the same
	// history always gives the same index.
	old := len(ix.terms)
	newDocs := make([]doc, len(added))
	var mu sync.Mutex // the vocabulary's
	var pool sync.Pool
	err = s.TraceFiles(h, added, func(i int, data []byte) error {
		var t indexed
		if err := decodeIndexed(data, &t); err != nil {
			return fmt.Errorf("index trace %s: %w", added[i], err)
		}
		an, _ := pool.Get().(*analyzer)
		if an == nil {
			an = &analyzer{ix: ix, mu: &mu, words: map[string]int32{}}
		}
		newDocs[i] = an.doc(added[i], &t)
		pool.Put(an)
		return nil
	})
	if err != nil {
		ix.terms = ix.terms[:old]
		for w, n := range ix.vocab {
			if int(n) >= old {
				delete(ix.vocab, w)
			}
		}
		return err
	}
	ix.apply(old, newDocs, removed)
	ix.commit = h
	return nil
}

// numbered is the doc of a trace, its terms numbered (new ones added to
// the vocabulary).
func (ix *Index) numbered(id schema.ID, t *indexed, a analyzed) doc {
	d := doc{id: id, intent: t.Intent, instance: t.InstanceID, conf: t.Confidence, verif: t.VerificationScore, lens: a.lens, lineage: t.Lineage, coh: a.coh, w: statWeight(a.coh), key: idKey(id)}
	d.terms = make([]uint32, 0, len(a.tf))
	for w := range a.tf {
		n, ok := ix.vocab[w]
		if !ok {
			n = uint32(len(ix.terms))
			ix.terms = append(ix.terms, w)
			ix.vocab[w] = n
		}
		d.terms = append(d.terms, n)
	}
	slices.Sort(d.terms)
	d.tfs = make([][nFields]uint8, len(d.terms))
	for k, n := range d.terms {
		d.tfs[k] = *a.tf[ix.terms[n]]
	}
	return d
}

// apply adds docs (whose terms from number old on are new, numbered in
// reading order) and drops the removed skills, then rebuilds postings and
// norms.
func (ix *Index) apply(old int, docs []doc, removed []schema.ID) {
	ix.renumber(old, docs)
	if len(removed) == 0 && ix.post != nil {
		ix.append(docs)
		return
	}
	// Docs enter in the order given (Changes sorts by id); a removed doc
	// leaves the others' order as it was.
	if len(removed) > 0 {
		ix.file.ok = false // the file's skills are no longer the first ones
		gone := map[schema.ID]bool{}
		for _, id := range removed {
			gone[id] = true
		}
		kept := make([]doc, 0, len(ix.docs)+len(docs)) // ix.docs may be shared
		for _, d := range ix.docs {
			if !gone[d.id] {
				kept = append(kept, d)
			}
		}
		ix.docs = kept
	}
	ix.docs = append(ix.docs, docs...)
	ix.reindex()
}

// append adds docs to an index whose postings are built: their postings,
// document frequencies and field lengths are added to the others, and the
// norms recomputed (the average lengths moved), without rebuilding what
// was there.
func (ix *Index) append(docs []doc) {
	for len(ix.post) < len(ix.terms) {
		ix.post = append(ix.post, nil)
		ix.df = append(ix.df, 0)
		ix.maxc = append(ix.maxc, [nFields]uint8{})
	}
	for _, d := range docs {
		i := uint32(len(ix.docs))
		ix.docs = append(ix.docs, d)
		ix.byID[d.id] = i
		for k, t := range d.terms {
			ix.post[t] = append(ix.post[t], newPosting(i, d.tfs[k]))
			ix.df[t] += d.w
			raiseMax(&ix.maxc[t], &d.tfs[k])
		}
		ix.n += uint64(d.w)
		for f, l := range d.lens {
			ix.total[f] += uint64(l) * uint64(d.w)
			ix.lenAll[f] += uint64(l)
		}
	}
	ix.renorm()
}

// renumber gives the terms numbered from old on (new to the index, in the
// order they were read) numbers in sorted order, in the vocabulary and in
// docs, the only docs that can hold them.
func (ix *Index) renumber(old int, docs []doc) {
	fresh := ix.terms[old:]
	if len(fresh) == 0 {
		return
	}
	order := make([]uint32, len(fresh)) // order[k]: the term k-th in sorted order
	for k := range order {
		order[k] = uint32(k)
	}
	slices.SortFunc(order, func(a, b uint32) int { return strings.Compare(fresh[a], fresh[b]) })
	to := make([]uint32, len(fresh)) // to[read number - old]: the sorted number
	words := make([]string, len(fresh))
	for k, r := range order {
		to[r] = uint32(old + k)
		words[k] = fresh[r]
	}
	copy(fresh, words)
	for k, w := range fresh {
		ix.vocab[w] = uint32(old + k)
	}
	// The docs in parallel chunks: each doc is its own.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(docs)/1024))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []uint64
			for i := w; i < len(docs); i += workers {
				d := &docs[i]
				changed := false
				for k, n := range d.terms {
					if int(n) >= old {
						d.terms[k] = to[int(n)-old]
						changed = true
					}
				}
				if changed {
					buf = sortTerms(d, buf)
				}
			}
		}()
	}
	wg.Wait()
}

// sortTerms sorts a doc's terms, keeping each term's counts with it: each
// pair packed in a uint64, the term in the high 24 bits (a hive of more than
// 16M distinct terms is sorted the slow way). It returns buf, grown, for
// reuse.
func sortTerms(d *doc, buf []uint64) []uint64 {
	if len(d.terms) > 0 && slices.Max(d.terms) >= 1<<24 {
		idx := make([]int, len(d.terms))
		for k := range idx {
			idx[k] = k
		}
		slices.SortFunc(idx, func(a, b int) int { return int(d.terms[a]) - int(d.terms[b]) })
		terms := make([]uint32, len(idx))
		tfs := make([][nFields]uint8, len(idx))
		for k, i := range idx {
			terms[k], tfs[k] = d.terms[i], d.tfs[i]
		}
		d.terms, d.tfs = terms, tfs
		return buf
	}
	packed := buf[:0]
	for k, t := range d.terms {
		packed = append(packed, uint64(t)<<40|packCounts(&d.tfs[k]))
	}
	slices.Sort(packed)
	for k, p := range packed {
		d.terms[k] = uint32(p >> 40)
		d.tfs[k] = unpackCounts(p)
	}
	return packed
}

func packCounts(c *[nFields]uint8) uint64 {
	var p uint64
	for f, n := range c {
		p |= uint64(n) << (8 * f)
	}
	return p
}

func unpackCounts(p uint64) [nFields]uint8 {
	var c [nFields]uint8
	for f := range c {
		c[f] = uint8(p >> (8 * f))
	}
	return c
}

// analyzer turns traces into docs for one update, on one goroutine at a
// time: analyzeTrace and numbered in one pass, without a map per trace,
// remembering each word's term number (and the vocabulary's lock taken only
// for words it has not met).
type analyzer struct {
	ix    *Index
	mu    *sync.Mutex      // the vocabulary's
	words map[string]int32 // lower-case word -> its term's number, or -1 for none
	occ   []uint64         // the current trace's occurrences: term<<8 | field
	buf   []byte

	instances map[string]string
}

// doc is the doc of trace t.
func (an *analyzer) doc(id schema.ID, t *indexed) doc {
	d := doc{id: id, intent: t.Intent, instance: an.instance(t.InstanceID), conf: t.Confidence, verif: t.VerificationScore, lineage: t.Lineage}
	an.occ = an.occ[:0]
	for f, texts := range t.fieldTexts() {
		for _, text := range texts {
			an.words1(text, f, &d)
		}
	}
	slices.Sort(an.occ)
	runs := 0
	for k := range an.occ {
		if k == 0 || an.occ[k]>>8 != an.occ[k-1]>>8 {
			runs++
		}
	}
	d.terms = make([]uint32, 0, runs)
	d.tfs = make([][nFields]uint8, 0, runs)
	// Runs of one term: its counts per field.
	for k := 0; k < len(an.occ); {
		tn := uint32(an.occ[k] >> 8)
		var c [nFields]uint8
		for ; k < len(an.occ) && uint32(an.occ[k]>>8) == tn; k++ {
			if f := an.occ[k] & 0xff; c[f] < maxTF {
				c[f]++
			}
		}
		d.terms = append(d.terms, tn)
		d.tfs = append(d.tfs, c)
	}
	d.coh = docCoherence(d.tfs)
	d.w = statWeight(d.coh)
	d.key = idKey(id)
	return d
}

// idKey is the first 8 bytes of an id (0 for an id that is not hex).
func idKey(id schema.ID) uint64 {
	h := id.Hex()
	if len(h) < 16 {
		return 0
	}
	k, err := strconv.ParseUint(h[:16], 16, 64)
	if err != nil {
		return 0
	}
	return k
}

// instance returns one string for each instance name: a hive has few.
func (an *analyzer) instance(name string) string {
	if s, ok := an.instances[name]; ok {
		return s
	}
	if an.instances == nil {
		an.instances = map[string]string{}
	}
	an.instances[name] = name
	return name
}

// words1 adds the occurrences of the terms of text, in field f.
func (an *analyzer) words1(text string, f int, d *doc) {
	add := func(w []byte) {
		n, ok := an.words[string(w)]
		if !ok {
			n = an.number(string(w))
		}
		if n >= 0 {
			d.lens[f]++
			an.occ = append(an.occ, uint64(n)<<8|uint64(f))
		}
	}
	if !isASCII(text) {
		eachWord(text, func(w string) { add([]byte(w)) })
		return
	}
	an.buf = eachASCIIWordBytes(text, an.buf, add)
}

// number is the term number of word w (lower-case), adding its term to the
// vocabulary if new, or -1 for a word of no term.
func (an *analyzer) number(w string) int32 {
	t := termUncached(w)
	n := int32(-1)
	if t != "" {
		an.mu.Lock()
		k, ok := an.ix.vocab[t]
		if !ok {
			if !an.ix.ownVocab {
				an.ix.vocab = maps.Clone(an.ix.vocab)
				an.ix.ownVocab = true
			}
			k = uint32(len(an.ix.terms))
			an.ix.terms = append(an.ix.terms, t)
			an.ix.vocab[t] = k
		}
		an.mu.Unlock()
		n = int32(k)
	}
	an.words[w] = n
	return n
}

// reindex rebuilds the postings, document frequencies, field lengths,
// norms and the id map from the docs.
func (ix *Index) reindex() {
	counts := make([]int, len(ix.terms))
	ix.df = make([]uint32, len(ix.terms))
	ix.total = [nFields]uint64{}
	ix.lenAll = [nFields]uint64{}
	ix.n = 0
	for _, d := range ix.docs {
		for _, t := range d.terms {
			counts[t]++
			ix.df[t] += d.w
		}
		ix.n += uint64(d.w)
		for f, l := range d.lens {
			ix.total[f] += uint64(l) * uint64(d.w)
			ix.lenAll[f] += uint64(l)
		}
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	flat := make([]posting, total) // one allocation for every posting list
	ix.post = make([][]posting, len(ix.terms))
	off := 0
	for t, c := range counts {
		ix.post[t] = flat[off : off : off+c]
		off += c
	}
	ix.byID = make(map[schema.ID]uint32, len(ix.docs))
	ix.maxc = make([][nFields]uint8, len(ix.terms))
	for i, d := range ix.docs {
		ix.byID[d.id] = uint32(i)
		for k, t := range d.terms {
			ix.post[t] = append(ix.post[t], newPosting(uint32(i), d.tfs[k]))
			raiseMax(&ix.maxc[t], &d.tfs[k])
		}
	}
	ix.renorm()
}

// renorm computes each doc's field norms from the current average field
// lengths.
func (ix *Index) renorm() {
	ix.norm = make([]norms, len(ix.docs)) // never in place: it may be shared
	ix.keys = make([]uint64, len(ix.docs))
	ix.maxNorm = norms{}
	for i := range ix.docs {
		d := &ix.docs[i]
		ix.norm[i] = ix.normOf(d.lens, d.coh)
		ix.keys[i] = d.key
		for f, v := range ix.norm[i] {
			ix.maxNorm[f] = max(ix.maxNorm[f], v)
		}
	}
}

// normOf is the field norms of a skill with field lengths lens:
// weight_f / (1 - b_f + b_f * len_f / avglen_f), with the index's average
// lengths (the skill's own when the index is empty); and what a term in its
// intent alone counts for: intentOnly times the share of its intent that
// the rest of it bears out (coh, at least cohFloor), so an intent that its
// skill does not bear out, stuffed or copied from a query, gains little.
func (ix *Index) normOf(lens [nFields]uint32, coh float32) norms {
	p := ix.p
	var out norms
	out[intentOnlyNorm] = float32(p.intentOnly) * p.scoreCoh(coh)
	for f := range nFields {
		avg := ix.avgLen(f, lens[f])
		out[f] = float32(p.weight[f] / (1 - p.b[f] + p.b[f]*float64(lens[f])/avg))
	}
	return out
}

// raiseMax raises each field's count in m to c's where c's is higher.
func raiseMax(m, c *[nFields]uint8) {
	for f, n := range c {
		m[f] = max(m[f], n)
	}
}

// avgLen is the average length of field f, or l for a hive of no
// statistics.
func (ix *Index) avgLen(f int, l uint32) float64 {
	if ix.n == 0 && ix.lenAll[f] > 0 {
		// No skill counts in the statistics (every intent in the hive is
		// borne out by nothing): lengths are judged against every
		// skill's alike, so that an intent repeated five times still
		// counts each word less.
		return float64(ix.lenAll[f]) / float64(len(ix.docs))
	}
	if ix.n == 0 || ix.total[f] == 0 {
		return float64(max(1, l))
	}
	return float64(ix.total[f]) / float64(ix.n)
}

// dfOf is the weighted number of skills having term t.
func (ix *Index) dfOf(t uint32) float64 { return float64(ix.df[t]) / statUnit }

// The index file: magic and version, the commit, the terms, then each doc
// (id, intent, instance, confidence, verification score, its field
// lengths, its terms as gaps with their counts per field), and the sha256
// of everything before it. Lengths and numbers are uvarints; floats are
// their IEEE 754 bits.

var errCorrupt = errors.New("search index is corrupt")

// writeFile writes the whole index to path and removes the delta beside
// it; the file becomes the base of later deltas.
func (ix *Index) writeFile(path string) error {
	b, err := ix.encode(indexVersion, 0, 0, nil)
	if err != nil {
		return err
	}
	if err := registry.WriteFileUnsynced(path, b); err != nil {
		return err
	}
	ix.file = baseFile{sum: [sha256.Size]byte(b[len(b)-sha256.Size:]), terms: len(ix.terms), docs: len(ix.docs), ok: true}
	if err := os.Remove(path + deltaSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// save writes the index to path: as a delta beside the base file when the
// index is that base and skills added since (none removed), and those are
// few (an eighth of the base, or 64); whole otherwise. Updates then write
// what they added, not the whole index.
func (ix *Index) save(path string) error {
	if ix.file.ok && len(ix.docs)-ix.file.docs <= max(64, ix.file.docs/8) {
		if _, err := os.Stat(path); err == nil {
			b, err := ix.encode(deltaVersion, ix.file.terms, ix.file.docs, ix.file.sum[:])
			if err != nil {
				return err
			}
			return registry.WriteFileUnsynced(path+deltaSuffix, b)
		}
	}
	return ix.writeFile(path)
}

// baseFile is what an index knows of the file it was read from or last
// written to whole: its checksum, and how many terms and skills it holds
// (the index's first ones). ok is false when there is no such file, or the
// index has dropped skills since.
type baseFile struct {
	sum         [sha256.Size]byte
	terms, docs int
	ok          bool
}

const (
	deltaSuffix  = ".delta"
	deltaVersion = "hive search index delta v1 " + analyzerVersion
)

// encode is the index file (version indexVersion, from term and skill 0)
// or a delta (version deltaVersion: the terms and skills from fromTerm and
// fromDoc on, after the checksum of the base it extends).
func (ix *Index) encode(version string, fromTerm, fromDoc int, base []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(64 + (len(ix.docs)-fromDoc)*400)
	putString(&b, version)
	b.Write(base)
	b.Write(ix.commit[:])
	putUint(&b, uint64(len(ix.terms)-fromTerm))
	for _, w := range ix.terms[fromTerm:] {
		putString(&b, w)
	}
	putUint(&b, uint64(len(ix.docs)-fromDoc))
	var buf []byte
	for _, d := range ix.docs[fromDoc:] {
		var err error
		if buf, err = appendDoc(buf[:0], &d); err != nil {
			return nil, err
		}
		b.Write(buf)
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes(), nil
}

// appendDoc appends the encoding of a doc: id, intent, instance,
// confidence, verification score, field lengths, lineage, then its terms
// as gaps, each with the fields it is in as a bit mask and its count in
// each of them.
func appendDoc(buf []byte, d *doc) ([]byte, error) {
	raw, err := hex.DecodeString(d.id.Hex())
	if err != nil || len(raw) != sha256.Size {
		return nil, fmt.Errorf("index: bad id %s", d.id)
	}
	buf = append(buf, raw...)
	buf = appendString(buf, d.intent)
	buf = appendString(buf, d.instance)
	buf = binary.AppendUvarint(buf, math.Float64bits(d.conf))
	buf = binary.AppendUvarint(buf, math.Float64bits(d.verif))
	for _, l := range d.lens {
		buf = binary.AppendUvarint(buf, uint64(l))
	}
	buf = binary.AppendUvarint(buf, uint64(len(d.lineage)))
	for _, p := range d.lineage {
		raw, err := hex.DecodeString(p.Hex())
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("index: bad lineage id %s", p)
		}
		buf = append(buf, raw...)
	}
	buf = binary.AppendUvarint(buf, uint64(len(d.terms)))
	prev := uint32(0)
	for k, t := range d.terms {
		buf = binary.AppendUvarint(buf, uint64(t-prev))
		prev = t
		var mask byte
		for f, c := range d.tfs[k] {
			if c > 0 {
				mask |= 1 << f
			}
		}
		buf = append(buf, mask)
		for _, c := range d.tfs[k] {
			if c > 0 {
				buf = append(buf, c)
			}
		}
	}
	return buf, nil
}

// readIndexFile reads the index file at path and the delta beside it, if
// the delta is intact and extends that very file (else the index is the
// base's: an update brings it up).
func readIndexFile(path string) (*Index, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ix, err := decodeBase(raw)
	if err != nil {
		return nil, err
	}
	if delta, err := os.ReadFile(path + deltaSuffix); err == nil {
		commit := ix.commit
		if err := ix.decodeDelta(delta); err != nil {
			// Back to the base alone.
			for _, w := range ix.terms[ix.file.terms:] {
				delete(ix.vocab, w)
			}
			for _, d := range ix.docs[ix.file.docs:] {
				delete(ix.byID, d.id)
			}
			ix.terms, ix.docs, ix.commit = ix.terms[:ix.file.terms], ix.docs[:ix.file.docs], commit
		}
	}
	ix.reindex()
	return ix, nil
}

// decodeIndex decodes an index file (no delta).
func decodeIndex(raw []byte) (*Index, error) {
	ix, err := decodeBase(raw)
	if err != nil {
		return nil, err
	}
	ix.reindex()
	return ix, nil
}

// decodeBase decodes an index file, leaving the postings to build.
func decodeBase(raw []byte) (*Index, error) {
	ix := newIndex(plumbing.ZeroHash)
	if err := ix.decodeInto(raw, indexVersion, nil); err != nil {
		return nil, err
	}
	ix.file = baseFile{sum: [sha256.Size]byte(raw[len(raw)-sha256.Size:]), terms: len(ix.terms), docs: len(ix.docs), ok: true}
	return ix, nil
}

// decodeDelta adds a delta's terms and skills to an index read from the
// delta's base.
func (ix *Index) decodeDelta(raw []byte) error {
	return ix.decodeInto(raw, deltaVersion, ix.file.sum[:])
}

// decodeInto decodes a file of the version given (extending the base of
// checksum base, for a delta), adding its terms and skills to ix.
func (ix *Index) decodeInto(raw []byte, version string, base []byte) error {
	if len(raw) < sha256.Size {
		return errCorrupt
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return errCorrupt
	}
	r := &reader{b: body}
	if r.string() != version || !bytes.Equal(r.bytes(len(base)), base) {
		return errCorrupt
	}
	copy(ix.commit[:], r.bytes(len(ix.commit)))
	nw := r.count()
	ix.terms = slices.Grow(ix.terms, nw)
	for range nw {
		w := r.string()
		if _, dup := ix.vocab[w]; dup {
			r.err = errCorrupt
		}
		ix.vocab[w] = uint32(len(ix.terms))
		ix.terms = append(ix.terms, w)
	}
	nd := r.count()
	ix.docs = slices.Grow(ix.docs, nd)
	if len(ix.byID) == 0 {
		ix.byID = make(map[schema.ID]uint32, nd)
	}
	instances := map[string]string{} // a hive has few: one string each
	var idBuf [7 + 2*sha256.Size]byte
	copy(idBuf[:], "sha256:")
	for range nd {
		hex.Encode(idBuf[7:], r.bytes(sha256.Size))
		d := doc{id: schema.ID(idBuf[:])}
		d.intent = r.string()
		inst := r.bytes(r.count())
		if d.instance = instances[string(inst)]; d.instance == "" && len(inst) > 0 {
			d.instance = string(inst)
			instances[d.instance] = d.instance
		}
		d.conf, d.verif = math.Float64frombits(r.uint()), math.Float64frombits(r.uint())
		for f := range d.lens {
			d.lens[f] = uint32(r.uint())
		}
		if np := r.count(); np > 0 {
			d.lineage = make([]schema.ID, np)
			for k := range d.lineage {
				d.lineage[k] = schema.ID("sha256:" + hex.EncodeToString(r.bytes(sha256.Size)))
			}
		}
		n := r.count()
		d.terms = make([]uint32, n)
		d.tfs = make([][nFields]uint8, n)
		prev := uint64(0)
		for k := range n {
			t := prev + r.uint()
			if t >= uint64(len(ix.terms)) || k > 0 && t == prev {
				r.err = errCorrupt
				break
			}
			prev = t
			d.terms[k] = uint32(t)
			mask := r.bytes(1)[0]
			if mask == 0 || mask >= 1<<nFields {
				r.err = errCorrupt
				break
			}
			for f := range nFields {
				if mask&(1<<f) != 0 {
					d.tfs[k][f] = r.bytes(1)[0]
				}
			}
		}
		if r.err != nil {
			return errCorrupt
		}
		d.coh = docCoherence(d.tfs)
		d.w = statWeight(d.coh)
		d.key = idKey(d.id)
		if _, dup := ix.byID[d.id]; dup {
			return errCorrupt
		}
		ix.byID[d.id] = uint32(len(ix.docs))
		ix.docs = append(ix.docs, d)
	}
	if r.err != nil || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putUint(b *bytes.Buffer, v uint64) {
	var buf [binary.MaxVarintLen64]byte
	b.Write(binary.AppendUvarint(buf[:0], v))
}

func putString(b *bytes.Buffer, s string) {
	putUint(b, uint64(len(s)))
	b.WriteString(s)
}

// reader decodes the index file; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errCorrupt, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, refusing one longer than what is left.
func (r *reader) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errCorrupt, nil
		return 0
	}
	return int(n)
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) {
		r.err, r.b = errCorrupt, nil
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) string() string { return string(r.bytes(r.count())) }

// Skill returns what the index holds of one skill, with a score of 0.
func (ix *Index) Skill(id schema.ID) (Result, bool) {
	i, ok := ix.byID[id]
	if !ok {
		return Result{}, false
	}
	d := &ix.docs[i]
	return Result{ID: d.id, Intent: d.intent, InstanceID: d.instance, Confidence: d.conf, VerificationScore: d.verif}, true
}

func sha256Sum(b []byte) [sha256.Size]byte { return sha256.Sum256(b) }
