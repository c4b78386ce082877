package registry

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hive-dev/hive/gitfmt"
	"github.com/hive-dev/hive/odb"
)

// writer builds objects for one update of main, through a batch of the
// store's database: written objects become durable and readable together
// when sync returns, before the branch may move.
type writer struct {
	s     *Store
	batch odb.Batch
	trees map[plumbing.Hash]*tree // trees written, readable before sync
}

// object writes an object.
func (w *writer) object(t plumbing.ObjectType, b []byte) (plumbing.Hash, error) {
	if w.batch == nil {
		w.batch = w.s.db.NewBatch()
	}
	h, err := w.batch.Write(t, b)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write object: %w", err)
	}
	return h, nil
}

func (w *writer) blob(b []byte) (plumbing.Hash, error) { return w.object(plumbing.BlobObject, b) }

// tree writes entries (in any order) as a git tree and caches its parsed form.
func (w *writer) tree(entries []entry) (plumbing.Hash, error) {
	ges := make([]gitfmt.Entry, len(entries))
	for i, e := range entries {
		ges[i] = e.git()
	}
	raw, gt := gitfmt.EncodeTree(ges)
	h, err := w.object(plumbing.TreeObject, raw)
	if err != nil {
		return h, err
	}
	// The cached form keeps its bytes, against which the next version of
	// the tree is parsed (parseTreeFrom).
	t := wrapTree(gt)
	w.s.trees.put(t)
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

// sync makes the written objects durable and readable.
func (w *writer) sync() error {
	if w.batch == nil {
		return nil
	}
	return w.batch.Sync()
}

// flushIfLarge syncs the objects written so far when there are many, so
// that a long batch keeps neither too many temporary files nor every tree
// it wrote in memory. Objects no ref points to are harmless.
func (w *writer) flushIfLarge() error {
	if w.batch == nil || w.batch.Pending() < 4096 {
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
	if w.batch != nil {
		w.batch.Discard()
	}
}

// staleLockAge is how old a lock on main must be, while this process holds
// the hive's lock, to be taken for one a dead writer left: every hive
// writer holds the hive's lock, and git's own writers (receive-pack, git
// commit) hold a reference's lock for a moment.
const staleLockAge = 5 * time.Second

// moveMain moves main from old to new by compare-and-swap, durably. A lost
// race is ErrConflict. A lock on main that a writer which died left behind
// (hive holds its own lock, so no hive writer is alive; no git writer holds
// one for staleLockAge) is removed, and the store's notify says so.
func (s *Store) moveMain(old, new plumbing.Hash) error {
	for {
		err := s.db.CompareAndSwapRef(Branch, old, new)
		var le *odb.LockedError
		switch {
		case err == nil:
			return nil
		case errors.Is(err, odb.ErrRefChanged):
			cur, _ := s.db.Ref(Branch)
			return fmt.Errorf("move main from %s: it is at %s now: %w", short(old), short(cur), ErrConflict)
		case errors.As(err, &le) && s.disk != nil && s.held.Load():
			if le.Age < staleLockAge {
				time.Sleep(min(staleLockAge-le.Age, staleLockAge/10) + 10*time.Millisecond)
				continue
			}
			broken, berr := s.disk.BreakLock(Branch, staleLockAge)
			if berr != nil {
				return fmt.Errorf("move main: %w", berr)
			}
			if broken {
				s.tell(fmt.Sprintf("removed %s, left %s ago by a writer that is no longer running", le.Path, le.Age.Round(time.Second)))
			}
			continue
		case errors.As(err, &le):
			return fmt.Errorf("move main: %s is locked by another process (remove it if none is running): %w", le.Path, ErrConflict)
		}
		return fmt.Errorf("move main: %w", err)
	}
}

// tell reports a repair through the store's notify, if any.
func (s *Store) tell(msg string) {
	if s.notify != nil {
		s.notify(msg)
	}
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
	if target, err := s.db.SymRef(plumbing.HEAD); err != nil || target != Branch {
		return nil // HEAD is elsewhere: leave the working tree alone
	}
	if git := gitBinary(); git != "" {
		// git rewrites its index in C, and with core.splitIndex only the
		// entries that changed: a hive of 100,000 traces has an index of
		// 30 MB, which go-git decodes and encodes in about a second.
		paths := make([]string, 0, len(files))
		for p, b := range files {
			if _, err := writeWorkFile(s.workDir, p, b); err != nil {
				return &WorktreeError{err}
			}
			paths = append(paths, p)
		}
		sort.Strings(paths)
		return s.gitUpdateIndex("--add", paths)
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
		statEntry(e, fi)
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

// gitBinary is the git command, or "" where git is not installed.
var gitBinary = sync.OnceValue(func() string {
	p, err := exec.LookPath("git")
	if err != nil {
		return ""
	}
	return p
})

// gitUpdateIndex runs git update-index with the paths on its standard
// input, in split-index mode so that a large index is not rewritten whole.
func (s *Store) gitUpdateIndex(op string, paths []string) error {
	cmd := exec.Command(gitBinary(), "-c", "core.splitIndex=true", "-c", "splitIndex.maxPercentChange=20",
		"--git-dir", s.wtDir, "--work-tree", s.workDir, "update-index", op, "-z", "--stdin")
	cmd.Stdin = strings.NewReader(strings.Join(paths, "\x00") + "\x00")
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return &WorktreeError{fmt.Errorf("git update-index: %v: %s", err, strings.TrimSpace(string(out)))}
	}
	return nil
}

// gitEnv is the environment for git run on a hive: without the variables
// that would point it at another index, object folder or quarantine than
// the repository's own.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "GIT_INDEX_FILE", "GIT_DIR", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH":
		default:
			env = append(env, kv)
		}
	}
	return env
}

// removeWorkFiles removes deleted files from the working tree and the
// index, when HEAD is main.
func (s *Store) removeWorkFiles(paths []string) error {
	if s.workDir == "" || len(paths) == 0 {
		return nil
	}
	if target, err := s.db.SymRef(plumbing.HEAD); err != nil || target != Branch {
		return nil
	}
	if gitBinary() != "" {
		for _, p := range paths {
			if err := os.Remove(filepath.Join(s.workDir, filepath.FromSlash(p))); err != nil && !errors.Is(err, os.ErrNotExist) {
				return &WorktreeError{err}
			}
		}
		return s.gitUpdateIndex("--force-remove", paths)
	}
	idx, err := s.st.Index()
	if err != nil {
		return &WorktreeError{fmt.Errorf("read index: %w", err)}
	}
	gone := map[string]bool{}
	for _, p := range paths {
		gone[p] = true
		if err := os.Remove(filepath.Join(s.workDir, filepath.FromSlash(p))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return &WorktreeError{err}
		}
	}
	kept := idx.Entries[:0]
	for _, e := range idx.Entries {
		if !gone[e.Name] {
			kept = append(kept, e)
		}
	}
	idx.Entries = kept
	idx.Cache = nil
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
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|oNoFollow, 0o644)
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
