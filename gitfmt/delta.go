package gitfmt

import (
	"errors"
	"fmt"
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
	if len(delta) < minDelta {
		return nil, fmt.Errorf("%w: %d bytes", ErrDelta, len(delta))
	}
	srcSize, dstSize, n, err := DeltaSizes(delta)
	if err != nil {
		return nil, err
	}
	if srcSize != uint64(len(base)) {
		return nil, fmt.Errorf("%w: for a base of %d bytes, applied to %d", ErrDelta, srcSize, len(base))
	}
	delta = delta[n:]
	// Each instruction byte copies at most the whole base or inserts at
	// most one byte: a larger result cannot be built.
	if dstSize/uint64(len(base)+1) > uint64(len(delta)) {
		return nil, fmt.Errorf("%w: a result of %d bytes cannot be built from %d bytes of instructions", ErrDelta, dstSize, len(delta))
	}
	out := dst[:0]
	if uint64(cap(out)) < dstSize {
		out = make([]byte, 0, dstSize)
	}
	for len(delta) > 0 {
		c := delta[0]
		delta = delta[1:]
		switch {
		case c&0x80 != 0:
			var off, size uint64
			for k := 0; k < 4; k++ {
				if c&(1<<k) != 0 {
					if len(delta) == 0 {
						return nil, fmt.Errorf("%w: truncated copy", ErrDelta)
					}
					off |= uint64(delta[0]) << (8 * k)
					delta = delta[1:]
				}
			}
			for k := 0; k < 3; k++ {
				if c&(0x10<<k) != 0 {
					if len(delta) == 0 {
						return nil, fmt.Errorf("%w: truncated copy", ErrDelta)
					}
					size |= uint64(delta[0]) << (8 * k)
					delta = delta[1:]
				}
			}
			if size == 0 {
				size = 0x10000
			}
			if off+size > uint64(len(base)) || uint64(len(out))+size > dstSize {
				return nil, fmt.Errorf("%w: copy of %d bytes at %d out of range", ErrDelta, size, off)
			}
			out = append(out, base[off:off+size]...)
		case c != 0:
			if int(c) > len(delta) || uint64(len(out))+uint64(c) > dstSize {
				return nil, fmt.Errorf("%w: insert of %d bytes out of range", ErrDelta, c)
			}
			out = append(out, delta[:c]...)
			delta = delta[c:]
		default:
			return nil, fmt.Errorf("%w: instruction 0", ErrDelta)
		}
	}
	if uint64(len(out)) != dstSize {
		return nil, fmt.Errorf("%w: builds %d bytes, its header says %d", ErrDelta, len(out), dstSize)
	}
	return out, nil
}
