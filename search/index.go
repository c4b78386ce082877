package search

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

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

// Index is the search index of one commit of a hive: the words of every
// skill on that commit's tree, and for each word the skills that have it
// (postings), so a query reads only the postings of its own words. It is
// derived data, kept under <gitDir>/hive/index/ and never in the tree; an
// Index is safe for concurrent use.
type Index struct {
	commit plumbing.Hash
	words  []string          // word number -> word
	vocab  map[string]uint32 // word -> number
	docs   []doc             // sorted by id
	post   [][]uint32        // word number -> doc<<1 | 1 if the word is in the doc's intent
	byID   map[schema.ID]int
	pool   sync.Pool // *scratch
}

// doc is one skill as the index keeps it.
type doc struct {
	id          schema.ID
	intent      string
	instance    string
	conf, verif float64
	intentWords []uint32 // sorted, unique
	extraWords  []uint32 // tags and actions not in the intent; sorted, unique
}

// scratch is one query's accumulators, reused across queries.
type scratch struct {
	found   []uint16 // per doc: 2 for each query word in the intent, 1 for one only in tags or actions
	named   []uint16 // per doc: query words in the intent
	touched []uint32
}

// indexVersion names the file format and the tokenizer: an index made by
// another version is rebuilt, never read.
const indexVersion = "hive search index v1 " + tokenizerVersion

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
	return &Index{commit: h, vocab: map[string]uint32{}, byID: map[schema.ID]int{}}
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
	Intent            string   `json:"intent"`
	ReasoningPath     []step   `json:"reasoning_path"`
	Confidence        float64  `json:"confidence"`
	VerificationScore float64  `json:"verification_score"`
	InstanceID        string   `json:"instance_id"`
	Tags              []string `json:"tags"`
}

// step is the part of a reasoning step the index reads.
type step struct {
	Action string `json:"action"`
}

// update brings the index from its commit to h: the traces added between
// the two trees are read and tokenised, the removed ones dropped.
func (ix *Index) update(s *registry.Store, h plumbing.Hash) error {
	from := ix.commit // zero for a new index: everything is added
	if from == h {
		return nil
	}
	added, removed, err := s.Changes(from, h)
	if err != nil {
		return err
	}
	// Each trace is decoded and its words numbered as it is read, so that
	// only the numbers are kept, not the words of every trace at once.
	// Words new to the index are numbered in reading order, which varies
	// between runs; they are renumbered in sorted order below, so the same
	// history always gives the same index.
	old := len(ix.words)
	newDocs := make([]doc, len(added))
	var mu sync.Mutex
	err = s.TraceFiles(h, added, func(i int, data []byte) error {
		var t indexed
		if err := decodeIndexed(data, &t); err != nil {
			return fmt.Errorf("index trace %s: %w", added[i], err)
		}
		intent := Tokens(t.Intent)
		var extra []string
		for _, tag := range t.Tags {
			extra = append(extra, Tokens(tag)...)
		}
		for _, st := range t.ReasoningPath {
			extra = append(extra, Tokens(st.Action)...)
		}
		d := doc{id: added[i], intent: t.Intent, instance: t.InstanceID, conf: t.Confidence, verif: t.VerificationScore}
		mu.Lock() // only the vocabulary's lookups: sorting is outside
		in, ex := ix.number(intent), ix.number(extra)
		mu.Unlock()
		d.intentWords = wordSet(in, nil)
		d.extraWords = wordSet(ex, d.intentWords)
		newDocs[i] = d
		return nil
	})
	if err != nil {
		ix.words = ix.words[:old]
		for w, n := range ix.vocab {
			if int(n) >= old {
				delete(ix.vocab, w)
			}
		}
		return err
	}
	ix.renumber(old, newDocs)
	gone := map[schema.ID]bool{}
	for _, id := range removed {
		gone[id] = true
	}
	// Both lists are in id order (Changes sorts what it returns): merge
	// them rather than sort 100k documents again.
	byID := func(a, b doc) int { return strings.Compare(string(a.id), string(b.id)) }
	if !slices.IsSortedFunc(newDocs, byID) {
		slices.SortFunc(newDocs, byID)
	}
	docs := make([]doc, 0, len(ix.docs)+len(newDocs))
	k := 0
	for _, d := range ix.docs {
		if gone[d.id] {
			continue
		}
		for ; k < len(newDocs) && newDocs[k].id < d.id; k++ {
			docs = append(docs, newDocs[k])
		}
		docs = append(docs, d)
	}
	docs = append(docs, newDocs[k:]...)
	ix.docs = docs
	ix.commit = h
	ix.reindex()
	return nil
}

