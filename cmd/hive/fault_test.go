package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/internal/fault"
)

// These tests stop hive at chosen points of a write, as a crash would
// (HIVE_FAULT=kill:<point> makes the binary kill itself there), or make
// one step fail (fail:<point>), then check that the next write repairs
// what was left without a human, and that no acknowledged skill is lost.

// runFault runs hive with HIVE_FAULT set and returns its output and
// whether it was killed.
func (e *env) runFault(f string, args ...string) (string, bool) {
	e.t.Helper()
	c := e.cmd(args...)
	c.Env = append(c.Env, fault.Var+"="+f)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	var ee *exec.ExitError
	killed := errors.As(err, &ee) && (ee.ExitCode() == -1 || ee.ExitCode() == 137)
	if err != nil && !killed {
		e.t.Fatalf("hive %s with %s: %v\n%s", strings.Join(args, " "), f, err, out.String())
	}
	return out.String(), killed
}

// runErr runs hive and returns its stdout and stderr apart.
func (e *env) runErr(args ...string) (string, string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	c := e.cmd(args...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		e.t.Fatalf("hive %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func (e *env) git(dir string, args ...string) (string, error) {
	c := exec.Command("git", append([]string{"-C", filepath.Join(e.dir, dir)}, args...)...)
	c.Env = e.cmd().Env
	out, err := c.CombinedOutput()
	return string(out), err
}

// indexAtMain fails unless the index and working tree of dir are main's:
// git status is clean, so a plain git commit would change nothing.
func (e *env) indexAtMain(dir string) {
	e.t.Helper()
	if out, err := e.git(dir, "status", "--porcelain"); err != nil || out != "" {
		e.t.Errorf("git status of %s: %v\n%s", dir, err, out)
	}
	if out, err := e.git(dir, "diff-index", "--cached", "--quiet", "main"); err != nil {
		e.t.Errorf("the index of %s is not main's: %v\n%s", dir, err, out)
	}
}

// TestFaultKilledWriters kills hive add and hive pull at each point of a
// write. Before main moves, the write is lost whole; after, the commit
// stands and the index and working tree lag behind it, which the next
// write repairs.
func TestFaultKilledWriters(t *testing.T) {
	skipShort(t)
	spec := fixtures.Spec{Instances: 1, Traces: 40}
	g := fixtures.NewGenerator(spec)
	for _, tc := range []struct {
		point    string
		pull     bool // kill a pull's merge instead of an add
		lands    bool // the killed write's commit is on main
		noRecord bool // the record of the working tree's commit is lost too
	}{
		{point: "before-ref"},
		{point: "after-ref", lands: true},
		{point: "after-ref", lands: true, noRecord: true},
		{point: "mid-worktree", lands: true},
		{point: "before-ref", pull: true},
		{point: "after-ref", pull: true, lands: true},
		{point: "mid-worktree", pull: true, lands: true},
	} {
		name := "add, " + tc.point
		if tc.pull {
			name = "pull, " + tc.point
		}
		if tc.noRecord {
			name += ", record lost"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, spec.Names()...)
			e.run("init", "hive")
			e.run("--repo", "hive", "key", "add", "--instance", fixtures.Instance(0))
			acked := strings.Fields(e.run("--repo", "hive", "add", e.writeTraces("first.jsonl", g, 0, 5)))
			before, _ := e.git("hive", "rev-parse", "main")
			var out string
			var killed bool
			if tc.pull {
				e.run("clone", "hive", "other")
				e.run("--repo", "other", "add", e.writeTraces("theirs.jsonl", g, 5, 10))
				acked = append(acked, strings.Fields(e.run("--repo", "hive", "add", e.writeTraces("ours.jsonl", g, 10, 12)))...)
				before, _ = e.git("hive", "rev-parse", "main")
				out, killed = e.runFault("kill:"+tc.point, "--repo", "hive", "pull", filepath.Join(e.dir, "other"))
			} else {
				out, killed = e.runFault("kill:"+tc.point, "--repo", "hive", "add", e.writeTraces("killed.jsonl", g, 5, 10))
			}
			if !killed {
				t.Fatalf("hive was not killed at %s:\n%s", tc.point, out)
			}
			after, _ := e.git("hive", "rev-parse", "main")
			if moved := after != before; moved != tc.lands {
				t.Fatalf("killed at %s: main moved = %v, want %v", tc.point, moved, tc.lands)
			}
			if tc.lands {
				// The crash's state: main has skills its index lacks, so a
				// plain git commit now would delete them.
				if _, err := e.git("hive", "diff-index", "--cached", "--quiet", "main"); err == nil {
					t.Fatalf("killed at %s: the index is main's already; the test proves nothing", tc.point)
				}
			}
			if tc.noRecord {
				os.Remove(filepath.Join(e.dir, "hive", ".git", "hive", "worktree"))
			}
			// The next write repairs, without a human.
			more, stderr := e.runErr("--repo", "hive", "add", e.writeTraces("next.jsonl", g, 20, 22))
			acked = append(acked, strings.Fields(more)...)
			if tc.lands && !strings.Contains(stderr, "brought the index and working tree up to main") {
				t.Errorf("the repairing add did not say what it repaired:\n%s", stderr)
			}
			e.indexAtMain("hive")
			e.run("--repo", "hive", "verify", "--full")
			have := traceFiles(t, filepath.Join(e.dir, "hive"))
			for _, id := range acked {
				hex := strings.TrimPrefix(id, "sha256:")
				if !slices.Contains(have, "traces/"+hex[:2]+"/"+hex+".json") {
					t.Errorf("acknowledged skill %s is not on main", id)
				}
				if _, err := os.Stat(filepath.Join(e.dir, "hive", "traces", hex[:2], hex+".json")); err != nil {
					t.Errorf("acknowledged skill %s is not in the working tree: %v", id, err)
				}
			}
		})
	}
}

