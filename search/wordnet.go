package search

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"sort"
	"sync"
)

// wordnetTable is WordNet 3.0 compiled by search/internal/wordnet (see
// WORDNET-LICENSE): for each single-word lemma, the words related to it
// through its most frequent senses, and the irregular inflections.
//
//go:embed wordnet.bin
var wordnetTable []byte

// Relation kinds of the table (search/internal/wordnet).
const (
	wnSynonym = iota
	wnDerived
	wnHypernym
	wnSimilar
	wnHyponym
	wnKinds
)

// wordnet is the decoded table.
type wordnet struct {
	words []string
	rels  [][]wnRel // by word number
	exc   map[string]uint32
}

type wnRel struct {
	word uint32
	kind uint8
	rank uint8 // sense rank of the source word, 0 the most frequent
}

var (
	wnOnce sync.Once
	wn     *wordnet
)

// loadWordNet decodes the embedded table once.
func loadWordNet() *wordnet {
	wnOnce.Do(func() {
		var err error
		if wn, err = decodeWordNet(wordnetTable); err != nil {
			panic("search: embedded wordnet.bin: " + err.Error()) // a build defect, caught by every test
		}
	})
	return wn
}

const wordnetMagic = "hive wordnet table 1\n"

func decodeWordNet(b []byte) (*wordnet, error) {
	bad := errors.New("corrupt table")
	if len(b) < len(wordnetMagic) || string(b[:len(wordnetMagic)]) != wordnetMagic {
		return nil, bad
	}
	b = b[len(wordnetMagic):]
	var failed bool
	uv := func() int {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > uint64(len(b))+1<<24 {
			failed = true
			b = nil
			return 0
		}
		b = b[n:]
		return int(v)
	}
	str := func() string {
		n := uv()
		if n > len(b) {
			failed = true
			return ""
		}
		s := string(b[:n])
		b = b[n:]
		return s
	}
	w := &wordnet{}
	n := uv()
	w.words = make([]string, n)
	for i := range w.words {
		w.words[i] = str()
	}
	w.rels = make([][]wnRel, n)
	flat := make([]wnRel, 0, len(b)/3)
	for i := range w.rels {
		k := uv()
		start := len(flat)
		prev := 0
		for range k {
			prev += uv()
			if len(b) == 0 || prev >= n {
				return nil, bad
			}
			flat = append(flat, wnRel{word: uint32(prev), kind: b[0] >> 4, rank: b[0] & 15})
			b = b[1:]
		}
		w.rels[i] = flat[start:len(flat):len(flat)]
	}
	ne := uv()
	w.exc = make(map[string]uint32, ne)
	for range ne {
		s := str()
		base := uv()
		if base >= n {
			return nil, bad
		}
		w.exc[s] = uint32(base)
	}
	if failed || len(b) != 0 {
		return nil, bad
	}
	return w, nil
}

// lookup returns the number of word w.
func (w *wordnet) lookup(s string) (int, bool) {
	i := sort.SearchStrings(w.words, s)
	return i, i < len(w.words) && w.words[i] == s
}

// lemmas returns the base forms WordNet knows of an inflected word, as its
// morphy does: the irregular form's base, or the word itself, or the word
// less a regular ending (children -> child, indexes -> index, rotating ->
// rotate, bigger -> big).
func (w *wordnet) lemmas(s string) []int {
	if b, ok := w.exc[s]; ok {
		return []int{int(b)}
	}
	var out []int
	if i, ok := w.lookup(s); ok {
		out = append(out, i)
	}
	for _, r := range morphRules {
		if len(s) > len(r[0])+1 && s[len(s)-len(r[0]):] == r[0] {
			if i, ok := w.lookup(s[:len(s)-len(r[0])] + r[1]); ok {
				out = append(out, i)
			}
		}
	}
	return out
}

// morphRules are WordNet's detachment rules (morph.c) for nouns, verbs and
// adjectives, suffix and replacement.
var morphRules = [][2]string{
	{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"},
	{"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""}, {"er", ""}, {"est", ""},
}
