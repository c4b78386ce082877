package registry

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// writer builds objects for one update of main. It remembers what it wrote
// so that the objects can be synced to disk before the branch moves.
type writer struct {
	s       *Store
	written []plumbing.Hash
}

func (w *writer) object(t plumbing.ObjectType, b []byte) (plumbing.Hash, error) {
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
	w.written = append(w.written, h)
	return h, nil
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
	w.s.trees.lru.Add(h, &tree{hash: h, entries: entries})
	return h, nil
}

// edit returns the tree root with files put at the given paths (a nil
// entry removes the path). Only the trees on the edited paths are rewritten.
func (w *writer) edit(root plumbing.Hash, files map[string]*entry) (plumbing.Hash, error) {
	var entries []entry
	if !root.IsZero() {
		t, err := w.s.trees.get(root)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, t.entries...)
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
	obj := w.s.st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := w.s.st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write commit: %w", err)
	}
	w.written = append(w.written, h)
	return h, nil
}

// sync makes the written loose objects durable.
func (w *writer) sync() error {
	if w.s.gitDir == "" {
		return nil
	}
	dirs := map[string]bool{}
	for _, h := range w.written {
		hex := h.String()
		p := filepath.Join(w.s.gitDir, "objects", hex[:2], hex[2:])
		if err := fsyncPath(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the object was already in a pack
			}
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := fsyncPath(d); err != nil {
			return err
		}
	}
	return nil
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
	var oldRef *plumbing.Reference
	if !old.IsZero() {
		oldRef = plumbing.NewHashReference(Branch, old)
	}
	err := s.st.CheckAndSetReference(plumbing.NewHashReference(Branch, new), oldRef)
	if errors.Is(err, storage.ErrReferenceHasChanged) {
		return fmt.Errorf("move main from %s: %w", short(old), ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("move main: %w", err)
	}
	if s.gitDir == "" {
		return nil
	}
	p := filepath.Join(s.gitDir, filepath.FromSlash(string(Branch)))
	if err := fsyncPath(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return fsyncPath(filepath.Dir(p))
}

// WorktreeError reports that a commit was made but the working tree or
// index could not be brought up to date with it.
type WorktreeError struct{ Err error }

func (e *WorktreeError) Error() string {
	return "the commit is made, but the working tree was not updated: " + e.Err.Error()
}
func (e *WorktreeError) Unwrap() error { return e.Err }

// checkout writes newly added files into the working tree and the index, when
// HEAD is main. Only added files are written; nothing is overwritten that the
// user changed, and no path is followed through a symbolic link.
func (s *Store) checkout(files map[string][]byte) error {
	if s.workDir == "" || len(files) == 0 {
		return nil
	}
	head, err := s.st.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != Branch {
		return nil // HEAD is elsewhere: leave the working tree alone
	}
	idx, err := s.st.Index()
	if err != nil {
		return &WorktreeError{fmt.Errorf("read index: %w", err)}
	}
	byName := make(map[string]int, len(idx.Entries))
	for i, e := range idx.Entries {
		byName[e.Name] = i
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		b := files[p]
		fi, err := writeWorkFile(s.workDir, p, b)
		if err != nil {
			return &WorktreeError{err}
		}
		e := &index.Entry{Name: p, Mode: filemode.Regular, Hash: plumbing.ComputeHash(plumbing.BlobObject, b), Size: uint32(len(b)), ModifiedAt: fi.ModTime()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			e.CreatedAt = time.Unix(st.Ctim.Unix())
			e.Dev, e.Inode, e.UID, e.GID = uint32(st.Dev), uint32(st.Ino), st.Uid, st.Gid
		}
		if i, ok := byName[p]; ok {
			idx.Entries[i] = e
		} else {
			idx.Entries = append(idx.Entries, e)
		}
	}
	idx.Cache = nil // the cached trees no longer match: let git recompute them
	if err := s.st.SetIndex(idx); err != nil {
		return &WorktreeError{fmt.Errorf("write index: %w", err)}
	}
	return nil
}

// writeWorkFile writes b at the slash path p under root, refusing to follow
// symbolic links on the way.
func writeWorkFile(root, p string, b []byte) (os.FileInfo, error) {
	dir := root
	parts := strings.Split(p, "/")
	for _, part := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, part)
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, err
			}
		case err != nil:
			return nil, err
		case !fi.IsDir():
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
	}
	name := filepath.Join(dir, parts[len(parts)-1])
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return os.Lstat(name)
}

func short(h plumbing.Hash) string { return h.String()[:12] }