// TestFaultLeftovers: a .git/index.lock no writer holds and old temporary
// files of dead writers are removed by the next write, which says so; a
// fresh temporary file is left alone.
func TestFaultLeftovers(t *testing.T) {
	skipShort(t)
	spec := fixtures.Spec{Instances: 1, Traces: 10}
	g := fixtures.NewGenerator(spec)
	e := newEnv(t, spec.Names()...)
	e.run("init", "hive")
	e.run("--repo", "hive", "key", "add", "--instance", fixtures.Instance(0))
	gitDir := filepath.Join(e.dir, "hive", ".git")
	old := time.Now().Add(-2 * time.Hour)
	lock := filepath.Join(gitDir, "index.lock")
	leftovers := map[string]bool{ // path: removed
		lock: true,
		filepath.Join(gitDir, "hive", ".tmp-123456"):            true,
		filepath.Join(gitDir, "hive", "index", ".tmp-654321"):   true,
		filepath.Join(gitDir, "hive", ".tmp-fresh"):             false,
		filepath.Join(gitDir, "hive", "worktree.tmp-0123abcd"):  true,
		filepath.Join(gitDir, "hive", "index", "notes-of-mine"): false,
	}
	for p, stale := range leftovers {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("half written"), 0o644); err != nil {
			t.Fatal(err)
		}
		if stale {
			os.Chtimes(p, old, old)
		}
	}
	// Without the repair, git cannot update the index: the add would
	// commit, then fail.
	out, stderr := e.runErr("--repo", "hive", "add", e.writeTraces("t.jsonl", g, 0, 3))
	if len(strings.Fields(out)) != 3 {
		t.Fatalf("hive add printed %q, want 3 ids", out)
	}
	if !strings.Contains(stderr, "removed a stale .git/index.lock") {
		t.Errorf("hive add did not say it removed the stale index.lock:\n%s", stderr)
	}
	for p, removed := range leftovers {
		_, err := os.Stat(p)
		if gone := errors.Is(err, os.ErrNotExist); gone != removed {
			t.Errorf("%s: removed = %v, want %v", p, gone, removed)
		}
	}
	e.indexAtMain("hive")
}

// TestFaultServeWorktree: on hive serve, a working tree that cannot be
// updated after main moved does not fail the write: POST /skills answers
// 201, the skill is on main, the log warns, and the next write brings the
// working tree up to main.
func TestFaultServeWorktree(t *testing.T) {
	skipShort(t)
	spec := fixtures.Spec{Instances: 1, Traces: 10}
	g := fixtures.NewGenerator(spec)
	e := newEnv(t, spec.Names()...)
	e.run("init", "srv")
	e.run("--repo", "srv", "key", "add", "--instance", fixtures.Instance(0))
	e.run("init", "src")
	e.run("--repo", "src", "key", "add", "--instance", fixtures.Instance(0))
	id := strings.TrimSpace(e.run("--repo", "src", "add", e.writeTraces("one.jsonl", g, 0, 1)))
	envelope := e.run("--repo", "src", "export", id)

	srv := e.cmd("--repo", "srv", "serve", "--addr", "127.0.0.1:0")
	srv.Env = append(srv.Env, fault.Var+"=fail:worktree")
	logs := &syncBuffer{}
	srv.Stderr = logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	var addr string
	for i := 0; i < 200 && addr == ""; i++ {
		time.Sleep(50 * time.Millisecond)
		if _, rest, ok := strings.Cut(logs.String(), "addr="); ok {
			addr = strings.Fields(rest)[0]
		}
	}
	if addr == "" {
		t.Fatalf("hive serve did not say where it listens:\n%s", logs.String())
	}
	resp, err := http.Post("http://"+addr+"/skills", "application/json", strings.NewReader(envelope))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /skills = %d, want 201: the skill is on main\n%s", resp.StatusCode, logs.String())
	}
	if files := traceFiles(t, filepath.Join(e.dir, "srv")); !slices.Contains(files, "traces/"+strings.TrimPrefix(id, "sha256:")[:2]+"/"+strings.TrimPrefix(id, "sha256:")+".json") {
		t.Fatalf("the acknowledged skill %s is not on main: %v", id, files)
	}
	for i := 0; i < 100 && !strings.Contains(logs.String(), "the working tree was not updated"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "the working tree was not updated") {
		t.Errorf("the server did not warn that the working tree is behind:\n%s", logs.String())
	}
	srv.Process.Kill()
	srv.Wait()
	if out, _ := e.git("srv", "status", "--porcelain"); out == "" {
		t.Fatal("the working tree is at main already: the fault was not injected")
	}
	e.run("--repo", "srv", "add", e.writeTraces("two.jsonl", g, 1, 2))
	e.indexAtMain("srv")
}

// skipShort skips a test of many runs of the real binary in the developer
// loop (go test -short); make test runs it.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the hive binary many times: make test runs it")
	}
}
