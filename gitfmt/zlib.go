package gitfmt

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"
)

// ErrZlib reports a zlib stream that is corrupt, ends early, or holds more
// than its object.
var ErrZlib = errors.New("corrupt zlib stream")

// Inflater reads one zlib stream (RFC 1950). Its source is read byte by
// byte where it allows it (an io.ByteReader, such as a bytes.Reader or a
// bufio.Reader), so that nothing past the stream's end is consumed and the
// caller can tell what follows it.
type Inflater struct {
	zr io.ReadCloser
}

var inflaters sync.Pool

// NewInflater starts reading the zlib stream at the start of src. Call
// Close when done, to reuse its tables.
func NewInflater(src flate.Reader) (*Inflater, error) {
	if z, ok := inflaters.Get().(*Inflater); ok {
		if err := z.zr.(zlib.Resetter).Reset(src, nil); err != nil {
			inflaters.Put(z)
			return nil, fmt.Errorf("%w: %v", ErrZlib, err)
		}
		return z, nil
	}
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrZlib, err)
	}
	return &Inflater{zr: zr}, nil
}

// ReadFull fills b from the stream.
func (z *Inflater) ReadFull(b []byte) error {
	if _, err := io.ReadFull(z.zr, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: ends after fewer bytes than its object holds", ErrZlib)
		}
		return fmt.Errorf("%w: %v", ErrZlib, err)
	}
	return nil
}

// Read reads up to len(b) bytes of the stream.
func (z *Inflater) Read(b []byte) (int, error) { return z.zr.Read(b) }

// End checks that the stream ends here: zlib then checks the Adler-32 of
// all it inflated. A stream that holds more bytes is an error.
func (z *Inflater) End() error {
	var more [1]byte
	n, err := z.zr.Read(more[:])
	switch {
	case n > 0:
		return fmt.Errorf("%w: longer than its object", ErrZlib)
	case err == io.EOF:
		return nil
	case err == nil:
		return fmt.Errorf("%w: %v", ErrZlib, io.ErrNoProgress)
	}
	return fmt.Errorf("%w: %v", ErrZlib, err)
}

// Close returns the inflater's tables for reuse; z may not be used again.
func (z *Inflater) Close() { inflaters.Put(z) }

// Inflate inflates exactly size bytes from the zlib stream at the start of
// src and checks that the stream ends there (its Adler-32 included). It
// returns the bytes and how many bytes of src the stream took.
func Inflate(src []byte, size int) ([]byte, int, error) {
	out := make([]byte, size)
	n, err := InflateInto(out, src)
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// InflateInto is Inflate into out, whose length is the size expected.
func InflateInto(out, src []byte) (int, error) {
	br := bytes.NewReader(src)
	z, err := NewInflater(br)
	if err != nil {
		return 0, err
	}
	defer z.Close()
	if err := z.ReadFull(out); err != nil {
		return 0, err
	}
	if err := z.End(); err != nil {
		return 0, err
	}
	return len(src) - br.Len(), nil
}

// InflatePrefix inflates the first len(out) bytes of the zlib stream at the
// start of src, or fewer if the stream is shorter, and returns how many; the
// rest of the stream is not read or checked.
func InflatePrefix(out, src []byte) (int, error) {
	z, err := NewInflater(bytes.NewReader(src))
	if err != nil {
		return 0, err
	}
	defer z.Close()
	n, err := io.ReadFull(z.zr, out)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%w: %v", ErrZlib, err)
	}
	return n, nil
}

// StoredZlib unwraps, in place, a zlib stream (RFC 1950) whose deflate
// blocks are all stored (RFC 1951 BTYPE 00) and that fills b exactly: it
// returns their content, checked against the stream's Adler-32 unless there
// are more than uncheckedAbove bytes of it. It returns false, with b
// untouched, for any other stream (compressed blocks, a preset dictionary,
// bytes after the stream), which the caller inflates instead.
func StoredZlib(b []byte, uncheckedAbove int64) ([]byte, bool, error) {
	if len(b) < 2 || b[0]&0x0f != 8 || b[0]>>4 > 7 || b[1]&0x20 != 0 || (uint(b[0])<<8|uint(b[1]))%31 != 0 {
		return nil, false, nil
	}
	// One pass to check the block structure, then one to compact.
	in := 2
	for {
		if len(b)-in < 5 || b[in]>>1&3 != 0 {
			return nil, false, nil
		}
		n := int(binary.LittleEndian.Uint16(b[in+1:]))
		if ^uint16(n) != binary.LittleEndian.Uint16(b[in+3:]) || len(b)-in-5 < n {
			return nil, false, nil
		}
		final := b[in]&1 == 1
		in += 5 + n
		if final {
			break
		}
	}
	if len(b)-in != 4 {
		return nil, false, nil
	}
	sum := binary.BigEndian.Uint32(b[in:])
	// The content starts where the first block's does, which stays in
	// place: only later blocks (past 64 KiB) move.
	const start = 2 + 5
	in, out := 2, start
	for {
		n := int(binary.LittleEndian.Uint16(b[in+1:]))
		final := b[in]&1 == 1
		if in+5 != out {
			copy(b[out:], b[in+5:in+5+n])
		}
		out += n
		in += 5 + n
		if final {
			break
		}
	}
	if int64(out-start) <= uncheckedAbove && adler32.Checksum(b[start:out]) != sum {
		return nil, true, fmt.Errorf("%w: invalid checksum", ErrZlib)
	}
	return b[start:out], true, nil
}
