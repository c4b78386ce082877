package odb

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// A region is the bytes of a pack or pack index, read in place.
type region interface {
	// read returns the bytes [off, end) and, when they are lent from a
	// pool, done, to call once they are no longer used (nil otherwise).
	read(off, end uint64) (b []byte, done func(), err error)
	size() uint64
	close() error
}

// preadFile is a file read by positioned reads: where files cannot be
// mapped, and for packs wherever a mapping's pages would count as the
// process's memory (docs/performance.md).
type preadFile struct {
	f *os.File
	n uint64
}

// openPread opens the regular file at path for positioned reads.
func openPread(path string) (region, error) {
	of, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	of.Close()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, &CorruptError{Path: path, Err: errNotRegular}
	}
	liveMappings.Add(1)
	return &preadFile{f: f, n: uint64(fi.Size())}, nil
}

// readBuffers are the buffers of positioned reads of small entries.
var readBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledRead is the largest read into a pooled buffer.
const maxPooledRead = 64 << 10

func (p *preadFile) read(off, end uint64) ([]byte, func(), error) {
	if end > p.n || off > end {
		return nil, nil, fmt.Errorf("bytes %d to %d of a file of %d", off, end, p.n)
	}
	n := int(end - off)
	var b []byte
	var done func()
	if n <= maxPooledRead {
		pb := readBuffers.Get().(*[]byte)
		if cap(*pb) < n {
			*pb = make([]byte, maxPooledRead)
		}
		b = (*pb)[:n]
		done = func() { readBuffers.Put(pb) }
	} else {
		b = make([]byte, n)
	}
	if _, err := p.f.ReadAt(b, int64(off)); err != nil && err != io.EOF {
		if done != nil {
			done()
		}
		return nil, nil, err
	}
	return b, done, nil
}

func (p *preadFile) size() uint64 { return p.n }

func (p *preadFile) close() error {
	liveMappings.Add(-1)
	return p.f.Close()
}
