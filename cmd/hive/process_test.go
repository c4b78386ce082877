package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/signing"
)

// These tests run the real hive binary as separate processes: concurrent
// writers, writers killed at any moment, and instances gossiping.

var (
	buildOnce sync.Once
	hiveBin   string
	buildErr  error
)

func hiveBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hive-bin-")
		if err != nil {
			buildErr = err
			return
		}
		hiveBin = filepath.Join(dir, "hive")
		out, err := exec.Command("go", "build", "-o", hiveBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return hiveBin
}

// env is a sandbox: a key store with fixture keys and git's identity.
type env struct {
	t    *testing.T
	bin  string
	dir  string
	keys string
}

func newEnv(t *testing.T, instances ...string) *env {
	e := &env{t: t, bin: hiveBinary(t), dir: t.TempDir()}
	e.keys = filepath.Join(e.dir, "keys")
	ks := signing.KeyStore{Dir: e.keys}
	for _, inst := range instances {
		if err := ks.Create(inst, fixtures.Key(inst)); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) cmd(args ...string) *exec.Cmd {
	c := exec.Command(e.bin, args...)
	c.Dir = e.dir
	c.Env = append(os.Environ(), "HIVE_KEY_DIR="+e.keys, "HOME="+e.dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	return c
}

// run runs hive and fails the test unless it exits 0.
func (e *env) run(args ...string) string {
	e.t.Helper()
	var out, errb bytes.Buffer
	c := e.cmd(args...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		e.t.Fatalf("hive %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// writeTraces writes traces [from, to) of the generator to a JSON Lines file.
func (e *env) writeTraces(name string, g *fixtures.Generator, from, to int) string {
	e.t.Helper()
	in, err := g.Inputs(from, to)
	if err != nil {
		e.t.Fatal(err)
	}
	var b bytes.Buffer
	for _, x := range in {
		b.Write(x.Data)
		b.WriteByte('\n')
	}
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// traceFiles lists the trace files on main, as plain git sees them.
func traceFiles(t *testing.T, repo string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", repo, "ls-tree", "-r", "--name-only", "main", "traces").Output()
	if err != nil {
		t.Fatalf("git ls-tree: %v", err)
	}
	var files []string
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasSuffix(f, ".sigstore.json") {
			files = append(files, f)
		}
	}
	return files
}

// TestConcurrentAdds: 8 hive add processes of 100 traces each, at once,
// lose nothing; the hive verifies and git fsck is clean.
func TestConcurrentAdds(t *testing.T) {
	skipShort(t)
	spec := fixtures.Spec{Instances: 2, Traces: 800}
	e := newEnv(t, spec.Names()...)
	e.run("init", "hive")
	for _, inst := range spec.Names() {
		e.run("--repo", "hive", "key", "add", "--instance", inst)
	}
	g := fixtures.NewGenerator(spec)
	var wg sync.WaitGroup
	outs := make([]string, 8)
	errs := make([]error, 8)
	for p := 0; p < 8; p++ {
		f := e.writeTraces(fmt.Sprintf("batch%d.jsonl", p), g, p*100, (p+1)*100)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, errb bytes.Buffer
			c := e.cmd("--repo", "hive", "add", f)
			c.Stdout, c.Stderr = &out, &errb
			errs[p] = c.Run()
			outs[p] = out.String() + errb.String()
		}()
	}
	wg.Wait()
	acked := 0
	for p := range 8 {
		if errs[p] != nil {
			t.Errorf("process %d: %v\n%s", p, errs[p], outs[p])
		}
		acked += strings.Count(outs[p], "sha256:")
	}
	if got := len(traceFiles(t, filepath.Join(e.dir, "hive"))); got != 800 || acked != 800 {
		t.Errorf("after 8 concurrent adds of 100: %d traces on main, %d acknowledged, want 800", got, acked)
	}
	e.run("--repo", "hive", "verify", "--full")
	if out, err := exec.Command("git", "-C", filepath.Join(e.dir, "hive"), "fsck", "--strict").CombinedOutput(); err != nil {
		t.Errorf("git fsck: %v\n%s", err, out)
	}
}

// TestKilledWriters: hive add and hive pull killed at random moments leave a
// hive that verifies, with every trace that a finished add acknowledged.
func TestKilledWriters(t *testing.T) {
	skipShort(t)
	spec := fixtures.Spec{Instances: 2, Traces: 2000}
	e := newEnv(t, spec.Names()...)
	e.run("init", "hive")
	for _, inst := range spec.Names() {
		e.run("--repo", "hive", "key", "add", "--instance", inst)
	}
	e.run("clone", "hive", "src")
	g := fixtures.NewGenerator(spec)
	rng := rand.New(rand.NewPCG(1, 2))
	next := 0
	var acked []string
	for round := range 10 {
		f := e.writeTraces(fmt.Sprintf("r%d.jsonl", round), g, next, next+40)
		next += 40
		var out bytes.Buffer
		c := e.cmd("--repo", "hive", "add", f)
		c.Stdout = &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		c.Process.Kill()
		if c.Wait() == nil { // finished before the kill: acknowledged
			acked = append(acked, strings.Fields(out.String())...)
		}
		e.run("--repo", "hive", "verify", "--full")
	}
	have := traceFiles(t, filepath.Join(e.dir, "hive"))
	for _, id := range acked {
		hex := strings.TrimPrefix(id, "sha256:")
		if !slices.Contains(have, "traces/"+hex[:2]+"/"+hex+".json") {
			t.Errorf("acknowledged trace %s is missing after a later add was killed", id)
		}
	}
	// Pulls killed at random moments; the hive has a skill src lacks, so
	// each pull writes a merge.
	f := e.writeTraces("src.jsonl", g, next, next+300)
	e.run("--repo", "src", "add", f)
	e.run("--repo", "hive", "add", e.writeTraces("local.jsonl", g, next+300, next+301))
	for range 6 {
		c := e.cmd("--repo", "hive", "pull", filepath.Join(e.dir, "src"))
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		c.Process.Kill()
		c.Wait()
		e.run("--repo", "hive", "verify", "--full")
	}
	if out := e.run("--repo", "hive", "pull", filepath.Join(e.dir, "src")); !strings.Contains(out, "merged") && !strings.Contains(out, "up to date") {
		t.Errorf("the last pull neither merged nor was up to date: %s", out)
	}
	e.run("--repo", "hive", "verify", "--full")
	if out, err := exec.Command("git", "-C", filepath.Join(e.dir, "hive"), "fsck").CombinedOutput(); err != nil {
		t.Errorf("git fsck after killed writers: %v\n%s", err, out)
	}
}

// TestGossip: five instances pull from each other in random order until
// every hive holds the same skills; each hive verifies throughout.
func TestGossip(t *testing.T) {
	const n = 5
	spec := fixtures.Spec{Instances: n, Traces: n * 4}
	e := newEnv(t, spec.Names()...)
	e.run("init", "hub")
	g := fixtures.NewGenerator(spec)
	hives := make([]string, n)
	for i := range n {
		hives[i] = filepath.Join(e.dir, fmt.Sprintf("h%d", i))
		e.run("clone", "hub", hives[i])
		e.run("--repo", hives[i], "key", "add", "--instance", fixtures.Instance(i))
		in, err := g.Inputs(0, spec.Traces)
		if err != nil {
			t.Fatal(err)
		}
		var mine bytes.Buffer
		for j, x := range in {
			if j%n == i {
				mine.Write(x.Data)
				mine.WriteByte('\n')
			}
		}
		f := filepath.Join(e.dir, fmt.Sprintf("mine%d.jsonl", i))
		os.WriteFile(f, mine.Bytes(), 0o644)
		e.run("--repo", hives[i], "add", f)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	same := func() bool {
		first := traceFiles(t, hives[0])
		for _, h := range hives[1:] {
			if !slices.Equal(first, traceFiles(t, h)) {
				return false
			}
		}
		return len(first) == spec.Traces
	}
	rounds := 0
	for ; !same() && rounds < 200; rounds++ {
		a, b := rng.IntN(n), rng.IntN(n)
		if a == b {
			continue
		}
		e.run("--repo", hives[a], "pull", hives[b])
	}
	if !same() {
		t.Fatalf("after %d random pulls the hives still differ", rounds)
	}
	for _, h := range hives {
		e.run("--repo", h, "verify", "--full")
	}
	t.Logf("converged after %d pulls", rounds)
}

// TestServeGit: git clone, fetch and push with the plain git CLI against
// hive serve; a push that breaks a rule is refused with the reasons on the
// pusher's screen and the server's main does not move; SIGTERM shuts the
// server down cleanly.
func TestServeGit(t *testing.T) {
	e := newEnv(t, "instance_0")
	e.run("init", "srv")
	e.run("--repo", "srv", "key", "add", "--instance", "instance_0")
	g := fixtures.NewGenerator(fixtures.Spec{Instances: 1, Traces: 10})
	e.run("--repo", "srv", "add", e.writeTraces("first.jsonl", g, 0, 3))
	token := strings.TrimSpace(e.run("--repo", "srv", "serve", "token", "add", "--instance", "instance_0"))

	srv := e.cmd("--repo", "srv", "serve", "--addr", "127.0.0.1:0")
	logs := &syncBuffer{}
	srv.Stderr = logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	var addr string
	for i := 0; i < 100 && addr == ""; i++ {
		time.Sleep(50 * time.Millisecond)
		if _, rest, ok := strings.Cut(logs.String(), "addr="); ok {
			addr = strings.Fields(rest)[0]
		}
	}
	if addr == "" {
		t.Fatalf("hive serve did not say where it listens:\n%s", logs.String())
	}
	url := "http://git:" + token + "@" + addr + "/hive.git"
	git := func(dir string, args ...string) (string, error) {
		c := exec.Command("git", append([]string{"-C", filepath.Join(e.dir, dir)}, args...)...)
		c.Env = append(e.cmd().Env, "GIT_TERMINAL_PROMPT=0")
		out, err := c.CombinedOutput()
		return string(out), err
	}
	mainOf := func(dir string) string {
		out, err := git(dir, "rev-parse", "main")
		if err != nil {
			t.Fatalf("rev-parse: %v %s", err, out)
		}
		return strings.TrimSpace(out)
	}
	if out, err := git(".", "clone", "-q", url, "c"); err != nil {
		t.Fatalf("git clone over HTTP: %v\n%s", err, out)
	}
	e.run("--repo", "c", "verify", "--full")

	// A valid push is accepted, and the served working tree follows it.
	e.run("--repo", "c", "add", e.writeTraces("second.jsonl", g, 3, 5))
	if out, err := git("c", "push", "-q", "origin", "main"); err != nil {
		t.Fatalf("git push of valid skills: %v\n%s", err, out)
	}
	if mainOf("srv") != mainOf("c") {
		t.Errorf("after an accepted push the server's main is %s, want %s", mainOf("srv"), mainOf("c"))
	}
	e.run("--repo", "srv", "verify", "--full")
	if out, _ := git("srv", "status", "--porcelain"); out != "" {
		t.Errorf("the served working tree is not clean after a push:\n%s", out)
	}

	// Refused pushes: the reasons reach the pusher; nothing moves.
	before := mainOf("srv")
	files := traceFiles(t, filepath.Join(e.dir, "c"))
	victim := filepath.Join(e.dir, "c", files[0])
	os.Chmod(victim, 0o644)
	if err := os.WriteFile(victim, []byte(`{"evil":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	git("c", "commit", "-qam", "innocent")
	// and a commit git fsck refuses: a NUL byte in its author
	tree, _ := git("c", "rev-parse", before+"^{tree}")
	raw := exec.Command("git", "-C", filepath.Join(e.dir, "c"), "hash-object", "-t", "commit", "--literally", "-w", "--stdin")
	raw.Stdin = strings.NewReader("tree " + strings.TrimSpace(tree) + "\nparent " + before +
		"\nauthor a\x00b <a@example.com> 1767322000 +0000\ncommitter c <c@example.com> 1767322000 +0000\n\nraw\n")
	nul, err := raw.Output()
	if err != nil {
		t.Fatalf("git hash-object: %v", err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"tampered trace", []string{"push", "origin", "main"}, "path-modified"},
		{"commit git fsck refuses", []string{"push", "origin", strings.TrimSpace(string(nul)) + ":refs/heads/main"}, "fsck nulInHeader"},
		{"rewritten history", []string{"push", "-f", "origin", "HEAD~3:main"}, "history-rewritten"},
		{"another ref", []string{"push", "origin", "main:refs/heads/other"}, "only main and hive/* may be pushed"},
		{"another instance's branch", []string{"push", "origin", "HEAD~1:refs/heads/hive/instance_1/x"}, "instance instance_0 may push only branches under hive/instance_0/"},
		{"no token", []string{"push", "http://" + addr + "/hive.git", "main"}, "could not read Username"},
	} {
		out, err := git("c", tc.args...)
		if err == nil {
			t.Errorf("git push (%s) was accepted", tc.name)
		}
		if !strings.Contains(out, tc.want) || tc.name != "no token" && !strings.Contains(out, "remote: ") {
			t.Errorf("git push (%s): want remote: lines naming %s, got:\n%s", tc.name, tc.want, out)
		}
		if got := mainOf("srv"); got != before {
			t.Errorf("after a refused push (%s) the server's main moved to %s", tc.name, got)
		}
	}
	e.run("--repo", "srv", "verify", "--full")

	// A revoked token stops working at once, on the running server (which
	// still has another token: without any, it would be read-only).
	e.run("--repo", "srv", "serve", "token", "add", "--instance", "instance_1")
	var list []struct{ ID string }
	if err := json.Unmarshal([]byte(e.run("--repo", "srv", "serve", "token", "list", "--json")), &list); err != nil || len(list) != 2 {
		t.Fatalf("token list --json = %v, %v", list, err)
	}
	e.run("--repo", "srv", "serve", "token", "revoke", list[0].ID)
	if out, err := git("c", "push", "origin", "HEAD~1:refs/heads/hive/instance_0/late"); err == nil || !strings.Contains(out, "Authentication failed") {
		t.Errorf("a push with a revoked token = %v:\n%s", err, out)
	}

	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hive serve after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("hive serve did not stop within 10 s of SIGTERM")
	}
}

// syncBuffer is a bytes.Buffer safe for a process's writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAddPacks: hive add packs the hive, as git's own commands do, once its
// loose objects pass gc.auto; what is packed still verifies and git fsck
// is clean.
func TestAddPacks(t *testing.T) {
	skipShort(t)
	spec := fixtures.Spec{Instances: 2, Traces: 601}
	e := newEnv(t, spec.Names()...)
	e.run("init", "hive")
	repo := filepath.Join(e.dir, "hive")
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	git("config", "gc.auto", "0") // off while the hive fills
	git("config", "gc.autoDetach", "false")
	for _, inst := range spec.Names() {
		e.run("--repo", "hive", "key", "add", "--instance", inst)
	}
	g := fixtures.NewGenerator(spec)
	e.run("--repo", "hive", "add", e.writeTraces("first.jsonl", g, 0, 600))
	if !strings.Contains(git("count-objects", "-v"), "\npacks: 0\n") {
		t.Fatal("the hive was packed with gc.auto 0")
	}
	// git estimates the loose objects from objects/17 (about 14 files here):
	// set gc.auto just below that estimate.
	names, _ := os.ReadDir(filepath.Join(repo, ".git", "objects", "17"))
	if len(names) < 2 {
		t.Fatalf("objects/17 holds %d files: too few for this test", len(names))
	}
	git("config", "gc.auto", strconv.Itoa(256*(len(names)-1)))
	e.run("--repo", "hive", "add", e.writeTraces("last.jsonl", g, 600, 601))
	counts := git("count-objects", "-v")
	if !strings.HasPrefix(counts, "count: 0\n") || strings.Contains(counts, "\npacks: 0\n") {
		t.Fatalf("after hive add past gc.auto, git count-objects -v:\n%s", counts)
	}
	if got := len(traceFiles(t, repo)); got != 601 {
		t.Fatalf("%d traces on main after packing, want 601", got)
	}
	e.run("--repo", "hive", "verify", "--full")
	git("fsck", "--strict", "--no-progress")
}

// TestHooksOddPath: hive installed under a folder whose name holds
// spaces, quotes, $(...) and backticks writes hooks that run it, and only
// it: a bare hub's pre-receive refuses a bad push and accepts a good one,
// a working hive's pre-push runs too, and nothing in the name runs.
func TestHooksOddPath(t *testing.T) {
	if testing.Short() {
		t.Skip("a process test: make test runs it")
	}
	e := newEnv(t, "instance_0")
	odd := filepath.Join(e.dir, `it's a "hive" $(touch pwned-dollar) `+"`touch pwned-tick`"+` ;touch pwned-semi`)
	if err := os.MkdirAll(odd, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(e.bin)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(odd, "hive")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	e.bin = bin
	e.run("init", "a")
	e.run("--repo", "a", "key", "add", "--instance", "instance_0")
	git := func(args ...string) (string, error) {
		c := exec.Command("git", args...)
		c.Dir, c.Env = e.dir, e.cmd().Env
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := git("clone", "-q", "--bare", "a", "hub.git"); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	if out := e.run("--repo", "hub.git", "hooks", "install"); !strings.Contains(out, "pre-receive") {
		t.Fatalf("hooks install on a hub = %q", out)
	}
	if out := e.run("--repo", "a", "hooks", "install"); !strings.Contains(out, "pre-push") {
		t.Fatalf("hooks install on a working hive = %q", out)
	}
	g := fixtures.NewGenerator(fixtures.Spec{Instances: 1, Traces: 4})
	e.run("--repo", "a", "add", e.writeTraces("t.jsonl", g, 0, 2))
	out, err := git("-C", "a", "push", "../hub.git", "main")
	if err != nil || !strings.Contains(out, "hive: refs/heads/main verified") {
		t.Errorf("a valid push through the hooks = %v:\n%s", err, out)
	}
	// A bad push is refused by the hub's hook (the pre-push is skipped).
	files := traceFiles(t, filepath.Join(e.dir, "a"))
	os.WriteFile(filepath.Join(e.dir, "a", files[0]), []byte(`{"evil":true}`), 0o644)
	git("-C", "a", "commit", "-qam", "innocent")
	out, err = git("-C", "a", "push", "--no-verify", "../hub.git", "main")
	if err == nil || !strings.Contains(out, "path-modified") {
		t.Errorf("a tampered push through the hub's hook = %v:\n%s", err, out)
	}
	out, err = git("-C", "a", "push", "../hub.git", "main")
	if err == nil || !strings.Contains(out, "push refused by hive") {
		t.Errorf("a tampered push through the pre-push hook = %v:\n%s", err, out)
	}
	for _, dir := range []string{e.dir, filepath.Join(e.dir, "a"), filepath.Join(e.dir, "hub.git")} { // where hooks run
		ents, _ := os.ReadDir(dir)
		for _, f := range ents {
			if strings.HasPrefix(f.Name(), "pwned") {
				t.Errorf("a hook ran code from the binary's path: %s exists in %s", f.Name(), dir)
			}
		}
	}
	hook, _ := os.ReadFile(filepath.Join(e.dir, "hub.git", "hooks", "pre-receive"))
	if !strings.Contains(string(hook), `'\''`) {
		t.Errorf("the hook does not quote the path for sh:\n%s", hook)
	}
}