// renumber gives the words numbered from old on (new to the index, in
// the order they were read) numbers in sorted order, in the vocabulary and
// in docs, the only docs that can hold them.
func (ix *Index) renumber(old int, docs []doc) {
	fresh := ix.words[old:]
	order := make([]uint32, len(fresh)) // order[k]: the word k-th in sorted order
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
		for _, ws := range [][]uint32{docs[i].intentWords, docs[i].extraWords} {
			for k, n := range ws {
				if int(n) >= old {
					ws[k] = to[int(n)-old]
				}
			}
			slices.Sort(ws)
		}
	}
}

// number returns the numbers of words in the vocabulary, numbering those
// new to it.
func (ix *Index) number(words []string) []uint32 {
	out := make([]uint32, len(words))
	for i, w := range words {
		n, ok := ix.vocab[w]
		if !ok {
			n = uint32(len(ix.words))
			ix.words = append(ix.words, w)
			ix.vocab[w] = n
		}
		out[i] = n
	}
	return out
}

// wordSet sorts the word numbers ids and drops repeats and those in except
// (sorted), in place.
func wordSet(ids, except []uint32) []uint32 {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := ids[:0]
	for _, n := range ids {
		if _, found := slices.BinarySearch(except, n); !found {
			out = append(out, n)
		}
	}
	return out
}

