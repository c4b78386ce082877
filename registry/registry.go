// Package registry is a hive repository: a git repository of signed,
// content-addressed traces. It creates and opens hives, adds traces and keys
// by writing git objects directly, reads them back, and holds the validator
// that gates every change (see docs/format.md).
//
// The package reads git objects, never a working tree. It writes the working
// tree and index only as a convenience for people and plain git after a commit
// has been made durable.
package registry

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/hive-dev/hive/odb"
	"github.com/hive-dev/hive/schema"
)

// Branch is the branch a hive keeps its history on.
const Branch = plumbing.ReferenceName("refs/heads/main")

// Errors sort into three kinds, for errors.Is: missing (ErrNotFound),
// stored data that cannot be trusted (ErrCorrupt), and input that breaks a
// rule (ErrInvalid); the others say which rule or state.
var (
	// ErrNotFound reports a trace, key, commit, object or hive that does not
	// exist.
	ErrNotFound = odb.ErrNotFound
	// ErrCorrupt reports a file of the repository that is damaged,
	// malformed or hostile: an object that does not parse, a trace file
	// whose hash is not its name, an object a tree names that cannot be
	// read. Never reported as ErrNotFound.
	ErrCorrupt = odb.ErrCorrupt
	// ErrInvalid reports input that breaks a rule of the format: every
	// Violation and every schema.Error is one (schema.ErrInvalid).
	ErrInvalid = schema.ErrInvalid
	// ErrExists reports a trace, key or hive that is already present.
	ErrExists = errors.New("already exists")
	// ErrConflict reports a lost compare-and-swap race on the branch.
	ErrConflict = errors.New("branch moved during the update")
	// ErrUnauthorised reports a trace whose instance has no registered key,
	// or a revoked one.
	ErrUnauthorised = errors.New("instance not authorised")
)

// kindError is an error of one of the kinds above whose message already
// says what the kind means: errors.Is finds the kind, and the message does
// not end in a repetition of it ("...: already exists").
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// errorf formats an error of the given kind (no %w: the kind is the cause).
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Store is an open hive: its object database and references (package
// odb), the working tree (if any), and the clock used for new commits. A
// Store is safe for concurrent use by readers; writers exclude each other
// (and other processes) with the hive's lock.
type Store struct {
	db   odb.DB
	disk *odb.Disk // db on disk; nil in memory
	// st is go-git's view of the repository, for its configuration and
	// for git's network protocols (fetch, push); objects and references
	// are read through db only.
	st      storage.Storer
	objs    objectStore
	gitDir  string // objects, references, config and .git/hive: shared by all worktrees; "" in memory
	wtDir   string // HEAD and the index: a linked worktree's own git folder, else gitDir
	workDir string // "" for a bare or in-memory hive
	now     func() time.Time
	limits  Limits
	notify  func(string)
	trees   *treeCache
	parsed  *parsedCache
	memTips []plumbing.Hash // the verified-tips record of in-memory storage
	memLock sync.Mutex      // the writers' lock of in-memory storage
	held    atomic.Bool     // this process holds the hive's lock (Store.lock)
	// lastHead is main's last commit read and its tree (headState).
	lastHead atomic.Pointer[[2]plumbing.Hash]
}

// Option changes how a Store is opened.
type Option func(*Store)

// WithClock sets the clock used for commit times (tests use a fixed one).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLimits replaces the validator's limits.
func WithLimits(l Limits) Option { return func(s *Store) { s.limits = l } }

// WithNotify sets where the store reports what it repaired on its own (a
// stale lock of a writer that died, temporary files it left): one line
// each. Without it, repairs are silent.
func WithNotify(fn func(msg string)) Option { return func(s *Store) { s.notify = fn } }

func newStore(db odb.DB, st storage.Storer, workDir string, opts []Option) *Store {
	s := &Store{db: db, st: st, workDir: workDir, now: time.Now, limits: DefaultLimits}
	if d, ok := db.(*odb.Disk); ok {
		s.disk, s.gitDir, s.wtDir = d, d.CommonDir(), d.GitDir()
	}
	for _, o := range opts {
		o(s)
	}
	s.objs = objectStore{db: db}
	s.trees = newTreeCache(s.objs, 640) // a commit's 256 shards and its parent's; ~100 KiB each at 100k traces
	s.parsed = newParsedCache()
	return s
}

// NewMemory returns an empty Store in memory, with no working tree:
// InitStorage makes it a hive. Tests and fixtures use it.
func NewMemory(opts ...Option) *Store {
	return newStore(odb.NewMemory(), memory.NewStorage(), "", opts)
}

// Open opens the hive at dir: a working tree with a .git folder (or a .git
// file, as a linked worktree or submodule has), or a bare repository.
func Open(dir string, opts ...Option) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open hive %s: %w", dir, err)
	}
	gitDir, workDir, err := findGitDir(abs)
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(ErrNotFound, "open hive %s: not a git repository", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open hive %s: %w", dir, err)
	}
	s, err := openAt(gitDir, workDir, opts)
	if err != nil {
		return nil, fmt.Errorf("open hive %s: %w", dir, err)
	}
	if _, err := s.db.Ref(Branch); err != nil {
		s.Close()
		if errors.Is(err, ErrNotFound) {
			return nil, errorf(ErrNotFound, "open hive %s: no branch main", dir)
		}
		return nil, fmt.Errorf("open hive %s: %w", dir, err)
	}
	return s, nil
}

