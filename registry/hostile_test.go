//go:build unix

package registry_test

import (
	"crypto/sha1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// Hives with damaged or hostile object files: the validator reports the
// trace they hold as object-invalid, in bounded time and memory, and
// readers outside verification get an error wrapping ErrCorrupt, never
// ErrNotFound and never a panic.

// hostileHive is a small bare hive, the id of its fourth trace, the
// commit that added it, and the path of the trace's loose blob.
func hostileHive(t *testing.T) (dir string, sp fixtures.Spec, blob plumbing.Hash, commit plumbing.Hash, path string, data []byte) {
	t.Helper()
	if _, err := fixtures.Git("", nil, "--version"); err != nil {
		t.Skip("git is not installed")
	}
	dir = t.TempDir()
	sp = fixtures.Spec{Instances: 2, Traces: 6, PerCommit: 1, Bare: true}
	s, err := fixtures.Hive(dir, sp)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	data, err = fixtures.NewGenerator(sp).Canonical(3)
	if err != nil {
		t.Fatal(err)
	}
	blob = plumbing.ComputeHash(plumbing.BlobObject, data)
	out, err := fixtures.Git(dir, nil, "rev-parse", "main~2")
	if err != nil {
		t.Fatal(err)
	}
	commit = plumbing.NewHash(strings.TrimSpace(out))
	path = filepath.Join(dir, "objects", blob.String()[:2], blob.String()[2:])
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("trace 3's blob is not loose: %v", err)
	}
	return dir, sp, blob, commit, path, data
}

// replaceFile makes path's file what make leaves there.
func replaceFile(t *testing.T, path string, make func(string) error) {
	t.Helper()
	os.Chmod(path, 0o644)
	if err := make(path); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyHostileObjects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, dir, path string, data []byte)
	}{
		{"delta bomb", func(t *testing.T, dir, path string, data []byte) {
			// The trace as a delta on 16 MiB of zeros: 128 KiB traces may
			// build on bases of 4 MiB at most (odb.Budget).
			zeros := make([]byte, 16<<20)
			d := append(fixtures.DeltaHeader(len(zeros), len(data)+1), 0x90, 1) // one byte of the base, then the trace
			d = append(d, fixtures.InsertDelta(0, data)[2:]...)
			os.Remove(path)
			if _, _, err := fixtures.WritePack(dir, []fixtures.PackEntry{
				fixtures.Whole(plumbing.BlobObject, zeros),
				{Data: d, OfsBase: 0, Name: plumbing.ComputeHash(plumbing.BlobObject, data)},
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T, dir, path string, data []byte) {
			replaceFile(t, path, func(p string) error {
				os.Remove(p)
				return syscall.Mkfifo(p, 0o644)
			})
		}},
		{"trailing bytes", func(t *testing.T, dir, path string, data []byte) {
			replaceFile(t, path, func(p string) error {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				return os.WriteFile(p, append(b, 0, 1, 2), 0o444)
			})
		}},
		{"a folder", func(t *testing.T, dir, path string, data []byte) {
			replaceFile(t, path, func(p string) error {
				os.Remove(p)
				return os.Mkdir(p, 0o755)
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _, _, commit, path, data := hostileHive(t)
			tc.spoil(t, dir, path, data)
			s, err := registry.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			head, _ := s.Head()
			done := make(chan *registry.Report, 1)
			go func() {
				rep, err := s.Verify(head, registry.VerifyOptions{Full: true})
				if err != nil {
					t.Errorf("Verify: %v", err)
				}
				done <- rep
			}()
			var rep *registry.Report
			select {
			case rep = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("Verify hangs")
			}
			if rep == nil {
				return
			}
			if len(rep.Violations) != 1 || rep.Violations[0].Rule != registry.RuleObjectInvalid || rep.Violations[0].Commit != commit {
				t.Fatalf("Verify = %v, want one %s in %s", rep.Violations, registry.RuleObjectInvalid, commit.String()[:12])
			}
			if v := rep.Violations[0]; !strings.Contains(v.Msg, "corrupt") {
				t.Errorf("violation %q does not say the object is corrupt", v.Msg)
			}
		})
	}
}

// TestCorruptPackIndex: a hive whose pack index has a bad fan-out entry
// (the panic in show, search, instances and reputation) gives
// errors that say the index is corrupt.
func TestCorruptPackIndex(t *testing.T) {
	dir, sp, _, _, _, _ := hostileHive(t)
	if _, err := fixtures.Git(dir, nil, "gc", "-q"); err != nil {
		t.Fatal(err)
	}
	idxs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.idx"))
	if len(idxs) != 1 {
		t.Fatalf("git gc made %d packs, want 1", len(idxs))
	}
	b, _ := os.ReadFile(idxs[0])
	b[8+0x80*4] = 0xff // the fan-out entry of names starting 0x80, above the next
	fixIdxChecksum(b)
	replaceFile(t, idxs[0], func(p string) error { return os.WriteFile(p, b, 0o444) })
	s, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, _ := fixtures.NewGenerator(sp).ID(3)
	_, err = s.Trace(id)
	if !errors.Is(err, registry.ErrCorrupt) || errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "fan-out") {
		t.Errorf("Trace = %v, want an error wrapping ErrCorrupt that names the fan-out", err)
	}
	if _, err := s.Instances(); !errors.Is(err, registry.ErrCorrupt) {
		t.Errorf("Instances = %v, want ErrCorrupt", err)
	}
}

// fixIdxChecksum rewrites a pack index's own checksum after a change.
func fixIdxChecksum(b []byte) {
	sum := sha1.Sum(b[:len(b)-20])
	copy(b[len(b)-20:], sum[:])
}
