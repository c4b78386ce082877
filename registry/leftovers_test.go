package registry_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// What writers killed mid-write leave behind is repaired by the next
// writer, under the hive's lock, and said through WithNotify.

// leftoverHive is a small bare hive and a notify that records its lines.
func leftoverHive(t *testing.T) (dir string, open func() *registry.Store, notes func() []string) {
	t.Helper()
	dir = t.TempDir()
	s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 1, Traces: 2, Bare: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var mu sync.Mutex
	var lines []string
	open = func() *registry.Store {
		s, err := registry.Open(dir, registry.WithNotify(func(msg string) {
			mu.Lock()
			lines = append(lines, msg)
			mu.Unlock()
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	notes = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lines...)
	}
	return dir, open, notes
}

// addOne adds fixture trace i of a one-instance hive.
func addOne(s *registry.Store, i int) error {
	sp := fixtures.Spec{Instances: 1, Traces: i + 1}
	in, err := fixtures.NewGenerator(sp).Inputs(i, i+1)
	if err != nil {
		return err
	}
	_, err = s.Add(in, sp.KeyFunc())
	return err
}

// TestStaleMainLock: a refs/heads/main.lock left by a killed writer
// (hive's lock is free, so no hive writer holds it, and it is older than
// any git writer holds one) is removed by the next write, which says so;
// a fresh lock held by another process is waited for, not broken.
func TestStaleMainLock(t *testing.T) {
	dir, open, notes := leftoverHive(t)
	lock := filepath.Join(dir, "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, []byte("0123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	os.Chtimes(lock, old, old)
	s := open()
	if err := addOne(s, 2); err != nil {
		t.Fatalf("Add with a stale main.lock: %v", err)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("main.lock is still there: %v", err)
	}
	if n := notes(); len(n) != 1 || !strings.Contains(n[0], "main.lock") {
		t.Errorf("notes = %q, want one line about main.lock", n)
	}
	rep, err := s.Verify(mustHead(t, s), registry.VerifyOptions{Full: true})
	if err != nil || rep.Err() != nil || rep.Traces != 3 {
		t.Errorf("Verify after the recovery = %+v, %v", rep, err)
	}
}

// TestLiveMainLock: a lock another process holds while it writes main (as
// git receive-pack does for a moment) is waited for; once it is gone the
// write goes on.
func TestLiveMainLock(t *testing.T) {
	dir, open, notes := leftoverHive(t)
	lock := filepath.Join(dir, "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, []byte("0123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		os.Remove(lock)
	}()
	if err := addOne(open(), 2); err != nil {
		t.Fatalf("Add while another process held main.lock for 1.5 s: %v", err)
	}
	if n := notes(); len(n) != 0 {
		t.Errorf("notes = %q, want none: the lock was not stale", n)
	}
}

// TestTempObjectsSwept: temporary object files older than any writer
// lives are removed under the hive's lock; recent ones (a writer at work)
// stay; the sweep runs at most once an hour.
func TestTempObjectsSwept(t *testing.T) {
	dir, open, notes := leftoverHive(t)
	mk := func(name string, age time.Duration) string {
		p := filepath.Join(dir, "objects", "ab", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("partial"), 0o444); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		os.Chtimes(p, at, at)
		return p
	}
	stale := mk("tmp_obj_stale", 2*time.Hour)
	fresh := mk("tmp_obj_fresh", time.Minute)
	other := mk("not_a_temp_file", 2*time.Hour)
	// Building the hive swept an hour's worth already.
	if err := os.Remove(filepath.Join(dir, "hive", "swept")); err != nil {
		t.Fatal(err)
	}
	s := open()
	if err := addOne(s, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s is still there", stale)
	}
	for _, p := range []string{fresh, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if n := notes(); len(n) != 1 || !strings.Contains(n[0], "1 temporary object file") {
		t.Errorf("notes = %q, want one line about 1 temporary object file", n)
	}
	again := mk("tmp_obj_later", 2*time.Hour)
	if err := addOne(s, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(again); err != nil {
		t.Errorf("a second sweep within the hour removed %s", again)
	}
}

// TestWritable: a hive whose folder cannot take a new file says why.
func TestWritable(t *testing.T) {
	dir, open, _ := leftoverHive(t)
	s := open()
	if err := s.Writable(); err != nil {
		t.Fatalf("Writable() = %v on a writable hive", err)
	}
	os.RemoveAll(filepath.Join(dir, "hive"))
	if err := os.WriteFile(filepath.Join(dir, "hive"), nil, 0o644); err != nil { // a file where hive's folder goes
		t.Fatal(err)
	}
	if err := s.Writable(); err == nil || !strings.Contains(err.Error(), "cannot be written") {
		t.Errorf("Writable() = %v, want the hive cannot be written", err)
	}
}

func mustHead(t *testing.T, s *registry.Store) plumbing.Hash {
	t.Helper()
	head, err := s.Head()
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// TestMainMovedByGit: when git itself moved main and the files with it (a
// reset --hard), the next writer has nothing to repair and says nothing;
// when main moved without them (a writer stopped after moving it), the
// next writer brings them up to main and says so.
func TestMainMovedByGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	for _, tc := range []struct {
		name  string
		move  []string // git's arguments, then the commit main moves back to
		fixed bool     // whether the next writer repairs and says so
	}{
		{"reset --hard", []string{"reset", "-q", "--hard"}, false},
		{"update-ref", []string{"update-ref", "refs/heads/main"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 1, Traces: 2})
			if err != nil {
				t.Fatal(err)
			}
			back, _ := s.Head()
			if err := addOne(s, 2); err != nil {
				t.Fatal(err)
			}
			s.Close()
			git := exec.Command("git", append(append([]string{"-C", dir}, tc.move...), back.String())...)
			if out, err := git.CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", tc.move, err, out)
			}
			var notes []string
			s, err = registry.Open(dir, registry.WithNotify(func(msg string) { notes = append(notes, msg) }))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := addOne(s, 3); err != nil {
				t.Fatal(err)
			}
			said := strings.Contains(strings.Join(notes, "\n"), "a writer had stopped after moving main")
			if said != tc.fixed {
				t.Errorf("notes %q: said a writer had stopped = %v, want %v", notes, said, tc.fixed)
			}
			status, err := exec.Command("git", "-C", dir, "status", "--porcelain").CombinedOutput()
			if err != nil || len(status) > 0 {
				t.Errorf("git status after the add: %v\n%s", err, status)
			}
		})
	}
}

// TestPlainGitRepository: a git repository that is no hive (main has no
// hive.json) opens, and what reads its policy says in one line that it is
// not a hive, naming the folder, rather than a bare "no hive.json".
func TestPlainGitRepository(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"-c", "user.name=a", "-c", "user.email=a@example.org", "commit", "-q", "--allow-empty", "-m", "x"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	s, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head, err := s.Head()
	if err != nil {
		t.Fatal(err)
	}
	_, cfgErr := s.Config()
	_, keysErr := s.Keys()
	_, atErr := s.ConfigAt(head)
	for name, err := range map[string]error{"Config": cfgErr, "Keys": keysErr, "ConfigAt": atErr} {
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not a hive") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s of a plain git repository = %v, want one line naming %s and saying it is not a hive", name, err, dir)
		}
	}
}
