package registry

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hive-dev/hive/signing"
)

// TestAddContext: an add whose context ends, before it starts or while it
// works, commits nothing: main stays where it was and no trace is on it.
func TestAddContext(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel func(cancel context.CancelFunc) KeyFunc
		before bool
	}{
		{"ended before", nil, true},
		{"ended while the inputs are checked", func(cancel context.CancelFunc) KeyFunc {
			return func(instance string) (*signing.PrivateKey, error) {
				cancel() // the first key asked for: the checks are under way
				return testKey(t, instance), nil
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHive(t, nil)
			head := h.head()
			var in []Input
			for i := range 20 {
				in = append(in, Input{Name: fmt.Sprintf("t%d.json", i), Data: traceBytes(t, instA, fmt.Sprintf("task number %d", i))})
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			keys := testKeys(t)
			if tc.before {
				cancel()
			} else {
				keys = tc.cancel(cancel)
			}
			added, err := h.s.AddContext(ctx, in, keys)
			if !errors.Is(err, context.Canceled) || len(added) != 0 {
				t.Fatalf("AddContext = %d added, %v; want none and context.Canceled", len(added), err)
			}
			if now := h.head(); now != head {
				t.Errorf("main moved from %s to %s", head, now)
			}
			if ids, _ := h.s.TraceIDs(); len(ids) != 0 {
				t.Errorf("%d traces on main after a cancelled add", len(ids))
			}
			// The same add, not cancelled, goes through.
			if added, err := h.s.AddContext(context.Background(), in, testKeys(t)); err != nil || len(added) != 20 {
				t.Errorf("AddContext after = %d added, %v", len(added), err)
			}
		})
	}
}
