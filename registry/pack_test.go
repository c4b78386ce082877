package registry_test

import (
	"bytes"
	"io"
	"os/exec"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// TestPackReader reads every object of a repacked hive (with deltas) and
// compares it with what go-git reads; the hive verifies from the packs.
// It runs twice: with delta bases kept as least recently used (as for a
// command that reads few objects) and kept by count from the start (as
// after a long walk's first deltas), when every base is dropped once the
// last delta on it is read.
func TestPackReader(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	for _, counted := range []bool{false, true} {
		name := "least recently used"
		if counted {
			name = "counted"
		}
		t.Run(name, func(t *testing.T) { testPackReader(t, counted) })
	}
}

func testPackReader(t *testing.T, counted bool) {
	dir := t.TempDir()
	s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 2, Traces: 300, PerCommit: 3, LineageEvery: 5, Bare: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if out, err := exec.Command("git", "-C", dir, "repack", "-adfq", "--depth=50", "--window=50").CombinedOutput(); err != nil {
		t.Fatalf("git repack: %v %s", err, out)
	}
	s, err = registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if counted {
		registry.CountBasesNow(s)
	}
	iter, err := s.Storer().IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = iter.ForEach(func(o plumbing.EncodedObject) error {
		r, _ := o.Reader()
		want, _ := io.ReadAll(r)
		r.Close()
		got, err := registry.ReadObject(s, o.Type(), o.Hash())
		if err != nil {
			t.Errorf("ReadObject(%s %s): %v", o.Type(), o.Hash(), err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ReadObject(%s %s) differs from go-git's read", o.Type(), o.Hash())
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 700 {
		t.Errorf("read %d objects from the packs, want every object of the hive (700 or more)", n)
	}
	if kept, size := registry.PackBases(s); counted && (kept != 0 || size != 0) {
		t.Errorf("after every object was read, %d delta bases (%d bytes) are still kept, want none", kept, size)
	} else if !counted && kept == 0 {
		t.Errorf("no delta base kept after reading a packed hive, want the trees deltas were built on")
	}
	head, _ := s.Head()
	rep, err := s.Verify(head, registry.VerifyOptions{Full: true})
	if err != nil || rep.Err() != nil || rep.Traces != 300 {
		t.Errorf("Verify of the packed hive = %+v, %v", rep, err)
	}
}

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
