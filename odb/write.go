package odb

import (
	"compress/zlib"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/gitfmt"
)

// NewBatch implements DB. Each object is written as a loose object to a
// temporary file beside its final name (objects/xx/tmp_obj_*, as git
// names them); Sync syncs them all at once, then renames each into place,
// then syncs the folders. No object reaches its final name before its
// bytes are on disk: a crash leaves either nothing or a whole object, and
// at worst temporary files, which SweepTemp removes.
func (d *Disk) NewBatch() Batch { return &diskBatch{d: d} }

type diskBatch struct {
	d       *Disk
	pending map[plumbing.Hash]pendingObject
}

// pendingObject is a loose object written under a temporary name.
type pendingObject struct{ tmp, final string }

func (w *diskBatch) Write(t plumbing.ObjectType, b []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(t, b)
	if _, ok := w.pending[h]; ok {
		return h, nil
	}
	objects := w.d.dirs[0].path
	final := loosePath(objects, h)
	if _, err := os.Lstat(final); err == nil {
		return h, nil // already there, and synced by whoever wrote it
	}
	tmp, err := writeLoose(filepath.Dir(final), t, b)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write object %s: %w", h, err)
	}
	if w.pending == nil {
		w.pending = map[plumbing.Hash]pendingObject{}
	}
	w.pending[h] = pendingObject{tmp: tmp, final: final}
	return h, nil
}

func (w *diskBatch) Pending() int { return len(w.pending) }

// zlibWriters reuses compressors: each holds about a megabyte of tables;
// zlibStored, writers of stored (uncompressed) blocks.
var zlibWriters, zlibStored sync.Pool

// TempPrefix starts the names of temporary object files, as git's.
const TempPrefix = "tmp_obj_"

// writeLoose writes a loose object, deflated "type size\0body" and
// read-only as git makes them, to a temporary file in dir.
func writeLoose(dir string, t plumbing.ObjectType, b []byte) (string, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		if err := syncDir(filepath.Dir(dir)); err != nil { // the new folder's name in objects/
			return "", err
		}
	}
	f, err := os.CreateTemp(dir, TempPrefix)
	if err != nil {
		return "", err
	}
	// Trees, and blobs under 4 KiB (a trace and its bundle, mostly), are
	// stored uncompressed (zlib's stored blocks, which git reads like any
	// other): trees are mostly hashes, so compression gains little, and a
	// file under 4 KiB fills a file system block either way; readers
	// unwrap them in place, where an inflate costs ten times as much. git
	// gc packs and compresses them later (docs/performance.md).
	pool, level := &zlibWriters, zlib.BestSpeed
	if t == plumbing.TreeObject || t == plumbing.BlobObject && len(b) < 4096 {
		pool, level = &zlibStored, zlib.NoCompression
	}
	zw, ok := pool.Get().(*zlib.Writer)
	if ok {
		zw.Reset(f)
	} else {
		zw, _ = zlib.NewWriterLevel(f, level)
	}
	defer pool.Put(zw)
	zw.Write(gitfmt.LooseHeader(t, len(b)))
	zw.Write(b)
	err = zw.Close()
	if err == nil && syncOnWrite {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Sync implements Batch. The syncs run concurrently, so that the file
// system's journal commits them together instead of one disk flush an
// object.
func (w *diskBatch) Sync() error {
	if len(w.pending) == 0 {
		return nil
	}
	var tmps []string
	dirs := map[string]bool{}
	for _, p := range w.pending {
		tmps = append(tmps, p.tmp)
		dirs[filepath.Dir(p.final)] = true
	}
	if !syncOnWrite {
		if err := syncAll(tmps, syncFile); err != nil {
			return err
		}
	}
	for h, p := range w.pending {
		if err := os.Rename(p.tmp, p.final); err != nil {
			return fmt.Errorf("write object %s: %w", h, err)
		}
		delete(w.pending, h)
	}
	var ds []string
	for d := range dirs {
		ds = append(ds, d)
	}
	return syncAll(ds, syncDir)
}

// Discard implements Batch.
func (w *diskBatch) Discard() {
	for _, p := range w.pending {
		os.Remove(p.tmp)
	}
	w.pending = nil
}

// syncAll syncs files or folders, several at a time.
func syncAll(paths []string, sync func(string) error) error {
	const parallel = 32
	sem := make(chan struct{}, parallel)
	errs := make(chan error, len(paths))
	for _, p := range paths {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- sync(p)
		}()
	}
	for range parallel {
		sem <- struct{}{}
	}
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// SweepTemp removes the temporary object files (objects/xx/tmp_obj_*) of
// the repository's own object folder that were last written more than
// olderThan ago: those of writers that died before renaming them, hive's
// or git's. It returns how many it removed.
func (d *Disk) SweepTemp(olderThan time.Duration) (int, error) {
	objects := d.dirs[0].path
	dirs, err := os.ReadDir(objects)
	if err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	var errs []error
	for _, sub := range dirs {
		if name := sub.Name(); !sub.IsDir() || len(name) != 2 || !isHex(name) {
			continue
		}
		dir := filepath.Join(objects, sub.Name())
		ents, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), TempPrefix) {
				continue
			}
			fi, err := e.Info()
			if err != nil || fi.ModTime().After(cutoff) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				n++
			} else if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return n, errors.Join(errs...)
}
