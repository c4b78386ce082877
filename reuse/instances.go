package reuse

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/trust"
)

// KnownInstance refuses an instance the hive has never heard of: no key
// registered (now or revoked) and no evidence about it in t. Otherwise a
// question about it answers as if it were a new instance (reputation
// 0.5000) or had no skills, which looks like an answer. The error is an
// *UnknownInstanceError.
func KnownInstance(s *registry.Store, t *trust.Table, id string) error {
	keys, err := s.Keys()
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, k := range keys {
		known[k.ID] = true
	}
	for _, st := range t.All() {
		known[st.Instance] = true
	}
	if known[id] {
		return nil
	}
	return &UnknownInstanceError{ID: id, Hive: s.Dir(), Known: slices.Sorted(maps.Keys(known))}
}

// UnknownInstanceError is an instance a hive has never heard of.
type UnknownInstanceError struct {
	ID    string
	Hive  string   // the hive's folder
	Known []string // the instances it has, sorted
}

// Error names the hive and, when they are few, the instances it has.
func (e *UnknownInstanceError) Error() string {
	return fmt.Sprintf("no instance %s in the hive at %s%s", schema.Quote(e.ID, 70), e.Hive, e.known())
}

// Public is the error without the hive's folder, for a client of a server.
func (e *UnknownInstanceError) Public() string {
	return fmt.Sprintf("no instance %s in the hive%s", schema.Quote(e.ID, 70), e.known())
}

func (e *UnknownInstanceError) known() string {
	switch {
	case len(e.Known) == 0:
		return ": it has none yet"
	case len(e.Known) <= 10:
		return "; it has " + strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("; hive instances lists its %d", len(e.Known))
}
