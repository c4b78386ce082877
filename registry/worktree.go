package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
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

	"github.com/hive-dev/hive/internal/fault"
)

// The working tree and the index are a convenience for people and plain
// git: hive reads git objects, never them. It keeps them at main after
// each write, and repairs what a crash left behind when a hive is next
// opened for writing, under the writers' lock:
//
//   - .git/hive/worktree records the commit the index and working tree
//     reflect; when main is elsewhere (a writer died after moving main),
//     the files main added since are written and the ones it removed
//     deleted, in both;
//   - a .git/index.lock that no writer holds is removed;
//   - temporary files (.git/hive/**/.tmp-*) older than a writer lives are
//     removed.
//
// A failure to update them after main moved is a warning: the commit
// stands, and the next write repairs them.

// WorktreeError reports that a commit was made but the working tree or
// index could not be brought up to date with it.
type WorktreeError struct{ Err error }

func (e *WorktreeError) Error() string {
	return "the commit is made, but the working tree was not updated: " + e.Err.Error()
}
func (e *WorktreeError) Unwrap() error { return e.Err }

// worktreePath records the commit the index and working tree reflect.
// A linked worktree has its own index, and its own record.
func (s *Store) worktreePath() string { return filepath.Join(s.wtDir, "hive", "worktree") }

// headIsMain reports whether there is a working tree that follows main.
func (s *Store) headIsMain() bool {
	if s.workDir == "" {
		return false
	}
	target, err := s.db.SymRef(plumbing.HEAD)
	return err == nil && target == Branch
}

// worktreeAt reads the record: the commit the index and working tree
// reflect, or false when there is none.
func (s *Store) worktreeAt() (plumbing.Hash, bool) {
	b, err := os.ReadFile(s.worktreePath())
	if err != nil || len(b) != 41 || b[40] != '\n' || !plumbing.IsHash(string(b[:40])) {
		return plumbing.ZeroHash, false
	}
	return plumbing.NewHash(string(b[:40])), true
}

