package trust

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

const maint = "maint"

// diskHive is a hive on disk that tests change with hive's library and
// with the git CLI, as people do.
type diskHive struct {
	t     *testing.T
	dir   string
	clock func() time.Time
	picks int // branches made by replay
	calls int // git commands run
}

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: these histories are made with it")
	}
}

// newDiskHive makes a hive with maintainer maint and the keys of maint,
// instance_a and instance_b.
func newDiskHive(t *testing.T) *diskHive {
	needGit(t)
	h := &diskHive{t: t, dir: filepath.Join(t.TempDir(), "hive"), clock: fixtures.Clock()}
	s, err := registry.Init(h.dir, registry.InitOptions{Maintainers: []string{maint}}, registry.WithClock(h.clock))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, inst := range []string{maint, "instance_a", "instance_b"} {
		if _, err := s.AddKey(inst, fixtures.Key(inst).Public().MarshalPEM()); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// store opens the hive anew (git may have changed it underneath).
func (h *diskHive) store() *registry.Store {
	h.t.Helper()
	s, err := registry.Open(h.dir, registry.WithClock(h.clock))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { s.Close() })
	return s
}

func (h *diskHive) git(args ...string) string {
	h.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", h.dir}, args...)...)
	h.calls++ // each git commit at its own time, as people make them
	date := "GIT_COMMITTER_DATE=" + time.Date(2026, 1, 1, 0, 0, h.calls, 0, time.UTC).Format(time.RFC3339)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", date, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// add adds fixture trace i of instance and returns its id and commit.
func (h *diskHive) add(instance string, i int) (schema.ID, plumbing.Hash) {
	h.t.Helper()
	b, err := fixtures.Trace(instance, i).Marshal()
	if err != nil {
		h.t.Fatal(err)
	}
	added, err := h.store().Add([]registry.Input{{Name: "t", Data: b}}, fixtures.KeyFunc(instance))
	if err != nil {
		h.t.Fatal(err)
	}
	return added[0].ID, added[0].Commit
}

// verify checks the whole history.
func (h *diskHive) verify() {
	h.t.Helper()
	s := h.store()
	head, _ := s.Head()
	r, err := s.Verify(head, registry.VerifyOptions{Full: true})
	if err != nil {
		h.t.Fatal(err)
	}
	if r.Err() != nil {
		h.t.Fatalf("the history does not verify: %v", r.Err())
	}
}

// table is the reputation table of main, from the ledger if any.
func (h *diskHive) table() *Table {
	h.t.Helper()
	t, err := Reputation(h.store())
	if err != nil {
		h.t.Fatal(err)
	}
	return t
}

// fresh is the table rebuilt from nothing.
func (h *diskHive) fresh() *Table {
	h.t.Helper()
	os.Remove(filepath.Join(h.dir, ".git", "hive", "trust", "ledger"))
	return h.table()
}

// replay cherry-picks commit c onto n branches forked from its parent and
// merges each into main, one at a time.
func (h *diskHive) replay(c plumbing.Hash, n int) {
	h.t.Helper()
	for range n {
		h.picks++
		b := fmt.Sprint("replay", h.picks)
		h.git("checkout", "-q", "-b", b, c.String()+"~1")
		h.git("cherry-pick", "--allow-empty", c.String())
		h.git("checkout", "-q", "main")
		h.git("merge", "-q", "--no-ff", "-m", "merge "+b, b)
	}
}

// laterClock is a fixture clock a day on, for a second hive whose commits
// must not be the first's.
func laterClock() func() time.Time {
	c := fixtures.Clock()
	return func() time.Time { return c().Add(24 * time.Hour) }
}

func sameTables(t *testing.T, what string, got, want *Table) {
	t.Helper()
	if !reflect.DeepEqual(got.All(), want.All()) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got.All(), want.All())
	}
	if !reflect.DeepEqual(got.skills, want.skills) {
		t.Errorf("%s: skills\n got  %v\n want %v", what, got.skills, want.skills)
	}
}

// TestCherryPicksCountOnce: one trace cherry-picked onto nine branches and
// merged is one trace; so is an outcome.
func TestCherryPicksCountOnce(t *testing.T) {
	h := newDiskHive(t)
	tr, c := h.add("instance_a", 0)
	oc, err := h.store().ReportOutcome(tr, true, "works", "instance_b", fixtures.Key("instance_b"))
	if err != nil {
		t.Fatal(err)
	}
	want := h.fresh()
	h.replay(c, 9)
	h.replay(oc, 3)
	h.verify()
	got := h.table()
	sameTables(t, "after nine cherry-picks merged", got, want)
	sameTables(t, "rebuilt", h.fresh(), want)
	if a := got.Of("instance_a"); a.Traces != 1 || a.Successes != 1 {
		t.Errorf("instance_a: %+v, want 1 trace and 1 success", a)
	}
}

