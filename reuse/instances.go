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
// 0.5000) or had no skills, which looks like an answer. The error names
// the hive and, when they are few, the instances it has.
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
	where := s.WorkDir()
	if where == "" {
		where = s.GitDir()
	}
	names := slices.Sorted(maps.Keys(known))
	switch {
	case len(names) == 0:
		return fmt.Errorf("no instance %s in the hive at %s: it has none yet", schema.Quote(id, 70), where)
	case len(names) <= 10:
		return fmt.Errorf("no instance %s in the hive at %s; it has %s", schema.Quote(id, 70), where, strings.Join(names, ", "))
	}
	return fmt.Errorf("no instance %s in the hive at %s; hive instances lists its %d", schema.Quote(id, 70), where, len(names))
}
