//go:build unix

package odb

import (
	"fmt"
	"io"
	"syscall"
)

// objectFile is an object file open for one read, by its descriptor.
// os.Open would also offer it to the runtime's poller (which refuses a
// regular file) and read and set its flags: five system calls more an
// object, a third of those a full verification made (docs/performance.md).
type objectFile struct {
	fd   int
	size int64
}

// openRegular opens path for reading if it is a regular file. It opens
// without blocking, so that a FIFO planted among the objects cannot hang
// the reader, and refuses anything but a regular file once open.
func openRegular(path string) (objectFile, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return objectFile{fd: -1}, pathError(path, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return objectFile{fd: -1}, pathError(path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return objectFile{fd: -1}, &CorruptError{Path: path, Err: errNotRegular}
	}
	return objectFile{fd: fd, size: st.Size}, nil
}

func (f objectFile) Read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f objectFile) Close() error { return syscall.Close(f.fd) }

func pathError(path string, err error) error {
	if errno, ok := err.(syscall.Errno); ok && (errno == syscall.ENOENT || errno == syscall.ENOTDIR) {
		return fmt.Errorf("%s: %w", path, errNotExist)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// syncDir makes a folder's entries durable.
func syncDir(dir string) error {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer syscall.Close(fd)
	if err := syscall.Fsync(fd); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// syncOnWrite says whether a temporary object file is synced as it is
// written; here a batch syncs them all at once before renaming them.
const syncOnWrite = false

// syncFile makes a file's bytes durable.
func syncFile(path string) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	defer syscall.Close(fd)
	if err := syscall.Fsync(fd); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}
