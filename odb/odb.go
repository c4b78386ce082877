// Package odb is a git object database: it finds, reads and writes git
// objects and references, on disk (loose objects, packs, alternates, linked
// worktrees) or in memory, for the hive and for nothing else. The formats
// themselves are package gitfmt's; this package holds the effects: files,
// mappings, caches, locks.
//
// Every DB is safe for concurrent use. A corrupt or hostile file gives an
// error that wraps ErrCorrupt, never ErrNotFound and never a panic; an
// object over a caller's size limit gives a *SizeError; an object that
// would cost more to build from its deltas than its size warrants gives a
// *BuildError, which wraps ErrCorrupt.
package odb

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

var (
	// ErrNotFound reports an object or reference that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrCorrupt reports a file of the database that is damaged, malformed
	// or hostile.
	ErrCorrupt = errors.New("corrupt")
	// ErrRefChanged reports a compare-and-swap of a reference that lost: the
	// reference no longer had the value expected.
	ErrRefChanged = errors.New("reference changed")
	// ErrLocked reports a reference whose lock file another writer holds.
	ErrLocked = errors.New("reference is locked")
	// ErrUnsupported reports a repository this package does not read: one of
	// SHA-256 object names, or with a version 1 pack index.
	ErrUnsupported = errors.New("unsupported repository")
)

// Reader reads objects.
type Reader interface {
	// Read returns object h, which must be of type t and at most max
	// bytes. The bytes may be shared with the database's caches: the
	// caller must not change them.
	Read(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error)
	// Borrow is Read into memory lent to the caller until it calls
	// release, after which neither the bytes nor anything pointing into
	// them may be used. release is nil when nothing is lent: the bytes are
	// then Read's, and stay valid. A loose object stored without compression whose
	// content is larger than uncheckedAbove bytes is returned without
	// checking its zlib Adler-32 (callers that compare the object with
	// another and refuse any difference need no checksum to notice
	// corruption); every other object is checked.
	Borrow(t plumbing.ObjectType, h plumbing.Hash, max, uncheckedAbove int64) (b []byte, release func(), err error)
}

// DB is an object database with its references.
type DB interface {
	Reader
	// NewBatch starts writing objects.
	NewBatch() Batch
	// Abbrev returns up to limit names of objects that start with the hex
	// digits prefix (at least 4).
	Abbrev(prefix string, limit int) ([]plumbing.Hash, error)
	// Ref returns what reference name points at, following symbolic
	// references; ErrNotFound when it does not exist.
	Ref(name plumbing.ReferenceName) (plumbing.Hash, error)
	// SymRef returns the target of the symbolic reference name;
	// ErrNotFound when name does not exist or is not symbolic.
	SymRef(name plumbing.ReferenceName) (plumbing.ReferenceName, error)
	// SetRef points name at h, whatever it pointed at.
	SetRef(name plumbing.ReferenceName, h plumbing.Hash) error
	// SetSymRef makes name a symbolic reference to target.
	SetSymRef(name, target plumbing.ReferenceName) error
	// CompareAndSwapRef points name at new if it points at old (zero: if
	// it does not exist), durably; a *RefChangedError otherwise. A lock
	// held by another writer past a short wait is a *LockedError.
	CompareAndSwapRef(name plumbing.ReferenceName, old, new plumbing.Hash) error
	// DeleteRef removes name; a name that does not exist is not an error.
	DeleteRef(name plumbing.ReferenceName) error
	// Close releases the database's files and mappings. Reads after Close
	// fail.
	Close() error
}

// Batch writes objects for one update. Objects are readable and durable
// only once Sync returns; Discard drops those not synced yet.
type Batch interface {
	// Write stores an object of type t and returns its name.
	Write(t plumbing.ObjectType, b []byte) (plumbing.Hash, error)
	// Pending is the number of objects written and not synced yet.
	Pending() int
	// Sync makes every object written so far durable and readable.
	Sync() error
	// Discard drops the objects written and not synced.
	Discard()
}

