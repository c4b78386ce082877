//go:build linux

package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/server"
	"github.com/hive-dev/hive/tokens"
)

// procs lists the processes whose environment holds marker (the served
// hive's GIT_PROJECT_ROOT, which git and the hooks it runs inherit).
func procs(t *testing.T, marker string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte(marker+"\x00")) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, e.Name()+": "+strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " "))
	}
	return out
}

// waitProcs waits, up to limit, until procs(marker) satisfies ok.
func waitProcs(t *testing.T, marker string, limit time.Duration, ok func([]string) bool) []string {
	t.Helper()
	end := time.Now().Add(limit)
	for {
		ps := procs(t, marker)
		if ok(ps) || time.Now().After(end) {
			return ps
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// raw sends a request's head and the first bytes of its body, then closes
// the connection without reading the answer.
func raw(t *testing.T, addr, head string, body []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, head)
	c.Write(body)
	time.Sleep(100 * time.Millisecond)
	c.Close()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestGitOutlivesNoRequest attacks the git endpoints as issue 15 did: a
// body shorter than its Content-Length, a body over the cap, a client
// that disconnects mid-push and a push past its deadline. Afterwards no
// git (or hook) process of the server is left and the server is idle; a
// git request that finds every backend busy gets 503 with Retry-After.
func TestGitOutlivesNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("takes the git timeout twice: make test runs it")
	}
	work := t.TempDir()
	slowHook := filepath.Join(work, "slow-hive")
	if err := os.WriteFile(slowHook, []byte("#!/bin/sh\nexec sleep 300\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ts := tokens.Open(filepath.Join(work, "state"))
	tok, _, _ := ts.Add(fixtures.Instance(0), tokens.Write, time.Time{})
	h := serveReal(t, server.Options{HiveBinary: slowHook, Tokens: ts, MaxPush: 64 << 10, MaxFetch: 64 << 10, Limits: server.Limits{
		GitBackends: 1, GitQueue: 200 * time.Millisecond, GitTimeout: 4 * time.Second,
		Writes: server.Rate{PerMinute: -1}, Searches: server.Rate{PerMinute: -1},
	}})
	marker := "GIT_PROJECT_ROOT=" + h.dir
	auth := "Authorization: Basic " + strings.TrimPrefix(basic(tok), "Basic ") + "\r\n"

	// Bodies shorter than their Content-Length: git never starts.
	for _, path := range []string{"/git-upload-pack", "/git-receive-pack", "/hive.git/git-receive-pack"} {
		raw(t, h.addr, "POST "+path+" HTTP/1.1\r\nHost: localhost\r\n"+auth+"Content-Type: application/x"+path[strings.LastIndex(path, "/"):]+"-request\r\nContent-Length: 100\r\n\r\n", []byte("0000"))
	}
	// Over the cap, declared or chunked.
	resp, err := http.Post(h.url+"/git-upload-pack", "application/x-git-upload-pack-request", bytes.NewReader(make([]byte, 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 1 MiB upload-pack body over a 64 KiB cap = %d, want 413", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", h.url+"/git-upload-pack", io.MultiReader(bytes.NewReader(make([]byte, 200<<10))))
	req.ContentLength = -1 // chunked
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a chunked 200 KiB body over a 64 KiB cap = %d, want 413", resp.StatusCode)
		}
	}
	if ps := procs(t, marker); len(ps) > 0 {
		t.Errorf("git ran for bodies that were short or over the cap:\n%s", strings.Join(ps, "\n"))
	}
	if got := metric(t, h.url, `hive_git_bodies_refused_total{reason="incomplete"}`); got != "3" {
		t.Errorf(`hive_git_bodies_refused_total{reason="incomplete"} = %q, want 3`, got)
	}

	// A real push whose hook hangs: the client goes away mid-push.
	gitCmd := func(args ...string) *exec.Cmd {
		c := exec.Command("git", args...)
		c.Dir = work
		c.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return c
	}
	if out, err := gitCmd("clone", "-q", h.url+"/hive.git", "c").CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	if out, err := gitCmd("-C", "c", "commit", "-q", "--allow-empty", "-m", "x").CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	pushURL := "http://git:" + tok + "@" + h.addr + "/hive.git"
	push := gitCmd("-C", "c", "push", pushURL, "main:refs/heads/hive/instance_0/x")
	if err := push.Start(); err != nil {
		t.Fatal(err)
	}
	hooked := func(ps []string) bool { return strings.Contains(strings.Join(ps, "\n"), "sleep 300") }
	if ps := waitProcs(t, marker, 20*time.Second, hooked); !hooked(ps) {
		push.Process.Kill()
		push.Wait()
		t.Fatalf("the push's hook did not start; server processes:\n%s", strings.Join(ps, "\n"))
	}
	// Every backend is busy now: another git request waits its queue time, then 503.
	resp, err = http.Get(h.url + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a git request while every backend is busy = %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	syscall.Kill(-push.Process.Pid, syscall.SIGKILL) // the client and its helpers go away
	push.Wait()
	if ps := waitProcs(t, marker, 15*time.Second, func(ps []string) bool { return len(ps) == 0 }); len(ps) > 0 {
		t.Fatalf("after the client went away, the server's processes live on:\n%s", strings.Join(ps, "\n"))
	}

	// A push whose client waits: the deadline ends it.
	push = gitCmd("-C", "c", "push", pushURL, "main:refs/heads/hive/instance_0/y")
	out, err := push.CombinedOutput()
	if err == nil { // with the reason when git had not begun its answer
		t.Errorf("a push past its deadline succeeded:\n%s", out)
	}
	if ps := waitProcs(t, marker, 15*time.Second, func(ps []string) bool { return len(ps) == 0 }); len(ps) > 0 {
		t.Fatalf("after the deadline, the server's processes live on:\n%s", strings.Join(ps, "\n"))
	}
	for name, want := range map[string]string{
		`hive_git_killed_total{reason="client_gone"}`: "1",
		`hive_git_killed_total{reason="deadline"}`:    "1",
		`hive_git_busy_total`:                         "1",
		`hive_git_backends`:                           "0",
	} {
		if got := metric(t, h.url, name); got != want {
			t.Errorf("%s = %q, want %s", name, got, want)
		}
	}
	// The server is idle: no process of its own, and next to no CPU.
	before := cpuTime()
	time.Sleep(time.Second)
	if used := cpuTime() - before; used > 250*time.Millisecond {
		t.Errorf("the idle server used %v of CPU in 1 s", used)
	}
	if ps := procs(t, marker); len(ps) > 0 {
		t.Errorf("processes left:\n%s", strings.Join(ps, "\n"))
	}
}
