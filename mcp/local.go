package mcp

import (
	"context"
	"sync"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/search"
)

// Local is the Source and Writer of a hive opened by this process (hive
// mcp): one store, used by one call at a time, and the search index of
// its main, brought up to date when main moves (by this server or by
// another process).
type Local struct {
	mu sync.Mutex
	st *registry.Store
	ix *search.Index
}

// OpenLocal opens the hive at dir.
func OpenLocal(dir string, opts ...registry.Option) (*Local, error) {
	st, err := registry.Open(dir, opts...)
	if err != nil {
		return nil, err
	}
	return NewLocal(st), nil
}

// NewLocal serves an open store; Close closes it.
func NewLocal(st *registry.Store) *Local { return &Local{st: st} }

// Read runs fn with the store and the index of main.
func (l *Local) Read(ctx context.Context, fn func(st *registry.Store, ix *search.Index) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	head, err := l.st.Head()
	if err != nil {
		return err
	}
	switch {
	case l.ix == nil:
		l.ix, err = search.OpenIndex(l.st)
	case l.ix.Commit() != head:
		l.ix, err = l.ix.Update(l.st, head) // what main added, in memory (13 ms at 100k; an open: 0.45 s)
	}
	if err != nil {
		return err
	}
	return fn(l.st, l.ix)
}

// Write runs fn with the store; afterwards the hive is packed when it has
// more loose objects than gc.auto, as after hive add.
func (l *Local) Write(ctx context.Context, fn func(st *registry.Store) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := fn(l.st); err != nil {
		return err
	}
	if l.st.NeedsPacking() {
		_ = l.st.Pack() // the write is done; packing is housekeeping that the next write retries
	}
	return nil
}

// Close releases the hive's files.
func (l *Local) Close() error { return l.st.Close() }
