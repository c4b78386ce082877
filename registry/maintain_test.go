package registry_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// TestPack: past gc.auto loose objects, the hive asks git to pack them;
// afterwards every trace reads back from the pack, the hive verifies in
// full, git fsck agrees, and hive goes on committing (main now in
// packed-refs).
func TestPack(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	sp := fixtures.Spec{Instances: 2, Traces: 300, PerCommit: 10, LineageEvery: 5, Bare: true}
	dir := filepath.Join(t.TempDir(), "hive")
	s, err := fixtures.Hive(dir, sp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"--git-dir", dir}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	loose := func() string {
		for _, l := range strings.Split(git("count-objects", "-v"), "\n") {
			if n, ok := strings.CutPrefix(l, "count: "); ok {
				return n
			}
		}
		t.Fatal("git count-objects: no count")
		return ""
	}
	git("config", "gc.autoDetach", "false") // pack before Pack returns

	// About 1,700 loose objects: above gc.auto 256, not above the default.
	if s.NeedsPacking() {
		t.Fatal("NeedsPacking with the default gc.auto (6700) and ~1,700 loose objects")
	}
	git("config", "gc.auto", "0")
	if s.NeedsPacking() {
		t.Fatal("NeedsPacking with gc.auto 0 (off)")
	}
	git("config", "gc.auto", "256")
	if !s.NeedsPacking() {
		t.Fatal("NeedsPacking is false with gc.auto 256 and ~1,700 loose objects")
	}
	if err := s.Pack(); err != nil {
		t.Fatal(err)
	}
	if n := loose(); n != "0" {
		t.Fatalf("after Pack: %s loose objects, want 0", n)
	}
	if s.NeedsPacking() {
		t.Fatal("NeedsPacking after packing")
	}
	if _, err := os.Stat(filepath.Join(dir, "refs", "heads", "main")); err == nil {
		t.Fatal("git gc left refs/heads/main loose; the test wants it packed")
	}

	// The same store (its pack list made before the pack) and a new one
	// read every trace and verify the whole history.
	fresh, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, st := range []*registry.Store{s, fresh} {
		ids, err := st.TraceIDs()
		if err != nil || len(ids) != sp.Traces {
			t.Fatalf("TraceIDs = %d, %v; want %d", len(ids), err, sp.Traces)
		}
		for _, id := range ids {
			if _, err := st.Trace(id); err != nil {
				t.Fatalf("trace %s after packing: %v", id, err)
			}
		}
		head, _ := st.Head()
		r, err := st.Verify(head, registry.VerifyOptions{Full: true})
		if err != nil || r.Err() != nil || r.Traces != sp.Traces {
			t.Fatalf("verify after packing: %d traces, %v, %v", r.Traces, err, r.Err())
		}
	}

	// hive moves main over the packed ref, and git agrees.
	in, err := fixtures.NewGenerator(sp).Inputs(sp.Traces, sp.Traces+5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(in, sp.KeyFunc()); err != nil {
		t.Fatal(err)
	}
	head, _ := s.Head()
	if got := strings.TrimSpace(git("rev-parse", "main")); got != head.String() {
		t.Fatalf("git sees main at %s, hive at %s", got, head)
	}
	git("fsck", "--strict", "--no-progress")
	r, err := fresh.Verify(head, registry.VerifyOptions{Full: true})
	if err != nil || r.Err() != nil || r.Traces != sp.Traces+5 {
		t.Fatalf("verify after adds on the packed hive: %d traces, %v, %v", r.Traces, err, r.Err())
	}
}
