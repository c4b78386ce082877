package odb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// refFiles are a repository's references as git keeps them in files: a
// loose file per reference (refs/heads/main), else a line of packed-refs.
// A linked worktree keeps HEAD (and refs/bisect, refs/worktree,
// refs/rewritten) in its own folder, the rest in the common one.
//
// Writers follow git's protocol, so that hive and git (receive-pack, git
// commit, git pack-refs) exclude each other: take NAME.lock with O_EXCL,
// compare, write and sync the new value in it, rename it over the
// reference. Readers see the old value or the new one, never an empty
// file; a crash leaves the old value and a stale lock (see BreakLock).
type refFiles struct {
	gitDir, commonDir string

	mu     sync.Mutex // guards the packed-refs cache
	packed map[plumbing.ReferenceName]plumbing.Hash
	stamp  fileStamp
}

// fileStamp tells whether a file changed since it was read.
type fileStamp struct {
	size  int64
	mtime time.Time
	ok    bool
}

// lockWait is how long a writer waits for another's lock on a reference:
// git holds one for a moment.
const lockWait = time.Second

func (r *refFiles) path(name plumbing.ReferenceName) string {
	dir := r.commonDir
	s := string(name)
	if s == "HEAD" || strings.HasPrefix(s, "refs/bisect/") || strings.HasPrefix(s, "refs/worktree/") || strings.HasPrefix(s, "refs/rewritten/") {
		dir = r.gitDir
	}
	return filepath.Join(dir, filepath.FromSlash(s))
}

// read returns a reference's value: a hash, or a symbolic target.
func (r *refFiles) read(name plumbing.ReferenceName) (plumbing.Hash, plumbing.ReferenceName, error) {
	if err := CheckRefName(name); err != nil {
		return plumbing.ZeroHash, "", err
	}
	p := r.path(name)
	b, err := readSmall(p, 4096)
	switch {
	case err == nil:
		return parseRef(p, b)
	case errors.Is(err, errNotRegular):
		// A folder of references (refs/remotes/origin) is not one.
		if fi, serr := os.Stat(p); serr != nil || !fi.IsDir() {
			return plumbing.ZeroHash, "", err
		}
	case !errors.Is(err, os.ErrNotExist):
		return plumbing.ZeroHash, "", err
	}
	packed, err := r.packedRefs()
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	if h, ok := packed[name]; ok {
		return h, "", nil
	}
	return plumbing.ZeroHash, "", fmt.Errorf("reference %s: %w", name, ErrNotFound)
}

// parseRef parses a loose reference file: 40 hex digits, or "ref: NAME".
func parseRef(path string, b []byte) (plumbing.Hash, plumbing.ReferenceName, error) {
	s := strings.TrimRight(string(b), "\r\n")
	if t, ok := strings.CutPrefix(s, "ref: "); ok {
		t = strings.TrimSpace(t)
		if err := CheckRefName(plumbing.ReferenceName(t)); err != nil {
			return plumbing.ZeroHash, "", &CorruptError{Path: path, Err: err}
		}
		return plumbing.ZeroHash, plumbing.ReferenceName(t), nil
	}
	if len(s) < 40 || !isHex(s[:40]) || len(s) > 40 && s[40] != ' ' && s[40] != '\t' {
		return plumbing.ZeroHash, "", &CorruptError{Path: path, Err: fmt.Errorf("not a reference: %q", trunc(s, 60))}
	}
	return plumbing.NewHash(s[:40]), "", nil
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// packedRefs reads packed-refs, again only when it changed.
func (r *refFiles) packedRefs() (map[plumbing.ReferenceName]plumbing.Hash, error) {
	p := filepath.Join(r.commonDir, "packed-refs")
	r.mu.Lock()
	defer r.mu.Unlock()
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		r.packed, r.stamp = nil, fileStamp{}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime(), ok: true}
	if st == r.stamp {
		return r.packed, nil
	}
	b, err := readSmall(p, 1<<30)
	if err != nil {
		return nil, err
	}
	m, err := parsePackedRefs(p, b)
	if err != nil {
		return nil, err
	}
	r.packed, r.stamp = m, st
	return m, nil
}

// parsePackedRefs parses a packed-refs file: a "# pack-refs with:" line,
// then "HASH NAME" lines, each maybe followed by "^HASH", its peeled value.
func parsePackedRefs(path string, b []byte) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	m := map[plumbing.ReferenceName]plumbing.Hash{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<16)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || line[0] == '#' || line[0] == '^':
			continue
		}
		hex, name, ok := strings.Cut(line, " ")
		if !ok || len(hex) != 40 || !isHex(hex) || CheckRefName(plumbing.ReferenceName(name)) != nil {
			return nil, &CorruptError{Path: path, Err: fmt.Errorf("line %d: %q", n, trunc(line, 80))}
		}
		m[plumbing.ReferenceName(name)] = plumbing.NewHash(hex)
	}
	if err := sc.Err(); err != nil {
		return nil, &CorruptError{Path: path, Err: err}
	}
	return m, nil
}