// SizeError reports an object over the size limit of its read.
type SizeError struct {
	Object    plumbing.Hash
	Size, Max int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("object %s: %d bytes, over the limit of %d", e.Object, e.Size, e.Max)
}

// CorruptError reports a damaged, malformed or hostile file: the object
// being read (zero when none), the file and what is wrong.
type CorruptError struct {
	Object plumbing.Hash
	Path   string
	Err    error
}

func (e *CorruptError) Error() string {
	s := "corrupt"
	if !e.Object.IsZero() {
		s = "object " + e.Object.String() + ": corrupt"
	}
	if e.Path != "" {
		s += " " + e.Path
	}
	return s + ": " + e.Err.Error()
}

// Is makes every CorruptError match ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap is the error found in the file.
func (e *CorruptError) Unwrap() error { return e.Err }

// BuildError reports an object whose delta chain would cost more to build
// than a read of its size may: the largest object in the chain, or the
// bytes of all of them, is over the read's budget (see Budget). git never
// needs such a chain for objects of the sizes a caller accepts; a "delta
// bomb" does (a small object built on a huge base).
type BuildError struct {
	Object          plumbing.Hash
	Largest, Total  uint64
	MaxLargest, Max uint64
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("object %s: corrupt or hostile: building it from its deltas takes objects of up to %d bytes, %d in all, over the limits of %d and %d for its size",
		e.Object, e.Largest, e.Total, e.MaxLargest, e.Max)
}

// Is makes every BuildError match ErrCorrupt.
func (e *BuildError) Is(target error) bool { return target == ErrCorrupt }

// TypeError reports an object of another type than the one read.
type TypeError struct {
	Object    plumbing.Hash
	Got, Want plumbing.ObjectType
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("object %s is a %s, want a %s", e.Object, e.Got, e.Want)
}

// RefChangedError reports a compare-and-swap that lost.
type RefChangedError struct {
	Name      plumbing.ReferenceName
	Want, Got plumbing.Hash
}

func (e *RefChangedError) Error() string {
	return fmt.Sprintf("%s is at %s, not %s", e.Name, shortHash(e.Got), shortHash(e.Want))
}

// Is makes every RefChangedError match ErrRefChanged.
func (e *RefChangedError) Is(target error) bool { return target == ErrRefChanged }

// LockedError reports a reference whose lock file exists: another writer
// holds it, or one that died left it.
type LockedError struct {
	Path string
	// Age is how long ago the lock file was last written.
	Age time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is locked by another process (for %s)", e.Path, e.Age.Round(time.Millisecond))
}

// Is makes every LockedError match ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

func shortHash(h plumbing.Hash) string {
	if h.IsZero() {
		return "nothing"
	}
	return h.String()[:12]
}

// Budget is what a read of an object of at most size bytes may cost to
// build from its deltas: every object in the chain (the base and each
// delta's result) of at most Largest bytes, and Total bytes built in all.
//
// git picks a delta base of at most 32 times its target's size, so Largest
// is 32 times size (at least 1 MiB); Total allows a chain of 256 objects of
// size bytes (git's deepest chains are 50 by default, 250 with
// --aggressive of old or --depth=250) plus 16 MiB. A 128 KiB trace may
// then cost 4 MiB per object and 48 MiB in all to build, never the 256 MiB
// of a delta on a 256 MiB blob.
func Budget(size int64) (largest, total uint64) {
	const maxLargest, maxTotal = 256 << 20, 1 << 30
	m := uint64(0)
	if size > 0 {
		m = uint64(size)
	}
	// Reads without a meaningful limit (a tree of up to 16 MiB) are kept
	// to what a process may hold.
	largest, total = maxLargest, maxTotal
	if m < maxLargest/32 {
		largest = max(32*m, 1<<20)
	}
	if m < (maxTotal-16<<20)/256 {
		total = 256*m + 16<<20
	}
	return largest, total
}