// recordWorktree records that the index and working tree reflect h. The
// record is a hint: lost or stale, the next repair compares the index with
// main instead, or writes again what is there already.
func (s *Store) recordWorktree(h plumbing.Hash) error {
	p := s.worktreePath()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp-" + h.String()[:8]
	if err := os.WriteFile(tmp, []byte(h.String()+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// moved brings the index and working tree from old to new after main
// moved there: files are what new adds (with their bytes) and removed what
// it deletes, or both nil to read them from the two trees. A failure is
// logged as a warning: the commit stands, and the next write repairs it.
func (s *Store) moved(old, new plumbing.Hash, files map[string][]byte, removed []string) {
	fault.Kill("after-ref")
	if err := s.updateWorktree(old, new, files, removed); err != nil {
		s.tell("warning: " + err.Error() + "; the next hive write brings it up to main (or run `git checkout -f main`)")
	}
}

func (s *Store) updateWorktree(old, new plumbing.Hash, files map[string][]byte, removed []string) error {
	if !s.headIsMain() {
		return nil // HEAD is elsewhere: leave the working tree alone
	}
	if files == nil && removed == nil {
		var err error
		if files, removed, err = s.changedFiles(old, new); err != nil {
			return &WorktreeError{err}
		}
	}
	if err := s.applyWorktree(files, removed); err != nil {
		return err
	}
	if err := s.recordWorktree(new); err != nil {
		return &WorktreeError{err}
	}
	return nil
}

// applyWorktree writes files into the working tree and the index, and
// removes the removed paths from both. Only the given paths are touched,
// and no path is followed through a symbolic link.
func (s *Store) applyWorktree(files map[string][]byte, removed []string) error {
	if err := fault.Fail("worktree"); err != nil {
		return &WorktreeError{err}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	written := make(map[string]os.FileInfo, len(paths))
	for _, p := range paths {
		fi, err := writeWorkFile(s.workDir, p, files[p])
		if err != nil {
			return &WorktreeError{err}
		}
		written[p] = fi
	}
	for _, p := range removed {
		if err := os.Remove(filepath.Join(s.workDir, filepath.FromSlash(p))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return &WorktreeError{err}
		}
	}
	fault.Kill("mid-worktree")
	if gitBinary() != "" {
		// git rewrites its index in C, and with core.splitIndex only the
		// entries that changed: a hive of 100,000 traces has an index of
		// 30 MB, which go-git decodes and encodes whole.
		if len(paths) > 0 {
			if err := s.gitUpdateIndex("--add", paths); err != nil {
				return err
			}
		}
		if len(removed) > 0 {
			return s.gitUpdateIndex("--force-remove", removed)
		}
		return nil
	}
	idx, err := s.st.Index()
	if err != nil {
		return &WorktreeError{fmt.Errorf("read index: %w", err)}
	}
	gone := map[string]bool{}
	for _, p := range removed {
		gone[p] = true
	}
	kept := idx.Entries[:0]
	byName := make(map[string]int, len(idx.Entries))
	for _, e := range idx.Entries {
		if !gone[e.Name] {
			byName[e.Name] = len(kept)
			kept = append(kept, e)
		}
	}
	idx.Entries = kept
	for _, p := range paths {
		b, fi := files[p], written[p]
		e := &index.Entry{Name: p, Mode: filemode.Regular, Hash: plumbing.ComputeHash(plumbing.BlobObject, b),
			Size: uint32(len(b)), ModifiedAt: fi.ModTime(), CreatedAt: fi.ModTime()}
		statEntry(e, fi)
		if i, ok := byName[p]; ok {
			idx.Entries[i] = e
		} else {
			idx.Entries = append(idx.Entries, e)
		}
	}
	sort.Slice(idx.Entries, func(i, j int) bool { return idx.Entries[i].Name < idx.Entries[j].Name })
	idx.Cache = nil // the cached trees no longer match: let git recompute them
	if err := s.st.SetIndex(idx); err != nil {
		return &WorktreeError{fmt.Errorf("write index: %w", err)}
	}
	return nil
}

// worktreeHolds reports whether the index and the working tree already
// hold main's versions of what changed since the recorded commit (files)
// and lack what main removed: git says the index and the tracked files
// are main's, and none of removed is on disk. (git is asked because the
// index is split: go-git reads only its shared part.)
func (s *Store) worktreeHolds(main plumbing.Hash, removed []string) bool {
	if gitBinary() == "" {
		return false
	}
	for _, args := range [][]string{{"--cached"}, {}} {
		cmd := exec.Command(gitBinary(), append(append([]string{"--git-dir", s.wtDir, "--work-tree", s.workDir,
			"diff-index", "--quiet", "--no-renames"}, args...), main.String())...)
		cmd.Dir = s.workDir
		cmd.Env = gitEnv()
		if cmd.Run() != nil {
			return false
		}
	}
	for _, p := range removed {
		if _, err := os.Lstat(filepath.Join(s.workDir, filepath.FromSlash(p))); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// tmpMaxAge is longer than any writer keeps a temporary file: older ones
// were left by writers that died.
const tmpMaxAge = time.Hour

// repair brings back what a crashed writer left: it runs when a hive is
// opened for writing, under the writers' lock, and tells the log what it
// did. A repair that fails is a warning, not a reason to refuse the write.
func (s *Store) repair() {
	if s.gitDir == "" {
		return
	}
	s.removeStaleTemps()
	if !s.headIsMain() {
		return
	}
	s.recoverIndexLock()
	main, err := s.Head()
	if err != nil {
		return
	}
	at, ok := s.worktreeAt()
	if ok && at == main {
		return
	}
	if ok {
		files, removed, err := s.changedFiles(at, main)
		if err == nil && s.worktreeHolds(main, removed) {
			// main was moved by git itself (a reset --hard, a checkout),
			// which brought the index and the files with it: nothing to
			// repair, nothing to say.
			if err := s.recordWorktree(main); err != nil {
				s.tell("warning: record the working tree's commit: " + err.Error())
			}
			return
		}
		if err == nil {
			if err := s.applyWorktree(files, removed); err != nil {
				s.tell("warning: the working tree is behind main, and could not be brought up to it: " + err.Error())
				return
			}
			s.tell(fmt.Sprintf("brought the index and working tree up to main (%s, from %s: %d files written, %d removed): a writer had stopped after moving main",
				short(main), short(at), len(files), len(removed)))
			if err := s.recordWorktree(main); err != nil {
				s.tell("warning: record the working tree's commit: " + err.Error())
			}
			return
		}
		// The recorded commit is gone (a gc after a rewrite): compare.
	}
	n, err := s.catchUpIndex(main)
	if err != nil {
		s.tell("warning: could not compare the index with main: " + err.Error())
		return
	}
	if n > 0 {
		s.tell(fmt.Sprintf("brought the index and working tree up to main (%s: %d files written): they lacked files main has", short(main), n))
	}
	if err := s.recordWorktree(main); err != nil {
		s.tell("warning: record the working tree's commit: " + err.Error())
	}
}

// catchUpIndex writes into the index and working tree every file of main
// that the index lacks or holds otherwise, as git sees it, and returns how
// many. Files the index has and main lacks are left alone: they may be
// the user's. Without git it changes nothing.
func (s *Store) catchUpIndex(main plumbing.Hash) (int, error) {
	if gitBinary() == "" {
		return 0, nil
	}
	cmd := exec.Command(gitBinary(), "--git-dir", s.wtDir, "--work-tree", s.workDir,
		"diff-index", "--cached", "--no-renames", "-z", "--name-status", main.String())
	cmd.Dir = s.workDir // paths are the work tree's, not those of the folder hive runs in
	cmd.Env = gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("git diff-index: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	root, err := s.CommitTree(main)
	if err != nil {
		return 0, err
	}
	files := map[string][]byte{}
	f := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	for i := 0; i+1 < len(f); i += 2 {
		status, p := f[i], f[i+1]
		if status != "D" && status != "M" && status != "T" {
			continue // "A": in the index, not on main
		}
		if _, ok := classify(p); !ok {
			continue // main is valid: nothing outside the layout is on it
		}
		e, ok, err := s.trees.lookup(root, p)
		if err != nil {
			return 0, err
		}
		if !ok || e.isTree() {
			continue
		}
		b, err := s.objs.read(plumbing.BlobObject, e.hash, maxTreeSize)
		if err != nil {
			return 0, err
		}
		files[p] = b
	}
	if len(files) == 0 {
		return 0, nil
	}
	return len(files), s.applyWorktree(files, nil)
}

// recoverIndexLock removes a .git/index.lock left by a git that died.
// hive runs git on the index only under the writers' lock, which this
// process holds; a plain git command may hold the index's lock meanwhile,
// but only while it writes the index, a moment. A lock that nobody has
// written for staleLockAge (as for main's lock) is a leftover; a younger
// one is waited for.
func (s *Store) recoverIndexLock() {
	lock := filepath.Join(s.wtDir, "index.lock")
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		fi, err := os.Lstat(lock)
		if err != nil {
			return // none, or released
		}
		if age := time.Since(fi.ModTime()); age >= staleLockAge {
			if err := os.Remove(lock); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.tell("warning: remove a stale .git/index.lock: " + err.Error())
				return
			}
			s.tell(fmt.Sprintf("removed a stale .git/index.lock, left %s ago by a git that stopped while it wrote the index", age.Round(time.Second)))
			return
		}
		if time.Since(start) > 2*staleLockAge {
			s.tell("warning: .git/index.lock is held: the working tree may stay behind main until it is released")
			return
		}
	}
}

// removeStaleTemps removes temporary files under .git/hive (of the
// verified-tips record, the search index, the working tree record) that
// no live writer can still be writing.
func (s *Store) removeStaleTemps() {
	root := filepath.Join(s.gitDir, "hive")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(d.Name(), ".tmp-") {
			return nil
		}
		fi, err := d.Info()
		if err != nil || time.Since(fi.ModTime()) < tmpMaxAge {
			return nil
		}
		if err := os.Remove(p); err == nil {
			s.tell(fmt.Sprintf("removed %s, left %s ago by a writer that is no longer running", p, time.Since(fi.ModTime()).Round(time.Minute)))
		}
		return nil
	})
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
	cmd.Dir = s.workDir // paths are the work tree's, not those of the folder hive runs in
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
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link", name)
	}
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

// ErrLocalChanges reports a write refused because it would replace or
// delete files of the working tree that were changed by hand: main did not
// move, and the files are as they were.
var ErrLocalChanges = errors.New("local changes would be overwritten")

// checkHandEdits refuses, with ErrLocalChanges, a move of main from the
// commit of tree root that would write files or delete removed where the
// working tree holds bytes of neither version: a file edited by hand, or
// an untracked file, a directory or a symbolic link in the way. A file
// missing from the working tree is no obstacle (nothing is lost), and
// neither is one that already holds the new bytes. As git's merge and
// checkout do, it keeps the person's work over the update.
func (s *Store) checkHandEdits(root plumbing.Hash, files map[string][]byte, removed []string) error {
	if !s.headIsMain() {
		return nil
	}
	paths := make([]string, 0, len(files)+len(removed))
	for p := range files {
		paths = append(paths, p)
	}
	paths = append(paths, removed...)
	sort.Strings(paths)
	var edited []string
	for _, p := range paths {
		var keep []plumbing.Hash
		if !root.IsZero() {
			e, ok, err := s.trees.lookup(root, p)
			if err != nil {
				return err
			}
			if ok {
				keep = append(keep, e.hash)
			}
		}
		if b, ok := files[p]; ok {
			keep = append(keep, plumbing.ComputeHash(plumbing.BlobObject, b))
		}
		if !workFileHolds(filepath.Join(s.workDir, filepath.FromSlash(p)), keep) {
			edited = append(edited, p)
		}
	}
	if len(edited) == 0 {
		return nil
	}
	list := strings.Join(edited[:min(len(edited), 5)], ", ")
	if len(edited) > 5 {
		list += fmt.Sprintf(" and %d more", len(edited)-5)
	}
	return fmt.Errorf("%w: %s in the working tree of %s differ from main; commit them with git, or move them away, and run this again (main did not move)",
		ErrLocalChanges, list, s.workDir)
}

// workFileHolds reports whether the working tree's file at name is missing
// or is a regular file whose bytes are one of the blobs keep.
func workFileHolds(name string, keep []plumbing.Hash) bool {
	fi, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxTreeSize {
		return false
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return false
	}
	h := plumbing.ComputeHash(plumbing.BlobObject, b)
	for _, k := range keep {
		if h == k {
			return true
		}
	}
	return false
}
