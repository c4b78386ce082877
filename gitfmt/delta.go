package gitfmt

import (
	"errors"
	"fmt"
	"slices"
)

// A git delta (pack-format.txt, "Deltified representation") is the size of
// its base, the size of the object it builds, both as little-endian base-128
// numbers, then instructions: copy a range of the base, or insert the next
// 1 to 127 bytes of the delta.

// ErrDelta reports a delta that does not describe an object.
var ErrDelta = errors.New("malformed delta")

// DeltaSizes reads a delta's header: the size of the base it applies to,
// the size of the object it builds, and the header's length.
func DeltaSizes(delta []byte) (base, result uint64, n int, err error) {
	base, i, ok := uvarint(delta)
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: bad base size", ErrDelta)
	}
	result, j, ok := uvarint(delta[i:])
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: bad result size", ErrDelta)
	}
	return base, result, i + j, nil
}

// uvarint reads a delta header's number: 7 bits a byte, least significant
// first, as git reads it: the number ends at the input's end too, an empty
// input is 0, and more than nine bytes (63 bits) is an error.
func uvarint(b []byte) (uint64, int, bool) {
	var v uint64
	i := 0
	for shift := 0; i < len(b); shift += 7 {
		if shift > 56 {
			return 0, 0, false
		}
		c := b[i]
		i++
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
	}
	return v, i, true
}

// minDelta is the shortest delta git applies (DELTA_SIZE_MIN).
const minDelta = 4

