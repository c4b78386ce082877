// Package gloss is the table of what tools are for that the search package
// embeds (search/gloss.bin): for a tool's name (a command, a Debian
// package, a library), the index terms of its description, from Debian's
// manual pages (the NAME line) and package descriptions. This file is its
// format and decoding; gen, beside it, builds it.
package gloss

import (
	"encoding/binary"
	"errors"
	"sort"
)

// Magic starts the table; it names the format.
const Magic = "hive gloss table 1\n"

// MaxTerms is how many terms a tool's gloss has at most.
const MaxTerms = 16

// Table is a decoded table: the names in sorted order, and for each its
// gloss, the numbers of its terms in Terms, most telling first.
type Table struct {
	Terms []string
	Names []string
	Gloss [][]uint32
	index map[string]int32
}

// Lookup returns the gloss of a tool name (lower case) as term numbers, or
// nil.
func (t *Table) Lookup(name string) []uint32 {
	if i, ok := t.index[name]; ok {
		return t.Gloss[i]
	}
	return nil
}

// Entry is one name and its gloss, for Encode.
type Entry struct {
	Name  string
	Terms []string
}

// Encode writes entries as a table: the magic; the terms (each once, in
// sorted order) as a count and length-prefixed strings; the entries (by
// name) as a count, then each name, its term count and the terms' numbers,
// all uvarints. The same entries give the same bytes.
func Encode(entries []Entry) []byte {
	es := append([]Entry(nil), entries...)
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	seen := map[string]bool{}
	var terms []string
	for _, e := range es {
		for _, w := range e.Terms {
			if !seen[w] {
				seen[w] = true
				terms = append(terms, w)
			}
		}
	}
	sort.Strings(terms)
	num := make(map[string]uint64, len(terms))
	for i, w := range terms {
		num[w] = uint64(i)
	}
	b := []byte(Magic)
	b = binary.AppendUvarint(b, uint64(len(terms)))
	for _, w := range terms {
		b = binary.AppendUvarint(b, uint64(len(w)))
		b = append(b, w...)
	}
	b = binary.AppendUvarint(b, uint64(len(es)))
	for _, e := range es {
		b = binary.AppendUvarint(b, uint64(len(e.Name)))
		b = append(b, e.Name...)
		b = binary.AppendUvarint(b, uint64(len(e.Terms)))
		for _, w := range e.Terms {
			b = binary.AppendUvarint(b, num[w])
		}
	}
	return b
}

var errCorrupt = errors.New("corrupt gloss table")

// Decode reads a table that Encode wrote; one cut short, too long, with
// names out of order or a term number out of range is an error.
func Decode(b []byte) (*Table, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return nil, errCorrupt
	}
	r := reader{b: b[len(Magic):]}
	t := &Table{}
	nt := r.count()
	t.Terms = make([]string, nt)
	for i := range t.Terms {
		t.Terms[i] = r.str()
	}
	ne := r.count()
	t.Names = make([]string, ne)
	t.Gloss = make([][]uint32, ne)
	t.index = make(map[string]int32, ne)
	flat := make([]uint32, 0, len(r.b)/2)
	for i := range t.Names {
		t.Names[i] = r.str()
		if i > 0 && t.Names[i] <= t.Names[i-1] {
			return nil, errCorrupt
		}
		n := r.count()
		if n > MaxTerms {
			return nil, errCorrupt
		}
		start := len(flat)
		for range n {
			k := r.uint()
			if k >= uint64(nt) {
				return nil, errCorrupt
			}
			flat = append(flat, uint32(k))
		}
		t.Gloss[i] = flat[start:len(flat):len(flat)]
		t.index[t.Names[i]] = int32(i)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errCorrupt
	}
	return t, nil
}

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

func (r *reader) str() string {
	n := r.count()
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
