package registry

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
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

func short(h plumbing.Hash) string { return h.String()[:12] }