// ApplyDelta builds the object delta describes from base, appending it to
// dst[:0] (which may be nil). The caller bounds the result's size by
// DeltaSizes first; ApplyDelta checks every instruction against the base
// and the result's declared size, so a malformed delta is an error, never
// an out-of-range read or a result of another size.
func ApplyDelta(dst, base, delta []byte) ([]byte, error) {
	dstSize, body, err := deltaBody(delta, uint64(len(base)))
	if err != nil {
		return nil, err
	}
	out := dst[:0]
	if uint64(cap(out)) < dstSize {
		out = make([]byte, 0, dstSize)
	}
	err = eachInstruction(body, uint64(len(base)), dstSize, func(lit []byte, off, n uint64) {
		if lit != nil {
			out = append(out, lit...)
		} else {
			out = append(out, base[off:off+n]...)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deltaBody checks delta's header against a base of srcSize bytes and
// returns the size of the object it builds and its instructions.
func deltaBody(delta []byte, srcSize uint64) (uint64, []byte, error) {
	if len(delta) < minDelta {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrDelta, len(delta))
	}
	size, dstSize, n, err := DeltaSizes(delta)
	if err != nil {
		return 0, nil, err
	}
	if size != srcSize {
		return 0, nil, fmt.Errorf("%w: for a base of %d bytes, applied to %d", ErrDelta, size, srcSize)
	}
	body := delta[n:]
	// Each instruction byte copies at most the whole base or inserts at
	// most one byte: a larger result cannot be built.
	if dstSize/(srcSize+1) > uint64(len(body)) {
		return 0, nil, fmt.Errorf("%w: a result of %d bytes cannot be built from %d bytes of instructions", ErrDelta, dstSize, len(body))
	}
	return dstSize, body, nil
}

// eachInstruction checks the instructions of a delta body, on a base of
// srcSize bytes, building dstSize bytes, and calls emit for each: an
// insert of lit, or (lit nil) a copy of n bytes at off in the base, in
// range. emit is called before the last instructions are checked: a caller
// discards what it built on an error.
func eachInstruction(body []byte, srcSize, dstSize uint64, emit func(lit []byte, off, n uint64)) error {
	var built uint64
	for len(body) > 0 {
		c := body[0]
		body = body[1:]
		switch {
		case c&0x80 != 0:
			var off, size uint64
			for k := 0; k < 4; k++ {
				if c&(1<<k) != 0 {
					if len(body) == 0 {
						return fmt.Errorf("%w: truncated copy", ErrDelta)
					}
					off |= uint64(body[0]) << (8 * k)
					body = body[1:]
				}
			}
			for k := 0; k < 3; k++ {
				if c&(0x10<<k) != 0 {
					if len(body) == 0 {
						return fmt.Errorf("%w: truncated copy", ErrDelta)
					}
					size |= uint64(body[0]) << (8 * k)
					body = body[1:]
				}
			}
			if size == 0 {
				size = 0x10000
			}
			if off+size > srcSize || built+size > dstSize {
				return fmt.Errorf("%w: copy of %d bytes at %d out of range", ErrDelta, size, off)
			}
			emit(nil, off, size)
			built += size
		case c != 0:
			if int(c) > len(body) || built+uint64(c) > dstSize {
				return fmt.Errorf("%w: insert of %d bytes out of range", ErrDelta, c)
			}
			emit(body[:c], 0, uint64(c))
			built += uint64(c)
			body = body[c:]
		default:
			return fmt.Errorf("%w: instruction 0", ErrDelta)
		}
	}
	if built != dstSize {
		return fmt.Errorf("%w: builds %d bytes, its header says %d", ErrDelta, built, dstSize)
	}
	return nil
}

// A DeltaPlan builds an object from a base through a chain of deltas
// without building the objects between them: it composes the deltas into
// one list of spans, each a range of the base or bytes of a delta, and
// builds the object once. Building an object at the end of a chain of d
// deltas then costs one copy of its size and work in the size of the
// deltas, not d copies of the objects between (git keeps chains up to
// 4095 deep; a packed hive's shard trees sit at the end of chains of 50
// versions of 80 KB). A plan keeps base and the deltas added to it.
type DeltaPlan struct {
	base  []byte
	spans []span
	ends  []uint64 // ends[i]: where spans[i] ends in the object built
	// next and nextEnds are the spans being composed, kept to reuse.
	next     []span
	nextEnds []uint64
}

// span is a part of the object a plan builds: lit, or (lit nil) the n
// bytes at off in the base.
type span struct {
	lit []byte
	off uint64
	n   uint64
}

// NewDeltaPlan returns the plan that builds base itself.
func NewDeltaPlan(base []byte) *DeltaPlan {
	p := &DeltaPlan{base: base}
	if len(base) > 0 {
		p.spans = append(p.spans, span{n: uint64(len(base))})
		p.ends = append(p.ends, uint64(len(base)))
	}
	return p
}

// Size is the size of the object the plan builds.
func (p *DeltaPlan) Size() uint64 {
	if len(p.ends) == 0 {
		return 0
	}
	return p.ends[len(p.ends)-1]
}

// Spans is the number of parts the plan builds its object from.
func (p *DeltaPlan) Spans() int { return len(p.spans) }

// ErrPlanSpans reports a delta that would split a plan into more parts
// than building its object and applying the delta to it costs: more than
// one for each 32 bytes of the object it builds, and 64. Build the plan's
// object, apply the delta with ApplyDelta, and start a plan on the result.
var ErrPlanSpans = errors.New("delta plan: too many spans")

// Add composes delta, which applies to the object the plan builds, into
// the plan, with ApplyDelta's checks: on an error the plan is unchanged.
// Its memory is bounded by the object's size: past the bound it returns
// ErrPlanSpans.
func (p *DeltaPlan) Add(delta []byte) error {
	src := p.Size()
	dstSize, body, err := deltaBody(delta, src)
	if err != nil {
		return err
	}
	next, ends := p.next[:0], p.nextEnds[:0]
	limit := int(min(dstSize/32+64, 1<<30))
	over := false
	var built uint64
	push := func(s span) {
		if over {
			return
		}
		if len(next) >= limit {
			over = true
			return
		}
		built += s.n
		if k := len(next) - 1; k >= 0 && s.lit == nil && next[k].lit == nil && next[k].off+next[k].n == s.off {
			next[k].n += s.n
			ends[k] = built
			return
		}
		next = append(next, s)
		ends = append(ends, built)
	}
	err = eachInstruction(body, src, dstSize, func(lit []byte, off, n uint64) {
		if lit != nil {
			push(span{lit: lit, n: n})
			return
		}
		// The spans of the current object that hold [off, off+n).
		i, _ := slices.BinarySearch(p.ends, off+1)
		for n > 0 && !over {
			s := p.spans[i]
			start := p.ends[i] - s.n
			skip := off - start
			take := min(s.n-skip, n)
			if s.lit != nil {
				push(span{lit: s.lit[skip : skip+take], n: take})
			} else {
				push(span{off: s.off + skip, n: take})
			}
			off += take
			n -= take
			i++
		}
	})
	if err == nil && over {
		err = ErrPlanSpans
	}
	if err != nil {
		p.next, p.nextEnds = next[:0], ends[:0]
		return err
	}
	p.spans, p.next = next, p.spans[:0]
	p.ends, p.nextEnds = ends, p.ends[:0]
	return nil
}

// Build appends the object the plan builds to dst[:0] (which may be nil).
func (p *DeltaPlan) Build(dst []byte) []byte {
	out := dst[:0]
	if size := p.Size(); uint64(cap(out)) < size {
		out = make([]byte, 0, size)
	}
	for _, s := range p.spans {
		if s.lit != nil {
			out = append(out, s.lit...)
		} else {
			out = append(out, p.base[s.off:s.off+s.n]...)
		}
	}
	return out
}
