package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// TestContextStops: verification, pulls, clones and the history walks stop
// with the context's error when it ends, and change nothing.
func TestContextStops(t *testing.T) {
	h, f := copyDiskTestHive(t)
	var tip = f.base
	for i := range 20 {
		tip = h.commit(tip, h.traceFiles(traceBytes(t, instA, "trace "+string(rune('a'+i))), instA))
	}
	// A clone made before main moves on, to pull from it later.
	dst, _, err := Clone(h.s.gitDir, filepath.Join(t.TempDir(), "dst"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := h.s.moveMain(f.base, tip); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	// A context that ends in the middle: after the third commit checked.
	midway := func() (context.Context, func(done, total int)) {
		ctx, cancel := context.WithCancel(context.Background())
		return ctx, func(done, total int) {
			if done == 3 {
				cancel()
			}
		}
	}
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"verify, ended", func() error {
			r, err := h.s.VerifyContext(canceled, tip, VerifyOptions{Full: true})
			if r != nil {
				t.Errorf("VerifyContext gave a report: %+v", r)
			}
			return err
		}},
		{"verify, ended midway", func() error {
			ctx, progress := midway()
			_, err := h.s.VerifyContext(ctx, tip, VerifyOptions{Full: true, Progress: progress})
			return err
		}},
		{"history", func() error { _, err := h.s.HistoryContext(canceled); return err }},
		{"lineage", func() error { _, err := h.s.LineageContext(canceled); return err }},
		{"introduced", func() error { _, err := h.s.IntroducedContext(canceled, []schema.ID{f.t1}); return err }},
		{"trace files", func() error {
			return h.s.TraceFilesContext(canceled, tip, nil, func(int, []byte) error { return nil })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, context.Canceled) {
				t.Errorf("= %v, want context.Canceled", err)
			}
		})
	}
	// Nothing was recorded as verified by the stopped runs.
	if tips, _ := h.s.verifiedTips(); len(tips) > 0 && tips[len(tips)-1] == tip {
		t.Errorf("a stopped verification recorded %s as verified", short(tip))
	}

	// A pull and a clone stopped midway change nothing.
	before, _ := dst.Head()
	ctx, progress := midway()
	if _, err := dst.PullContext(ctx, Remote{Name: "src", URL: h.s.gitDir}, progress); !errors.Is(err, context.Canceled) {
		t.Errorf("PullContext = %v, want context.Canceled", err)
	}
	if got, _ := dst.Head(); got != before {
		t.Errorf("a stopped pull moved main from %s to %s", short(before), short(got))
	}
	if _, err := dst.st.Reference(plumbing.ReferenceName("refs/hive/incoming/src")); err == nil {
		t.Errorf("a stopped pull left its quarantine ref")
	}
	dir := filepath.Join(t.TempDir(), "clone")
	ctx, progress = midway()
	if s, _, err := CloneContext(ctx, h.s.gitDir, dir, progress); !errors.Is(err, context.Canceled) {
		t.Errorf("CloneContext = %v, %v, want context.Canceled", s, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a stopped clone left %s: %v", dir, err)
	}
}
