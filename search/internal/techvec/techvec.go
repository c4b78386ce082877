// Package techvec is the table of word vectors learned from technical text
// that the search package embeds (search/techvec.bin): its format and its
// decoding. Package learn, beside it, builds it.
package techvec

import (
	"encoding/binary"
	"errors"
	"math"
)

// Magic starts the table; it names the format.
const Magic = "hive techvec table 1\n"

// Neighbours is how many nearest terms the table keeps for each term at
// most.
const Neighbours = 8

// Table is a decoded table.
type Table struct {
	Terms []string
	Dims  int
	Vec   []int8           // len(Terms) × Dims
	Norm  []float32        // each vector's length
	Nbrs  [][]Neighbour    // each term's nearest terms
	Index map[string]int32 // term -> its number
}

// Neighbour is a term near another: its number and the cosine.
type Neighbour struct {
	Row int32
	Cos float32
}

// Decode reads a table that learn.Encode wrote; a table cut short, too
// long or naming a term it lacks is an error.
func Decode(b []byte) (*Table, error) {
	bad := errors.New("corrupt word vector table")
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return nil, bad
	}
	b = b[len(Magic):]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) || n > math.MaxUint16+1 {
		return nil, bad
	}
	b = b[k:]
	d, k := binary.Uvarint(b)
	if k <= 0 || d == 0 || d > 1024 || n*d > uint64(len(b)) {
		return nil, bad
	}
	b = b[k:]
	t := &Table{Terms: make([]string, n), Dims: int(d), Index: make(map[string]int32, n)}
	for i := range t.Terms {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, bad
		}
		t.Terms[i] = string(b[k : k+int(l)])
		t.Index[t.Terms[i]] = int32(i)
		b = b[k+int(l):]
	}
	if uint64(len(b)) < n*d {
		return nil, bad
	}
	t.Vec = make([]int8, n*d)
	t.Norm = make([]float32, n)
	for i := range t.Vec {
		t.Vec[i] = int8(b[i])
	}
	for r := range int(n) {
		var ss int32
		for _, x := range t.Vec[r*int(d) : (r+1)*int(d)] {
			ss += int32(x) * int32(x)
		}
		t.Norm[r] = float32(math.Sqrt(float64(ss)))
	}
	b = b[n*d:]
	t.Nbrs = make([][]Neighbour, n)
	for r := range t.Nbrs {
		if len(b) < 1 || int(b[0]) > Neighbours || len(b) < 1+3*int(b[0]) {
			return nil, bad
		}
		c := int(b[0])
		b = b[1:]
		ns := make([]Neighbour, c)
		for i := range ns {
			row := binary.LittleEndian.Uint16(b)
			if uint64(row) >= n {
				return nil, bad
			}
			ns[i] = Neighbour{int32(row), float32(b[2]) / 100}
			b = b[3:]
		}
		t.Nbrs[r] = ns
	}
	if len(b) != 0 {
		return nil, bad
	}
	return t, nil
}

// Vector is the vector of term number r.
func (t *Table) Vector(r int32) []int8 { return t.Vec[int(r)*t.Dims : int(r+1)*t.Dims] }