// Ref implements DB.
func (d *Disk) Ref(name plumbing.ReferenceName) (plumbing.Hash, error) {
	for range maxSymDepth {
		h, target, err := d.refs.read(name)
		if err != nil || target == "" {
			return h, err
		}
		name = target
	}
	return plumbing.ZeroHash, fmt.Errorf("reference %s: symbolic references nested too deep: %w", name, ErrCorrupt)
}

// SymRef implements DB.
func (d *Disk) SymRef(name plumbing.ReferenceName) (plumbing.ReferenceName, error) {
	_, target, err := d.refs.read(name)
	if err != nil {
		return "", err
	}
	if target == "" {
		return "", fmt.Errorf("symbolic reference %s: %w", name, ErrNotFound)
	}
	return target, nil
}

// SetRef implements DB.
func (d *Disk) SetRef(name plumbing.ReferenceName, h plumbing.Hash) error {
	return d.refs.update(name, h.String()+"\n", nil)
}

// SetSymRef implements DB.
func (d *Disk) SetSymRef(name, target plumbing.ReferenceName) error {
	if err := CheckRefName(target); err != nil {
		return err
	}
	return d.refs.update(name, "ref: "+string(target)+"\n", nil)
}

// CompareAndSwapRef implements DB.
func (d *Disk) CompareAndSwapRef(name plumbing.ReferenceName, old, new plumbing.Hash) error {
	return d.refs.update(name, new.String()+"\n", func(cur plumbing.Hash) error {
		if cur != old {
			return &RefChangedError{Name: name, Want: old, Got: cur}
		}
		return nil
	})
}

// update writes a reference under its lock; check, if not nil, is given
// its current value first (zero when it does not exist).
func (r *refFiles) update(name plumbing.ReferenceName, content string, check func(plumbing.Hash) error) error {
	if err := CheckRefName(name); err != nil {
		return err
	}
	p := r.path(name)
	f, err := lock(p)
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if check != nil {
		cur, target, err := r.read(name)
		if errors.Is(err, ErrNotFound) {
			cur, err = plumbing.ZeroHash, nil
		}
		if err != nil {
			return err
		}
		if target != "" {
			return fmt.Errorf("%s is a symbolic reference", name)
		}
		if err := check(cur); err != nil {
			return err
		}
	}
	// An *os.File's errors name the operation and the file already.
	if _, err := f.WriteString(content); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	renamed = true
	return syncDir(filepath.Dir(p))
}

// lock creates path.lock, waiting up to lockWait for another writer's.
func lock(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	name := path + ".lock"
	deadline := time.Now().Add(lockWait)
	for {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			le := &LockedError{Path: name}
			if fi, err := os.Stat(name); err == nil {
				le.Age = time.Since(fi.ModTime())
			}
			return nil, le
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BreakLock removes the lock file of reference name if it was last
// written more than olderThan ago, and says whether it did. Only a caller
// that knows no writer of its own can hold the lock (hive, under its
// writers' lock) may call it: git's own writers hold a reference's lock for
// a moment, far less than any sensible olderThan.
func (d *Disk) BreakLock(name plumbing.ReferenceName, olderThan time.Duration) (bool, error) {
	if err := CheckRefName(name); err != nil {
		return false, err
	}
	p := d.refs.path(name) + ".lock"
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if time.Since(fi.ModTime()) < olderThan {
		return false, nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// DeleteRef implements DB: it removes the loose file and, when the
// reference is packed, its line of packed-refs, each under its lock.
func (d *Disk) DeleteRef(name plumbing.ReferenceName) error {
	if err := CheckRefName(name); err != nil {
		return err
	}
	r := &d.refs
	p := r.path(name)
	f, err := lock(p)
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	packed, err := r.packedRefs()
	if err != nil {
		return err
	}
	if _, ok := packed[name]; ok {
		if err := r.dropPacked(name); err != nil {
			return err
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// dropPacked rewrites packed-refs without name (and its peeled line).
func (r *refFiles) dropPacked(name plumbing.ReferenceName) error {
	p := filepath.Join(r.commonDir, "packed-refs")
	f, err := lock(p)
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	b, err := readSmall(p, 1<<30)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	skip := false
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "^") {
			if !skip {
				out.WriteString(line)
			}
			continue
		}
		_, n, _ := strings.Cut(strings.TrimRight(line, "\n"), " ")
		skip = n == string(name)
		if !skip {
			out.WriteString(line)
		}
	}
	if _, err := f.Write(out.Bytes()); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return err
	}
	renamed = true
	return nil
}