// findGitDir finds the git folder of the repository at abs: abs/.git, the
// folder a .git file names ("gitdir: PATH"), or abs itself when bare.
func findGitDir(abs string) (gitDir, workDir string, err error) {
	dotGit := filepath.Join(abs, ".git")
	fi, err := os.Lstat(dotGit)
	switch {
	case err == nil && fi.IsDir():
		return dotGit, abs, nil
	case err == nil && fi.Mode().IsRegular():
		b, err := os.ReadFile(dotGit)
		if err != nil {
			return "", "", err
		}
		line, _, _ := bytes.Cut(b, []byte{'\n'})
		p, ok := strings.CutPrefix(strings.TrimSpace(string(line)), "gitdir:")
		if !ok {
			return "", "", fmt.Errorf("%s is not a gitdir file: %w", dotGit, ErrCorrupt)
		}
		p = strings.TrimSpace(p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(abs, p)
		}
		return filepath.Clean(p), abs, nil
	}
	if fi, err := os.Stat(filepath.Join(abs, "objects")); err == nil && fi.IsDir() {
		return abs, "", nil
	}
	return "", "", fmt.Errorf("not a git repository: %w", ErrNotFound)
}

// openAt opens the repository in gitDir, with workDir as its working tree.
func openAt(gitDir, workDir string, opts []Option) (*Store, error) {
	db, err := odb.Open(gitDir)
	if err != nil {
		return nil, err
	}
	return newStore(db, openStorage(db.CommonDir()), workDir, opts), nil
}

// openStorage is go-git's storage of a repository, for its configuration
// and transports. It sees alternates, so that a push from a clone made
// with --shared or --reference finds every object it sends.
func openStorage(gitDir string) storage.Storer {
	return filesystem.NewStorageWithOptions(osfs.New(gitDir), cache.NewObjectLRU(8<<20),
		filesystem.Options{KeepDescriptors: true, AlternatesFS: osfs.New("/")})
}

// Close releases the files and mappings the store holds.
func (s *Store) Close() error {
	err := s.db.Close()
	if c, ok := s.st.(interface{ Close() error }); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// GitDir is the repository's git folder ("" for in-memory storage): the
// one that holds its objects and references, shared by its worktrees.
func (s *Store) GitDir() string { return s.gitDir }

// WorkDir is the working tree ("" when there is none).
func (s *Store) WorkDir() string { return s.workDir }

// Dir is the hive's folder as its user knows it: the working tree, or the
// git folder of a bare hive.
func (s *Store) Dir() string {
	if s.workDir != "" {
		return s.workDir
	}
	return s.gitDir
}

// Storer exposes go-git's storage of the repository, for its
// configuration. Objects and references are read and written through DB.
func (s *Store) Storer() storage.Storer { return s.st }

// DB is the store's object database.
func (s *Store) DB() odb.DB { return s.db }

// Head returns the commit main points at.
func (s *Store) Head() (plumbing.Hash, error) {
	h, err := s.db.Ref(Branch)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return plumbing.ZeroHash, fmt.Errorf("read %s: %w", Branch, ErrNotFound)
		}
		return plumbing.ZeroHash, fmt.Errorf("read %s: %w", Branch, err)
	}
	return h, nil
}

// ResolveRevision turns a revision as git takes it (main, origin/main,
// HEAD~2, an abbreviated commit name...) into a commit, reading the
// repository as everything else in the package does.
func (s *Store) ResolveRevision(rev string) (plumbing.Hash, error) {
	h, err := odb.Resolve(s.db, rev)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := s.db.Read(plumbing.CommitObject, h, maxCommitSize); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("revision %q: %w", rev, err)
	}
	return h, nil
}

// Layout paths.
const (
	ConfigPath       = "hive.json"
	ConfigBundlePath = "hive.sigstore.json"
	keysDir          = "keys"
	tracesDir        = "traces"
	traceExt         = ".json"
	bundleExt        = ".sigstore.json"
	keyExt           = ".pub"
)

// TracePath is the path of a trace file in the tree: traces/<hh>/<hex>.json.
func TracePath(id schema.ID) string {
	h := id.Hex()
	return tracesDir + "/" + h[:2] + "/" + h + traceExt
}

// BundlePath is the path of a trace's signature bundle.
func BundlePath(id schema.ID) string {
	return strings.TrimSuffix(TracePath(id), traceExt) + bundleExt
}

// KeyPath is the path of an instance's registered public key.
func KeyPath(instance string) string { return keysDir + "/" + instance + keyExt }
