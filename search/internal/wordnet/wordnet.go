// Package wordnet compiles Princeton WordNet 3.0's database files (Debian's
// wordnet-base package: /usr/share/wordnet) into the compact table that the
// search package embeds (search/wordnet.bin): for each single-word lemma, the
// words related to it through its most frequent senses, and the irregular
// forms of the morphological exception lists. It only reads the folder it is
// given; `go run ./search/internal/wordnet/gen` writes the table.
//
// WordNet 3.0 is Copyright 2006 by Princeton University, under a licence that
// allows use, copying, modification and distribution with its notice kept
// (see search/WORDNET-LICENSE).
package wordnet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Relation kinds, as stored in the table (the high nibble of a relation's
// last byte; the low nibble is the sense rank of the source word).
const (
	Synonym   = 0 // another lemma of the same synset
	Derived   = 1 // a derivationally related form, pertainym or participle
	Hypernym  = 2 // a lemma of a more general synset
	Similar   = 3 // an adjective similar in meaning
	Hyponym   = 4 // a lemma of a more specific synset (at most MaxHyponyms per sense)
	kindCount = 5
)

// Limits of the table: senses past MaxRank of a word are left out (they are
// rare meanings, noise for search), and a sense gives at most MaxHyponyms
// more specific words.
const (
	MaxRank     = 4
	MaxHyponyms = 6
)

// Magic starts the table; it names the format.
const Magic = "hive wordnet table 1\n"

// posLetter is the letter by which pointers name each part of speech.
var posLetter = map[string]string{"noun": "n", "verb": "v", "adj": "a", "adv": "r"}

type synset struct {
	words []string
	ptrs  []pointer
}

type pointer struct {
	sym    string
	target string // pos + offset
	src    int    // 1-based word number in the source synset, 0 for all
	dst    int    // 1-based word number in the target synset, 0 for all
}

// Build reads the WordNet database in dir and returns the table.
func Build(dir string) ([]byte, error) {
	synsets := map[string]*synset{} // pos+offset
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		if err := readData(filepath.Join(dir, "data."+pos), posLetter[pos], synsets); err != nil {
			return nil, err
		}
	}
	// related[w] = kind<<4|rank by related word, keeping the strongest
	// (lowest kind, then lowest rank).
	related := map[string]map[string]byte{}
	add := func(w, r string, kind, rank int) {
		if w == r || !single(w) || !single(r) {
			return
		}
		m := related[w]
		if m == nil {
			m = map[string]byte{}
			related[w] = m
		}
		v := byte(kind<<4 | rank)
		if old, ok := m[r]; !ok || v < old {
			m[r] = v
		}
	}
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		err := eachLine(filepath.Join(dir, "index."+pos), func(line string) error {
			if strings.HasPrefix(line, " ") {
				return nil // licence header
			}
			f := strings.Fields(line)
			if len(f) < 6 {
				return fmt.Errorf("index.%s: short line %q", pos, line)
			}
			lemma := strings.ToLower(f[0])
			nsyn, err1 := strconv.Atoi(f[2])
			nptr, err2 := strconv.Atoi(f[3])
			if err1 != nil || err2 != nil || len(f) < 6+nptr+nsyn {
				return fmt.Errorf("index.%s: bad line %q", pos, line)
			}
			offsets := f[len(f)-nsyn:]
			for rank, off := range offsets {
				if rank >= MaxRank {
					break
				}
				s := synsets[posLetter[pos]+off]
				if s == nil {
					return fmt.Errorf("index.%s: %s names no synset %s", pos, lemma, off)
				}
				me := slices.Index(s.words, lemma) + 1
				for _, w := range s.words {
					add(lemma, w, Synonym, rank)
				}
				hypos := 0
				for _, p := range s.ptrs {
					if p.src != 0 && p.src != me {
						continue // a lexical pointer of another word of the synset
					}
					t := synsets[p.target]
					if t == nil {
						return fmt.Errorf("data: pointer to missing synset %s", p.target)
					}
					targets := t.words
					if p.dst != 0 && p.dst <= len(t.words) {
						targets = t.words[p.dst-1 : p.dst]
					}
					var kind int
					switch p.sym {
					case "+", "\\", "<":
						kind = Derived
					case "@", "@i":
						kind = Hypernym
					case "&":
						kind = Similar
					case "~", "~i":
						if hypos >= MaxHyponyms {
							continue
						}
						kind = Hyponym
					default:
						continue
					}
					for _, w := range targets {
						if kind == Hyponym {
							if hypos >= MaxHyponyms {
								break
							}
							hypos++
						}
						add(lemma, w, kind, rank)
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	exc := map[string]string{}
	for _, pos := range []string{"noun", "verb", "adj", "adv"} {
		err := eachLine(filepath.Join(dir, pos+".exc"), func(line string) error {
			f := strings.Fields(line)
			if len(f) < 2 {
				return fmt.Errorf("%s.exc: bad line %q", pos, line)
			}
			if single(f[0]) && single(f[1]) && f[0] != f[1] {
				if _, ok := exc[f[0]]; !ok { // the first base form listed
					exc[f[0]] = f[1]
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return encode(related, exc), nil
}

// single reports whether w is one lower-case word of letters and digits
// (the search's tokens); WordNet's collocations and hyphenated forms are
// left out.
func single(w string) bool {
	if len(w) < 2 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if c := w[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func readData(path, pos string, synsets map[string]*synset) error {
	return eachLine(path, func(line string) error {
		if strings.HasPrefix(line, " ") {
			return nil
		}
		body, _, _ := strings.Cut(line, " | ")
		f := strings.Fields(body)
		if len(f) < 4 {
			return fmt.Errorf("%s: short line", path)
		}
		n, err := strconv.ParseInt(f[3], 16, 32)
		if err != nil || len(f) < 4+2*int(n)+1 {
			return fmt.Errorf("%s: bad word count in %q", path, f[0])
		}
		s := &synset{}
		for k := range int(n) {
			w := strings.ToLower(f[4+2*k])
			if i := strings.IndexByte(w, '('); i > 0 { // adjective markers: (a), (p), (ip)
				w = w[:i]
			}
			s.words = append(s.words, w)
		}
		i := 4 + 2*int(n)
		np, err := strconv.Atoi(f[i])
		if err != nil || len(f) < i+1+4*np {
			return fmt.Errorf("%s: bad pointer count in %q", path, f[0])
		}
		for k := range np {
			p := f[i+1+4*k : i+5+4*k]
			st, err := strconv.ParseUint(p[3], 16, 16)
			if err != nil {
				return fmt.Errorf("%s: bad pointer in %q", path, f[0])
			}
			tpos := p[2]
			if tpos == "s" {
				tpos = "a"
			}
			s.ptrs = append(s.ptrs, pointer{sym: p[0], target: tpos + p[1], src: int(st >> 8), dst: int(st & 0xff)})
		}
		synsets[pos+f[0]] = s
		return nil
	})
}

func eachLine(path string, fn func(string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := fn(sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// encode writes the table: Magic; the words, sorted, each a uvarint length
// and its bytes; for each word its relations, a uvarint count then per
// relation the uvarint gap from the previous related word's number (sorted)
// and a byte kind<<4|rank; then the exceptions, a uvarint count then per
// exception the inflected form's word (length and bytes) and its base's
// word number.
func encode(related map[string]map[string]byte, exc map[string]string) []byte {
	set := map[string]bool{}
	for w, m := range related {
		set[w] = true
		for r := range m {
			set[r] = true
		}
	}
	for _, b := range exc {
		set[b] = true
	}
	words := make([]string, 0, len(set))
	for w := range set {
		words = append(words, w)
	}
	slices.Sort(words)
	num := make(map[string]int, len(words))
	for i, w := range words {
		num[w] = i
	}
	var b bytes.Buffer
	b.WriteString(Magic)
	put := func(v int) { b.Write(binary.AppendUvarint(nil, uint64(v))) }
	put(len(words))
	for _, w := range words {
		put(len(w))
		b.WriteString(w)
	}
	for _, w := range words {
		rs := make([]int, 0, len(related[w]))
		for r := range related[w] {
			rs = append(rs, num[r])
		}
		slices.Sort(rs)
		put(len(rs))
		prev := 0
		for _, r := range rs {
			put(r - prev)
			prev = r
			b.WriteByte(related[w][words[r]])
		}
	}
	infl := make([]string, 0, len(exc))
	for w := range exc {
		infl = append(infl, w)
	}
	slices.Sort(infl)
	put(len(infl))
	for _, w := range infl {
		put(len(w))
		b.WriteString(w)
		put(num[exc[w]])
	}
	return b.Bytes()
}
