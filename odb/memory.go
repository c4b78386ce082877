package odb

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// Memory is a DB in memory, for tests and for hives that live only in a
// process.
type Memory struct {
	mu     sync.RWMutex
	objs   map[plumbing.Hash]memObject
	refs   map[plumbing.ReferenceName]memRef
	closed bool
}

type memObject struct {
	t plumbing.ObjectType
	b []byte
}

type memRef struct {
	hash   plumbing.Hash
	target plumbing.ReferenceName // a symbolic reference's
}

// NewMemory returns an empty in-memory DB.
func NewMemory() *Memory {
	return &Memory{objs: map[plumbing.Hash]memObject{}, refs: map[plumbing.ReferenceName]memRef{}}
}

func (m *Memory) get(h plumbing.Hash) (memObject, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return memObject{}, false, errClosed
	}
	o, ok := m.objs[h]
	return o, ok, nil
}

// Read implements Reader.
func (m *Memory) Read(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	o, ok, err := m.get(h)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("object %s: %w", h, ErrNotFound)
	case o.t != t:
		return nil, &TypeError{Object: h, Got: o.t, Want: t}
	case int64(len(o.b)) > max:
		return nil, &SizeError{Object: h, Size: int64(len(o.b)), Max: max}
	}
	return o.b, nil
}

// Borrow implements Reader.
func (m *Memory) Borrow(t plumbing.ObjectType, h plumbing.Hash, max, _ int64) ([]byte, func(), error) {
	b, err := m.Read(t, h, max)
	return b, nil, err
}

// Abbrev implements DB.
func (m *Memory) Abbrev(prefix string, limit int) ([]plumbing.Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []plumbing.Hash
	for h := range m.objs {
		if strings.HasPrefix(h.String(), prefix) {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out[:min(len(out), limit)], nil
}

// NewBatch implements DB.
func (m *Memory) NewBatch() Batch { return &memBatch{m: m, pending: map[plumbing.Hash]memObject{}} }

type memBatch struct {
	m       *Memory
	pending map[plumbing.Hash]memObject
}

func (b *memBatch) Write(t plumbing.ObjectType, data []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(t, data)
	b.pending[h] = memObject{t: t, b: append([]byte(nil), data...)}
	return h, nil
}

func (b *memBatch) Pending() int { return len(b.pending) }

func (b *memBatch) Sync() error {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	if b.m.closed {
		return errClosed
	}
	for h, o := range b.pending {
		b.m.objs[h] = o
	}
	clear(b.pending)
	return nil
}

func (b *memBatch) Discard() { clear(b.pending) }

// Ref implements DB.
func (m *Memory) Ref(name plumbing.ReferenceName) (plumbing.Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for range maxSymDepth {
		r, ok := m.refs[name]
		if !ok {
			return plumbing.ZeroHash, fmt.Errorf("reference %s: %w", name, ErrNotFound)
		}
		if r.target == "" {
			return r.hash, nil
		}
		name = r.target
	}
	return plumbing.ZeroHash, fmt.Errorf("reference %s: symbolic references nested too deep: %w", name, ErrCorrupt)
}

// SymRef implements DB.
func (m *Memory) SymRef(name plumbing.ReferenceName) (plumbing.ReferenceName, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if r, ok := m.refs[name]; ok && r.target != "" {
		return r.target, nil
	}
	return "", fmt.Errorf("symbolic reference %s: %w", name, ErrNotFound)
}

// SetRef implements DB.
func (m *Memory) SetRef(name plumbing.ReferenceName, h plumbing.Hash) error {
	if err := CheckRefName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs[name] = memRef{hash: h}
	return nil
}

// SetSymRef implements DB.
func (m *Memory) SetSymRef(name, target plumbing.ReferenceName) error {
	if err := CheckRefName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs[name] = memRef{target: target}
	return nil
}

// CompareAndSwapRef implements DB.
func (m *Memory) CompareAndSwapRef(name plumbing.ReferenceName, old, new plumbing.Hash) error {
	if err := CheckRefName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.refs[name].hash
	if cur != old {
		return &RefChangedError{Name: name, Want: old, Got: cur}
	}
	m.refs[name] = memRef{hash: new}
	return nil
}

// DeleteRef implements DB.
func (m *Memory) DeleteRef(name plumbing.ReferenceName) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.refs, name)
	return nil
}

// Close implements DB.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// maxSymDepth bounds chains of symbolic references, as git's does (5).
const maxSymDepth = 5

// CheckRefName checks a reference's name as git check-ref-format does: HEAD
// or refs/... made of non-empty components that do not start with '.' or
// end with ".lock", without "..", "@{", control characters, spaces or any
// of ~^:?*[\.
func CheckRefName(name plumbing.ReferenceName) error {
	s := string(name)
	bad := func(why string) error { return fmt.Errorf("reference name %q: %s", s, why) }
	if s == "HEAD" {
		return nil
	}
	if !strings.HasPrefix(s, "refs/") {
		return bad("not under refs/")
	}
	if strings.Contains(s, "..") || strings.Contains(s, "@{") || strings.HasSuffix(s, "/") || strings.HasSuffix(s, ".") {
		return bad("not a valid name")
	}
	for _, part := range strings.Split(s, "/") {
		if part == "" || part[0] == '.' || strings.HasSuffix(part, ".lock") {
			return bad("not a valid name")
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return bad("not a valid name")
		}
	}
	return nil
}

// isHex reports whether s is lower-case hexadecimal.
func isHex(s string) bool {
	_, err := hex.DecodeString(s + s[:len(s)%2])
	return err == nil && strings.ToLower(s) == s
}