// reindex rebuilds the postings and the id map from the docs.
func (ix *Index) reindex() {
	counts := make([]int, len(ix.words))
	for _, d := range ix.docs {
		for _, w := range d.intentWords {
			counts[w]++
		}
		for _, w := range d.extraWords {
			counts[w]++
		}
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	flat := make([]uint32, total) // one allocation for every posting list
	ix.post = make([][]uint32, len(ix.words))
	off := 0
	for w, c := range counts {
		ix.post[w] = flat[off : off : off+c]
		off += c
	}
	ix.byID = make(map[schema.ID]int, len(ix.docs))
	for i, d := range ix.docs {
		ix.byID[d.id] = i
		for _, w := range d.intentWords {
			ix.post[w] = append(ix.post[w], uint32(i)<<1|1)
		}
		for _, w := range d.extraWords {
			ix.post[w] = append(ix.post[w], uint32(i)<<1)
		}
	}
}

// Search ranks the skills by Score against q.Text, highest first, then by
// id; skills below q.Threshold (or scoring 0) are left out.
func (ix *Index) Search(q Query) []Result {
	words := Tokens(q.Text)
	slices.Sort(words)
	words = slices.Compact(words)
	if len(words) == 0 || len(ix.docs) == 0 {
		return nil
	}
	sc, _ := ix.pool.Get().(*scratch)
	if sc == nil || len(sc.found) != len(ix.docs) {
		sc = &scratch{found: make([]uint16, len(ix.docs)), named: make([]uint16, len(ix.docs))}
	}
	defer ix.pool.Put(sc)
	for _, w := range words {
		n, ok := ix.vocab[w]
		if !ok {
			continue
		}
		for _, p := range ix.post[n] {
			d := p >> 1
			if sc.found[d] == 0 {
				sc.touched = append(sc.touched, d)
			}
			if p&1 == 1 {
				sc.found[d] += 2
				sc.named[d]++
			} else {
				sc.found[d]++
			}
		}
	}
	var out []Result
	for _, d := range sc.touched {
		doc := &ix.docs[d]
		score := combine(float64(sc.found[d])/2, int(sc.named[d]), len(words), len(doc.intentWords))
		sc.found[d], sc.named[d] = 0, 0
		if score < q.Threshold || score == 0 || q.Instance != "" && doc.instance != q.Instance {
			continue
		}
		out = append(out, Result{ID: doc.id, Score: score, Intent: doc.intent, InstanceID: doc.instance, Confidence: doc.conf, VerificationScore: doc.verif})
	}
	sc.touched = sc.touched[:0]
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// The index file: magic and version, the commit, the words, then each
// doc (id, intent, instance, confidence, verification score, its word
// numbers), and the sha256 of everything before it. Lengths and numbers
// are uvarints; floats are their IEEE 754 bits.

var errCorrupt = errors.New("search index is corrupt")

func (ix *Index) writeFile(path string) error {
	// One buffer of the file's exact size: grown by doubling, a 20 MB index
	// touched twice that in fresh memory, where a page fault costs more
	// than the encoding.
	var b bytes.Buffer
	b.Grow(ix.fileSize())
	putString(&b, indexVersion)
	b.Write(ix.commit[:])
	putUint(&b, uint64(len(ix.words)))
	for _, w := range ix.words {
		putString(&b, w)
	}
	putUint(&b, uint64(len(ix.docs)))
	for _, d := range ix.docs {
		raw, err := hex.DecodeString(d.id.Hex())
		if err != nil || len(raw) != sha256.Size {
			return fmt.Errorf("index: bad id %s", d.id)
		}
		b.Write(raw)
		putString(&b, d.intent)
		putString(&b, d.instance)
		putUint(&b, math.Float64bits(d.conf))
		putUint(&b, math.Float64bits(d.verif))
		for _, ws := range [][]uint32{d.intentWords, d.extraWords} {
			putUint(&b, uint64(len(ws)))
			for _, w := range ws {
				putUint(&b, uint64(w))
			}
		}
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
	ix.words = make([]string, 0, nw)
	for range nw {
		w := r.string()
		ix.vocab[w] = uint32(len(ix.words))
		ix.words = append(ix.words, w)
	}
	nd := r.count()
	ix.docs = make([]doc, 0, nd)
	for range nd {
		d := doc{id: schema.ID("sha256:" + hex.EncodeToString(r.bytes(sha256.Size)))}
		d.intent, d.instance = r.string(), r.string()
		d.conf, d.verif = math.Float64frombits(r.uint()), math.Float64frombits(r.uint())
		for _, ws := range []*[]uint32{&d.intentWords, &d.extraWords} {
			n := r.count()
			*ws = make([]uint32, n)
			for k := range *ws {
				w := r.uint()
				if w >= uint64(len(ix.words)) {
					r.err = errCorrupt
				}
				(*ws)[k] = uint32(w)
			}
		}
		ix.docs = append(ix.docs, d)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errCorrupt
	}
	ix.reindex()
	return ix, nil
}

// fileSize is the size of the file writeFile writes.
func (ix *Index) fileSize() int {
	size := uvarintLen(uint64(len(indexVersion))) + len(indexVersion) + len(ix.commit) + uvarintLen(uint64(len(ix.words))) +
		uvarintLen(uint64(len(ix.docs))) + sha256.Size
	for _, w := range ix.words {
		size += uvarintLen(uint64(len(w))) + len(w)
	}
	for _, d := range ix.docs {
		size += sha256.Size + uvarintLen(uint64(len(d.intent))) + len(d.intent) + uvarintLen(uint64(len(d.instance))) + len(d.instance) +
			uvarintLen(math.Float64bits(d.conf)) + uvarintLen(math.Float64bits(d.verif))
		for _, ws := range [][]uint32{d.intentWords, d.extraWords} {
			size += uvarintLen(uint64(len(ws)))
			for _, w := range ws {
				size += uvarintLen(uint64(w))
			}
		}
	}
	return size
}

// uvarintLen is the length of v as a uvarint.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

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
