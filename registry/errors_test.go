package registry

import (
	"errors"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// TestErrorKinds: what is asked for and absent is ErrNotFound; what main
// names but cannot be trusted is ErrCorrupt, never ErrNotFound; input that
// breaks a rule is ErrInvalid.
func TestErrorKinds(t *testing.T) {
	h, f := newFixture(t)
	other := traceBytes(t, instA, "another trace")
	// main's tree names the seed trace, but holds other bytes under its name.
	swapped := h.commit(f.base, map[string]*entry{TracePath(f.t1): h.file(other)})
	// and a trace whose blob is not in the store.
	gone := schema.Digest(traceBytes(t, instA, "never stored"))
	missing := h.commit(swapped, map[string]*entry{
		TracePath(gone):  {mode: 0o100644, hash: plumbing.ComputeHash(plumbing.BlobObject, []byte("never stored"))},
		BundlePath(gone): h.file([]byte("{}")),
	})
	if err := h.s.moveMain(f.base, missing); err != nil {
		t.Fatal(err)
	}
	_, addErr := h.s.Add([]Input{{Name: "bad.json", Data: []byte(`{"intent":"x"}`)}}, testKeys(t))
	_, idErr := h.s.ResolveID("zz")
	_, absent := h.s.Trace(schema.Digest([]byte("absent")))
	_, swappedErr := h.s.Trace(f.t1)
	_, missingErr := h.s.Trace(gone)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"absent trace", absent, ErrNotFound},
		{"trace file swapped", swappedErr, ErrCorrupt},
		{"trace blob missing", missingErr, ErrCorrupt},
		{"invalid input", addErr, ErrInvalid},
		{"malformed id", idErr, ErrInvalid},
		{"violation", Violation{Rule: RuleMergeEvil}, ErrInvalid},
		{"schema error", &schema.Error{Rule: schema.RuleJSON}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, kind := range []error{ErrNotFound, ErrCorrupt, ErrInvalid} {
				if got := errors.Is(tc.err, kind); got != (kind == tc.want) {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", tc.err, kind, got, kind == tc.want)
				}
			}
		})
	}
}