// TestReplayedRemovalCountsOnce: a maintainer's removal copied onto three
// branches forked just before it, and merged, is one upheld dispute.
func TestReplayedRemovalCountsOnce(t *testing.T) {
	h := newDiskHive(t)
	tr, _ := h.add("instance_a", 0)
	h.add("instance_a", 1)
	s := h.store()
	d, _, err := s.OpenDispute(tr, "unsafe", "instance_b", fixtures.Key("instance_b"))
	if err != nil {
		t.Fatal(err)
	}
	rm, err := s.ResolveDispute(d, registry.DecisionRemove, "upheld", maint, fixtures.Key(maint))
	if err != nil {
		t.Fatal(err)
	}
	want := h.fresh()
	if a := want.Of("instance_a"); a.Upheld != 1 || a.Traces != 1 {
		t.Fatalf("after the removal: %+v, want 1 upheld dispute, 1 trace", a)
	}
	h.replay(rm, 3)
	h.verify()
	sameTables(t, "after the removal replayed on three branches", h.table(), want)
}

// TestPostThenPullCountsOnce: a trace added in one hive, exported, imported
// into another that then pulls the first, is one trace there.
func TestPostThenPullCountsOnce(t *testing.T) {
	a := newDiskHive(t)
	b := &diskHive{t: t, dir: filepath.Join(t.TempDir(), "b"), clock: laterClock()}
	sb, _, err := registry.Clone(a.dir, b.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb.Close()
	tr, _ := a.add("instance_a", 0)
	env, err := a.store().Export(tr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store().Import([]registry.Input{{Name: "envelope", Data: env}}); err != nil {
		t.Fatal(err)
	}
	b.add("instance_b", 0) // so that the pull merges
	s := b.store()
	r, err := s.ResolveRemote(a.dir)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Pull(r, nil); err != nil || !res.Merged {
		t.Fatalf("pull = %+v, %v; want a merge", res, err)
	}
	b.verify()
	ins, _, err := Instances(b.store())
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if want := map[string]int{"instance_a": 1, "instance_b": 1}[in.ID]; in.Traces != want {
			t.Errorf("%s: %d traces, want %d", in.ID, in.Traces, want)
		}
	}
	if got, want := b.table().Of("instance_a"), a.fresh().Of("instance_a"); !reflect.DeepEqual(got, want) {
		t.Errorf("instance_a in b: %+v, in a: %+v", got, want)
	}
}

// TestCommitMessagesChangeNothing: the same records committed in another
// order, with other messages and so other hashes, give the same table.
func TestCommitMessagesChangeNothing(t *testing.T) {
	x := newDiskHive(t)
	fork := x.git("rev-parse", "HEAD")
	var files [][]string
	for i := range 4 {
		inst := []string{"instance_a", "instance_b"}[i%2]
		tr, _ := x.add(inst, i)
		files = append(files, []string{registry.TracePath(tr), registry.BundlePath(tr)})
	}
	for _, tr := range x.ids(t) {
		if e, _ := x.store().Trace(tr); e.Trace.InstanceID == "instance_a" {
			if _, err := x.store().ReportOutcome(tr, true, "", "instance_b", fixtures.Key("instance_b")); err != nil {
				t.Fatal(err)
			}
			p := registry.OutcomePath(tr, "instance_b")
			files = append(files, []string{p, strings.TrimSuffix(p, ".json") + ".sigstore.json"})
		}
	}
	want := x.fresh()
	// y: the same files, committed last first where lineage allows (none
	// here), with ground messages.
	y := &diskHive{t: t, dir: filepath.Join(t.TempDir(), "y"), clock: laterClock()}
	cmd := exec.Command("git", "clone", "-q", x.dir, y.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v %s", err, out)
	}
	y.git("reset", "-q", "--hard", fork)
	order := []int{3, 1, 2, 0, 4, 5}
	for n, i := range order {
		for _, p := range files[i] {
			b, err := os.ReadFile(filepath.Join(x.dir, p))
			if err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Dir(filepath.Join(y.dir, p)), 0o755)
			if err := os.WriteFile(filepath.Join(y.dir, p), b, 0o644); err != nil {
				t.Fatal(err)
			}
			y.git("add", p)
		}
		y.git("commit", "-q", "-m", "ground message "+strings.Repeat("x", n*7))
	}
	y.verify()
	if x.git("rev-parse", "HEAD^{tree}") != y.git("rev-parse", "HEAD^{tree}") {
		t.Fatalf("the two hives hold different trees")
	}
	sameTables(t, "the same records in another order", y.fresh(), want)
}

