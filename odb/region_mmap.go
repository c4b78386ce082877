//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package odb

import (
	"fmt"
	"syscall"

	"github.com/hive-dev/hive/gitfmt"
)

// mapped is a file mapped read-only into memory: a pack's bytes are read
// in place, with no copy and no system call per object.
type mapped struct{ b []byte }

// openRegion maps the regular file at path.
func openRegion(path string) (region, error) {
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

func (m *mapped) at(off uint64, n int) []byte {
	if off >= uint64(len(m.b)) {
		return nil
	}
	return m.b[off:min(off+uint64(n), uint64(len(m.b)))]
}

func (m *mapped) inflate(off uint64, size int) ([]byte, error) {
	if off >= uint64(len(m.b)) {
		return nil, fmt.Errorf("zlib stream at %d, past the end of the pack", off)
	}
	b, _, err := gitfmt.Inflate(m.b[off:], size)
	return b, err
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
