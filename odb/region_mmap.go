//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package odb

import (
	"fmt"
	"syscall"
)

// mapped is a file mapped read-only into memory: its bytes are read in
// place, with no copy and no system call per object.
type mapped struct{ b []byte }

// canMap says whether this system maps files.
const canMap = true

// openMapped maps the regular file at path.
func openMapped(path string) (region, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.size <= 0 || f.size > 1<<40 || int64(int(f.size)) != f.size {
		return nil, &CorruptError{Path: path, Err: fmt.Errorf("file of %d bytes", f.size)}
	}
	b, err := syscall.Mmap(f.fd, 0, int(f.size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", path, err)
	}
	liveMappings.Add(1)
	return &mapped{b: b}, nil
}

func (m *mapped) read(off, end uint64) ([]byte, func(), error) {
	if end > uint64(len(m.b)) || off > end {
		return nil, nil, fmt.Errorf("bytes %d to %d of a file of %d", off, end, len(m.b))
	}
	return m.b[off:end], nil, nil
}

func (m *mapped) size() uint64 { return uint64(len(m.b)) }

func (m *mapped) close() error {
	if m.b == nil {
		return nil
	}
	err := syscall.Munmap(m.b)
	m.b = nil
	liveMappings.Add(-1)
	return err
}
