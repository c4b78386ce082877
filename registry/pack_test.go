package registry_test

import (
	"os/exec"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// TestVerifyOnDisk: a hive of large commits on disk, where the walk reads
// shard trees on all cores and workers share the store's caches, verifies
// loose and then packed (run with -race to check the sharing).
func TestVerifyOnDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 3, Traces: 1200, PerCommit: 200, LineageEvery: 4, Bare: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, packed := range []bool{false, true} {
		if packed {
			if _, err := exec.LookPath("git"); err != nil {
				continue
			}
			if out, err := exec.Command("git", "-C", dir, "repack", "-adq").CombinedOutput(); err != nil {
				t.Fatalf("git repack: %v %s", err, out)
			}
		}
		s, err := registry.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		head, _ := s.Head()
		rep, err := s.Verify(head, registry.VerifyOptions{Full: true})
		if err != nil || rep.Err() != nil || rep.Traces != 1200 {
			t.Errorf("Verify(packed=%v) = %d traces, %v, %v; want 1200 and no violation", packed, rep.Traces, err, rep.Err())
		}
		s.Close()
	}
}
