package registry

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// writer builds objects for one update of main. On disk, each object is
// written to a temporary file; sync then makes them all durable at once and
// renames them into place, before the branch may move.
type writer struct {
	s       *Store
	pending map[plumbing.Hash]pendingObject
	trees   map[plumbing.Hash]*tree // trees written, readable before sync renames them
}

// pendingObject is a loose object written under a temporary name.
type pendingObject struct{ tmp, final string }

// object writes an object. On disk it writes the loose object itself
// (zlib, a synced temporary file renamed into place), one open and one
// rename; go-git's writer costs several times that through billy.
func (w *writer) object(t plumbing.ObjectType, b []byte) (plumbing.Hash, error) {
	if w.s.gitDir != "" {
		h := plumbing.ComputeHash(t, b)
		if _, ok := w.pending[h]; ok {
			return h, nil
		}
		hex := h.String()
		dir := filepath.Join(w.s.gitDir, "objects", hex[:2])
		p := filepath.Join(dir, hex[2:])
		if _, err := os.Lstat(p); err == nil {
			return h, nil // already there, and synced by whoever wrote it
		}
		tmp, err := writeLoose(dir, t, b)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("write object %s: %w", h, err)
		}
		if w.pending == nil {
			w.pending = map[plumbing.Hash]pendingObject{}
		}
		w.pending[h] = pendingObject{tmp: tmp, final: p}
		return h, nil
	}
	obj := w.s.st.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(b)))
	ow, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := ow.Write(b); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := ow.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := w.s.st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write object: %w", err)
	}
	return h, nil
}

// zlibWriters reuses compressors: each holds about a megabyte of tables;
// zlibStored, writers of stored (uncompressed) blocks for trees.
var zlibWriters, zlibStored sync.Pool

// writeLoose writes a loose object, deflated "type size\0body" and
// read-only as git makes them, to a temporary file in dir.
func writeLoose(dir string, t plumbing.ObjectType, b []byte) (string, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		if err := fsyncPath(filepath.Dir(dir)); err != nil { // the new folder's name in objects/
			return "", err
		}
	}
	f, err := os.CreateTemp(dir, "tmp_obj_")
	if err != nil {
		return "", err
	}
	// Trees, and blobs under 4 KiB (a trace and its bundle, mostly), are
	// stored uncompressed (zlib's stored blocks, which git reads like any
	// other): trees are mostly hashes, so compression gains little, and a
	// file under 4 KiB fills a file system block either way; the validator
	// and the search index read each of them, where a copy costs a tenth of
	// an inflate (a 1k full verification: 0.24 s -> 0.21 s). git gc packs
	// and compresses them later.
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
	fmt.Fprintf(zw, "%s %d\x00", t, len(b))
	zw.Write(b)
	err = zw.Close()
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

func (w *writer) blob(b []byte) (plumbing.Hash, error) { return w.object(plumbing.BlobObject, b) }

// tree writes entries (in any order) as a git tree and caches its parsed form.
func (w *writer) tree(entries []entry) (plumbing.Hash, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].sortKey() < entries[j].sortKey() })
	var buf bytes.Buffer
	buf.Grow(len(entries) * 100)
	for _, e := range entries {
		buf.WriteString(strconv.FormatUint(uint64(e.mode), 8))
		buf.WriteByte(' ')
		buf.WriteString(e.name)
		buf.WriteByte(0)
		buf.Write(e.hash[:])
	}
	h, err := w.object(plumbing.TreeObject, buf.Bytes())
	if err != nil {
		return h, err
	}
	// The cached form keeps its bytes, against which the next version of
	// the tree is parsed (parseTreeFrom).
	t := &tree{hash: h, raw: buf.String(), ends: make([]int32, len(entries))}
	end := 0
	for k, e := range entries {
		end += len(strconv.FormatUint(uint64(e.mode), 8)) + 1 + len(e.name) + 1 + 20
		t.ends[k] = int32(end)
	}
	w.s.trees.lru.Add(h, t)
	if w.trees == nil {
		w.trees = map[plumbing.Hash]*tree{}
	}
	w.trees[h] = t
	return h, nil
}

