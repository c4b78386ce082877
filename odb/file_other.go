//go:build !unix

package odb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// objectFile is an object file open for one read.
type objectFile struct {
	*os.File
	size int64
}

// openRegular opens path for reading if it is a regular file.
func openRegular(path string) (objectFile, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return objectFile{}, pathError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return objectFile{}, &CorruptError{Path: path, Err: errNotRegular}
	}
	f, err := os.Open(path)
	if err != nil {
		return objectFile{}, pathError(path, err)
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return objectFile{}, &CorruptError{Path: path, Err: errNotRegular}
	}
	return objectFile{File: f, size: fi.Size()}, nil
}

func pathError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", path, errNotExist)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// syncDir makes a folder's entries durable where the system allows it:
// Windows has no way to sync a folder (its renames are durable with the
// file system's journal).
func syncDir(dir string) error { return nil }

// syncOnWrite says whether a temporary object file is synced as it is
// written: here, where a read-only file cannot be synced later.
const syncOnWrite = true

func syncFile(string) error { return nil }