func (h *diskHive) ids(t *testing.T) []schema.ID {
	ids, err := h.store().TraceIDs()
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestLedgerIncremental: the ledger brought up to date commit by commit
// gives what a rebuild gives, and a damaged ledger is rebuilt.
func TestLedgerIncremental(t *testing.T) {
	h := newDiskHive(t)
	check := func(what string) {
		t.Helper()
		inc := h.table()
		s := h.store()
		if head, _ := s.Head(); inc.Commit() != head {
			t.Fatalf("%s: table of %s, main is %s", what, inc.Commit(), head)
		}
		sameTables(t, what, inc, h.fresh())
	}
	check("keys only")
	var ids []schema.ID
	for i := range 6 {
		id, _ := h.add([]string{"instance_a", "instance_b"}[i%2], i)
		ids = append(ids, id)
		check("trace added")
	}
	s := h.store()
	if _, err := s.ReportOutcome(ids[0], true, "", "instance_b", fixtures.Key("instance_b")); err != nil {
		t.Fatal(err)
	}
	check("outcome")
	if _, err := s.ReportOutcome(ids[2], false, "", maint, fixtures.Key(maint)); err != nil {
		t.Fatal(err)
	}
	check("maintainer's failure")
	d, _, err := s.OpenDispute(ids[2], "fails", maint, fixtures.Key(maint))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveDispute(d, registry.DecisionRemove, "upheld", maint, fixtures.Key(maint)); err != nil {
		t.Fatal(err)
	}
	check("removal")
	if got := h.table().Of("instance_a"); got.Upheld != 1 || got.Traces != 2 || got.Failures != 0 {
		t.Errorf("instance_a after the removal: %+v", got)
	}
	// A damaged ledger is rebuilt, never trusted.
	path := filepath.Join(h.dir, ".git", "hive", "trust", "ledger")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	os.WriteFile(path, b, 0o644)
	check("damaged ledger")
	// A ledger of a commit that is not on main's history is rebuilt.
	other, _ := h.add("instance_b", 9)
	h.git("reset", "-q", "--hard", "HEAD~1")
	check("main moved back")
	_ = other
}

// TestTables: the tables along main's history are the tables computed at
// each commit.
func TestTables(t *testing.T) {
	h := newDiskHive(t)
	var commits []plumbing.Hash
	for i := range 3 {
		id, c := h.add("instance_a", i)
		commits = append(commits, c)
		oc, err := h.store().ReportOutcome(id, i != 1, "", "instance_b", fixtures.Key("instance_b"))
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, oc)
	}
	s := h.store()
	got, err := Tables(s, commits)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range commits {
		want, err := Tables(s, []plumbing.Hash{c})
		if err != nil {
			t.Fatal(err)
		}
		sameTables(t, fmt.Sprintf("table %d", i), got[i], want[0])
	}
	if a := got[len(got)-1].Of("instance_a"); a.Successes != 2 || a.Failures != 1 {
		t.Errorf("at the end: %+v", a)
	}
}

// TestSeries: reputation over time along main's first parents ends with
// main's table, and rises with each success.
func TestSeries(t *testing.T) {
	h := newDiskHive(t)
	h.add("instance_a", 0)
	for i := 1; i <= 3; i++ {
		id2, _ := h.add("instance_a", i)
		if _, err := h.store().ReportOutcome(id2, true, "", "instance_b", fixtures.Key("instance_b")); err != nil {
			t.Fatal(err)
		}
	}
	s := h.store()
	head, _ := s.Head()
	pts, n, err := Series(context.Background(), s, head, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 4 || pts[3].At != n {
		t.Fatalf("%d points, the last at %d of %d; want 4, the last at the end", len(pts), pts[len(pts)-1].At, n)
	}
	sameTables(t, "the last point", pts[3].Table, h.fresh())
	if head := h.git("rev-parse", "HEAD"); pts[3].Commit.String() != head {
		t.Errorf("the last point is %s, main is %s", pts[3].Commit, head)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Table.Of("instance_a").Reputation < pts[i-1].Table.Of("instance_a").Reputation {
			t.Errorf("reputation fell from point %d to %d", i-1, i)
		}
	}
}