// edit returns the tree root with files put at the given paths (a nil
// entry removes the path). Only the trees on the edited paths are rewritten.
func (w *writer) edit(root plumbing.Hash, files map[string]*entry) (plumbing.Hash, error) {
	var entries []entry
	if !root.IsZero() {
		t, ok := w.trees[root]
		var err error
		if !ok {
			t, err = w.s.trees.get(root)
		}
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = t.list()
	}
	// Group the edits by their first path component.
	sub := map[string]map[string]*entry{}
	here := map[string]*entry{}
	for p, e := range files {
		if i := strings.IndexByte(p, '/'); i >= 0 {
			if sub[p[:i]] == nil {
				sub[p[:i]] = map[string]*entry{}
			}
			sub[p[:i]][p[i+1:]] = e
		} else {
			here[p] = e
		}
	}
	out := entries[:0:0]
	for _, e := range entries {
		if _, ok := here[e.name]; ok {
			continue
		}
		if _, ok := sub[e.name]; ok && e.isTree() {
			continue
		}
		out = append(out, e)
	}
	for name, e := range here {
		if e != nil {
			ne := *e
			ne.name = name
			out = append(out, ne)
		}
	}
	for name, edits := range sub {
		var old plumbing.Hash
		for _, e := range entries {
			if e.name == name && e.isTree() {
				old = e.hash
			}
		}
		h, err := w.edit(old, edits)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !h.IsZero() {
			out = append(out, entry{name: name, mode: filemode.Dir, hash: h})
		}
	}
	if len(out) == 0 && !root.IsZero() {
		return plumbing.ZeroHash, nil // an emptied tree disappears
	}
	return w.tree(out)
}

// commit writes a commit object.
func (w *writer) commit(tree plumbing.Hash, parents []plumbing.Hash, who string, when time.Time, msg string) (plumbing.Hash, error) {
	sig := object.Signature{Name: who, Email: who + "@hive.invalid", When: when.Truncate(time.Second)}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: parents}
	obj := &plumbing.MemoryObject{}
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	r, err := obj.Reader()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return w.object(plumbing.CommitObject, b)
}

// sync makes the written objects durable and visible: it syncs every
// temporary file, renames each into place, then syncs the folders. The
// syncs run concurrently, so the file system's journal commits them
// together instead of one disk flush an object. No object reaches its
// final name before its bytes are on disk: a crash leaves either nothing
// or a whole object.
func (w *writer) sync() error {
	if len(w.pending) == 0 {
		return nil
	}
	var tmps []string
	dirs := map[string]bool{}
	for _, p := range w.pending {
		tmps = append(tmps, p.tmp)
		dirs[filepath.Dir(p.final)] = true
	}
	if err := fsyncAll(tmps); err != nil {
		return err
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
	return fsyncAll(ds)
}

// fsyncAll syncs files or folders, several at a time.
func fsyncAll(paths []string) error {
	const parallel = 32
	sem := make(chan struct{}, parallel)
	errs := make(chan error, len(paths))
	for _, p := range paths {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- fsyncPath(p)
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

// flushIfLarge syncs and renames the objects written so far when there are
// many, so that a long batch keeps neither too many temporary files nor
// every tree it wrote in memory. Objects no ref points to are harmless.
func (w *writer) flushIfLarge() error {
	if len(w.pending) < 4096 {
		return nil
	}
	if err := w.sync(); err != nil {
		return err
	}
	w.trees = nil
	return nil
}

// discard removes objects that were written but will not be used.
func (w *writer) discard() {
	for _, p := range w.pending {
		os.Remove(p.tmp)
	}
	w.pending = nil
}

func fsyncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	return nil
}

// moveMain moves main from old to new by compare-and-swap, then makes the
// ref durable. A lost race is ErrConflict.
func (s *Store) moveMain(old, new plumbing.Hash) error {
	if s.gitDir == "" {
		var oldRef *plumbing.Reference
		if !old.IsZero() {
			oldRef = plumbing.NewHashReference(Branch, old)
		}
		err := s.st.CheckAndSetReference(plumbing.NewHashReference(Branch, new), oldRef)
		if errors.Is(err, storage.ErrReferenceHasChanged) {
			return fmt.Errorf("move main from %s: %w", short(old), ErrConflict)
		}
		return err
	}
	// git's own protocol, so that hive and git (receive-pack, git commit)
	// exclude each other: take refs/heads/main.lock with O_EXCL, compare,
	// write and sync the new value in it, rename it over the ref. Readers
	// see the old value or the new one, never an empty file; a crash leaves
	// the old value and a stale lock.
	p := filepath.Join(s.gitDir, filepath.FromSlash(string(Branch)))
	lock := p + ".lock"
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	var f *os.File
	var err error
	for try := 0; ; try++ {
		f, err = os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil || !errors.Is(err, os.ErrExist) || try == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond) // git holds it for a moment
	}
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("move main: %s is locked by another process (remove it if none is running): %w", lock, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("move main: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(lock)
		}
	}()
	cur := plumbing.ZeroHash
	if ref, err := s.st.Reference(Branch); err == nil {
		cur = ref.Hash()
	}
	if cur != old {
		return fmt.Errorf("move main from %s: it is at %s now: %w", short(old), short(cur), ErrConflict)
	}
	if _, err := f.WriteString(new.String() + "\n"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(lock, p); err != nil {
		return fmt.Errorf("move main: %w", err)
	}
	renamed = true
	return fsyncPath(filepath.Dir(p))
}

func short(h plumbing.Hash) string { return h.String()[:12] }
