package odb

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/hive-dev/hive/gitfmt"
)

// A region is the bytes of a pack or pack index, read in place.
type region interface {
	// at returns the n bytes at off, fewer at the end of the file.
	at(off uint64, n int) []byte
	// inflate inflates the zlib stream at off, of size bytes.
	inflate(off uint64, size int) ([]byte, error)
	size() uint64
	close() error
}

// preadFile is a file read by positioned reads: where files cannot be
// mapped, and wherever a caller prefers not to map them.
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
	return &preadFile{f: f, n: uint64(fi.Size())}, nil
}

func (p *preadFile) at(off uint64, n int) []byte {
	if off >= p.n {
		return nil
	}
	b := make([]byte, min(uint64(n), p.n-off))
	k, _ := p.f.ReadAt(b, int64(off))
	return b[:k]
}

func (p *preadFile) inflate(off uint64, size int) ([]byte, error) {
	if off >= p.n {
		return nil, fmt.Errorf("zlib stream at %d, past the end of the pack", off)
	}
	z, err := gitfmt.NewInflater(bufio.NewReaderSize(io.NewSectionReader(p.f, int64(off), int64(p.n-off)), 16<<10))
	if err != nil {
		return nil, err
	}
	defer z.Close()
	out := make([]byte, size)
	if err := z.ReadFull(out); err != nil {
		return nil, err
	}
	if err := z.End(); err != nil {
		return nil, err
	}
	return out, nil
}

func (p *preadFile) size() uint64 { return p.n }

func (p *preadFile) close() error { return p.f.Close() }
