package search

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

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
	commit plumbing.Hash
	terms  []string          // term number -> term
	vocab  map[string]uint32 // term -> number
	df     []uint32          // term number -> skills having it
	docs   []doc             // in the order they entered the index
	byID   map[schema.ID]uint32
	total  [nFields]uint64    // summed field lengths
	post   [][]posting        // term number -> the skills having it, by doc number
	norm   [][nFields]float32 // doc number -> field weight / length normalisation
	p      *params            // the scoring parameters (defaults unless a test sets others)
	pool   sync.Pool          // *scratch
	coPool sync.Pool          // *coScratch

	uniform bool // every term counts as equally rare (Similarity without a corpus)
}

// doc is one skill as the index keeps it.
type doc struct {
	id          schema.ID
	intent      string
	instance    string
	conf, verif float64
	lens        [nFields]uint32
	lineage     []schema.ID      // the skills it was derived from
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
					_ = ix.writeFile(path)
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
	return &Index{commit: h, vocab: map[string]uint32{}, byID: map[schema.ID]uint32{}, p: &defaultParams}
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
	return a
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
	var mu sync.Mutex
	err = s.TraceFiles(h, added, func(i int, data []byte) error {
		var t indexed
		if err := decodeIndexed(data, &t); err != nil {
			return fmt.Errorf("index trace %s: %w", added[i], err)
		}
		a := analyzeTrace(&t)
		mu.Lock() // only the vocabulary's lookups: sorting is outside
		newDocs[i] = ix.numbered(added[i], &t, a)
		mu.Unlock()
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
	d := doc{id: id, intent: t.Intent, instance: t.InstanceID, conf: t.Confidence, verif: t.VerificationScore, lens: a.lens, lineage: t.Lineage}
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
		gone := map[schema.ID]bool{}
		for _, id := range removed {
			gone[id] = true
		}
		kept := ix.docs[:0]
		for _, d := range ix.docs {
			if !gone[d.id] {
				kept = append(kept, d)
			}
		}
		clear(ix.docs[len(kept):])
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
	}
	for _, d := range docs {
		i := uint32(len(ix.docs))
		ix.docs = append(ix.docs, d)
		ix.byID[d.id] = i
		for k, t := range d.terms {
			ix.post[t] = append(ix.post[t], newPosting(i, d.tfs[k]))
			ix.df[t]++
		}
		for f, l := range d.lens {
			ix.total[f] += uint64(l)
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
	for i := range docs {
		d := &docs[i]
		changed := false
		for k, n := range d.terms {
			if int(n) >= old {
				d.terms[k] = to[int(n)-old]
				changed = true
			}
		}
		if changed {
			sortTerms(d)
		}
	}
}

// sortTerms sorts a doc's terms, keeping each term's counts with it.
func sortTerms(d *doc) {
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
}

// reindex rebuilds the postings, document frequencies, field lengths,
// norms and the id map from the docs.
func (ix *Index) reindex() {
	counts := make([]int, len(ix.terms))
	ix.total = [nFields]uint64{}
	for _, d := range ix.docs {
		for _, t := range d.terms {
			counts[t]++
		}
		for f, l := range d.lens {
			ix.total[f] += uint64(l)
		}
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	flat := make([]posting, total) // one allocation for every posting list
	ix.post = make([][]posting, len(ix.terms))
	ix.df = make([]uint32, len(ix.terms))
	off := 0
	for t, c := range counts {
		ix.post[t] = flat[off : off : off+c]
		ix.df[t] = uint32(c)
		off += c
	}
	ix.byID = make(map[schema.ID]uint32, len(ix.docs))
	for i, d := range ix.docs {
		ix.byID[d.id] = uint32(i)
		for k, t := range d.terms {
			ix.post[t] = append(ix.post[t], newPosting(uint32(i), d.tfs[k]))
		}
	}
	ix.renorm()
}

// renorm computes each doc's field norms from the current average field
// lengths.
func (ix *Index) renorm() {
	if cap(ix.norm) >= len(ix.docs) {
		ix.norm = ix.norm[:len(ix.docs)]
	} else {
		ix.norm = make([][nFields]float32, len(ix.docs), len(ix.docs)+len(ix.docs)/8)
	}
	for i, d := range ix.docs {
		ix.norm[i] = ix.normOf(d.lens)
	}
}

// normOf is the field norms of a skill with field lengths lens:
// weight_f / (1 - b_f + b_f * len_f / avglen_f), with the index's average
// lengths (the skill's own when the index is empty).
func (ix *Index) normOf(lens [nFields]uint32) [nFields]float32 {
	p := ix.p
	var out [nFields]float32
	for f := range nFields {
		avg := float64(max(1, lens[f]))
		if len(ix.docs) > 0 && ix.total[f] > 0 {
			avg = float64(ix.total[f]) / float64(len(ix.docs))
		}
		out[f] = float32(p.weight[f] / (1 - p.b[f] + p.b[f]*float64(lens[f])/avg))
	}
	return out
}

// The index file: magic and version, the commit, the terms, then each doc
// (id, intent, instance, confidence, verification score, its field
// lengths, its terms as gaps with their counts per field), and the sha256
// of everything before it. Lengths and numbers are uvarints; floats are
// their IEEE 754 bits.

var errCorrupt = errors.New("search index is corrupt")

func (ix *Index) writeFile(path string) error {
	var b bytes.Buffer
	b.Grow(64 + len(ix.docs)*400)
	putString(&b, indexVersion)
	b.Write(ix.commit[:])
	putUint(&b, uint64(len(ix.terms)))
	for _, w := range ix.terms {
		putString(&b, w)
	}
	putUint(&b, uint64(len(ix.docs)))
	var buf []byte
	for _, d := range ix.docs {
		raw, err := hex.DecodeString(d.id.Hex())
		if err != nil || len(raw) != sha256.Size {
			return fmt.Errorf("index: bad id %s", d.id)
		}
		buf = append(buf[:0], raw...)
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
				return fmt.Errorf("index: bad lineage id %s", p)
			}
			buf = append(buf, raw...)
		}
		buf = binary.AppendUvarint(buf, uint64(len(d.terms)))
		prev := uint32(0)
		for k, t := range d.terms {
			buf = binary.AppendUvarint(buf, uint64(t-prev))
			prev = t
			// The fields a term is in, as a bit mask, then its count in
			// each of them.
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
		b.Write(buf)
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return registry.WriteFileAtomic(path, b.Bytes())
}

func readIndexFile(path string) (*Index, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeIndex(raw)
}

func decodeIndex(raw []byte) (*Index, error) {
	if len(raw) < sha256.Size {
		return nil, errCorrupt
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errCorrupt
	}
	r := &reader{b: body}
	if r.string() != indexVersion {
		return nil, errCorrupt
	}
	ix := newIndex(plumbing.ZeroHash)
	copy(ix.commit[:], r.bytes(len(ix.commit)))
	nw := r.count()
	ix.terms = make([]string, 0, nw)
	for range nw {
		w := r.string()
		if _, dup := ix.vocab[w]; dup {
			r.err = errCorrupt
		}
		ix.vocab[w] = uint32(len(ix.terms))
		ix.terms = append(ix.terms, w)
	}
	nd := r.count()
	ix.docs = make([]doc, 0, nd)
	for range nd {
		d := doc{id: schema.ID("sha256:" + hex.EncodeToString(r.bytes(sha256.Size)))}
		d.intent, d.instance = r.string(), r.string()
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
			return nil, errCorrupt
		}
		if _, dup := ix.byID[d.id]; dup {
			return nil, errCorrupt
		}
		ix.byID[d.id] = uint32(len(ix.docs))
		ix.docs = append(ix.docs, d)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errCorrupt
	}
	ix.reindex()
	return ix, nil
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
