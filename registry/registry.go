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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/hive-dev/hive/schema"
)

// Branch is the branch a hive keeps its history on.
const Branch = plumbing.ReferenceName("refs/heads/main")

var (
	// ErrNotFound reports a trace, key, commit or hive that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists reports a trace, key or hive that is already present.
	ErrExists = errors.New("already exists")
	// ErrConflict reports a lost compare-and-swap race on the branch.
	ErrConflict = errors.New("branch moved during the update")
	// ErrInvalid reports input that breaks a rule of the format.
	ErrInvalid = errors.New("invalid")
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

// Store is an open hive: its git object and reference storage, the working
// tree (if any), and the clock used for new commits.
type Store struct {
	st         storage.Storer
	objs       objectStore
	gitDir     string // "" for in-memory storage
	workDir    string // "" for a bare or in-memory hive
	now        func() time.Time
	limits     Limits
	trees      *treeCache
	parsed     *parsedCache
	memTips    []plumbing.Hash // the verified-tips record of in-memory storage
	memLock    sync.Mutex      // the writers' lock of in-memory storage
	alternates bool            // objects/info/alternates names folders outside gitDir
}

// Option changes how a Store is opened.
type Option func(*Store)

// WithClock sets the clock used for commit times (tests use a fixed one).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLimits replaces the validator's limits.
func WithLimits(l Limits) Option { return func(s *Store) { s.limits = l } }

func newStore(st storage.Storer, gitDir, workDir string, opts []Option) *Store {
	s := &Store{st: st, gitDir: gitDir, workDir: workDir, now: time.Now, limits: DefaultLimits}
	for _, o := range opts {
		o(s)
	}
	s.objs = objectStore{st: st, dir: gitDir}
	if gitDir != "" {
		s.objs.packs = newPackSet(gitDir)
	}
	s.trees = newTreeCache(s.objs, 640) // a commit's 256 shards and its parent's; ~100 KiB each at 100k traces
	s.parsed = newParsedCache()
	return s
}

// New returns a Store over the given storage, with no working tree. The
// storage may be go-git's memory storage; tests use this seam.
func New(st storage.Storer, opts ...Option) *Store {
	return newStore(st, "", "", opts)
}

// Open opens the hive at dir: a working tree with a .git folder, or a bare
// repository.
func Open(dir string, opts ...Option) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open hive %s: %w", dir, err)
	}
	gitDir, workDir := abs, ""
	if fi, err := os.Stat(filepath.Join(abs, ".git")); err == nil && fi.IsDir() {
		gitDir, workDir = filepath.Join(abs, ".git"), abs
	} else if _, err := os.Stat(filepath.Join(abs, "objects")); err != nil {
		return nil, errorf(ErrNotFound, "open hive %s: not a git repository", dir)
	}
	s := newStore(openStorage(gitDir), gitDir, workDir, opts)
	if _, err := s.st.Reference(Branch); err != nil {
		return nil, errorf(ErrNotFound, "open hive %s: no branch main", dir)
	}
	return s, nil
}

func openStorage(gitDir string) storage.Storer {
	return filesystem.NewStorageWithOptions(osfs.New(gitDir), cache.NewObjectLRU(64<<20), filesystem.Options{KeepDescriptors: true})
}

// Close releases the files the store holds open.
func (s *Store) Close() error {
	if c, ok := s.st.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// GitDir is the repository's git folder ("" for in-memory storage).
func (s *Store) GitDir() string { return s.gitDir }

// WorkDir is the working tree ("" when there is none).
func (s *Store) WorkDir() string { return s.workDir }

// Storer exposes the underlying object and reference storage.
func (s *Store) Storer() storage.Storer { return s.st }

// Head returns the commit main points at.
func (s *Store) Head() (plumbing.Hash, error) {
	ref, err := s.st.Reference(Branch)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s: %w", Branch, ErrNotFound)
	}
	return ref.Hash(), nil
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
