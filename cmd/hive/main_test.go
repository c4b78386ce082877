package main

import (
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hive-dev/hive/server"
	"github.com/hive-dev/hive/tokens"
)

func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(m, map[string]func() int{
		"hive": func() int { return run(os.Args, os.Stdin, os.Stdout, os.Stderr) },
	}))
}

// TestScripts runs the end-to-end scripts in testdata/script against the
// real hive binary and, where interoperability matters, the real git.
func TestScripts(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the scripts prove interoperability with it")
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("HIVE_KEY_DIR", "")
			for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"} {
				env.Setenv(k, "t")
			}
			for _, k := range []string{"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"} {
				env.Setenv(k, "t@example.com")
			}
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// exits N CMD ARGS... runs CMD and requires exit code N.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits N command [args...]")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("%s: %v", args[1], err)
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
				}
			},
			// serve DIR STATE serves the hive DIR, with the tokens kept in
			// STATE, on a loopback port until the script ends, and sets
			// $SERVER to its URL.
			"serve": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: serve DIR STATE")
				}
				bin, err := exec.LookPath("hive") // the script's hive, which the pre-receive hook runs
				ts.Check(err)
				srv, err := server.New(ts.MkAbs(args[0]), server.Options{HiveBinary: bin, Tokens: tokens.Open(ts.MkAbs(args[1]))})
				ts.Check(err)
				hs := httptest.NewServer(srv.Handler())
				ts.Defer(func() { hs.Close(); srv.Close() })
				ts.Setenv("SERVER", hs.URL)
			},
			// bigfile NAME BYTES writes a trace-shaped file of at least BYTES bytes.
			"bigfile": func(ts *testscript.TestScript, neg bool, args []string) {
				n, err := strconv.Atoi(args[1])
				ts.Check(err)
				body := `{"confidence":0.98,"created_at":"2025-12-13T03:45:00Z","instance_id":"instance_a","intent":"big","lineage":[],"reasoning_path":[{"action":"a","step":1}],"result":"` +
					strings.Repeat("x", n) + `","verification_score":1}`
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(body), 0o644))
			},
			// sparse NAME BYTES makes a sparse file of BYTES bytes (no disk used).
			"sparse": func(ts *testscript.TestScript, neg bool, args []string) {
				n, err := strconv.ParseInt(args[1], 10, 64)
				ts.Check(err)
				f, err := os.Create(ts.MkAbs(args[0]))
				ts.Check(err)
				ts.Check(f.Truncate(n))
				ts.Check(f.Close())
			},
			// badutf8 NAME writes the seed trace with an invalid UTF-8 byte in its intent.
			"badutf8": func(ts *testscript.TestScript, neg bool, args []string) {
				body := "{\"confidence\":0.98,\"created_at\":\"2025-12-13T03:45:00Z\",\"instance_id\":\"instance_a\",\"intent\":\"bad \xff byte\",\"lineage\":[],\"reasoning_path\":[{\"action\":\"a\",\"step\":1}],\"result\":\"r\",\"verification_score\":1}"
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(body), 0o644))
			},
			// rawcommit REPO AUTHOR makes a commit on REPO's main, with
			// main's tree, whose author line is AUTHOR (Go escapes such as
			// \x00 allowed), as git hash-object --literally writes what git
			// itself would refuse, and moves main to it.
			"rawcommit": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: rawcommit REPO AUTHOR")
				}
				author, err := strconv.Unquote(`"` + args[1] + `"`)
				ts.Check(err)
				git := func(stdin string, a ...string) string {
					cmd := exec.Command("git", append([]string{"--git-dir", gitDirOf(ts.MkAbs(args[0]))}, a...)...)
					cmd.Stdin = strings.NewReader(stdin)
					out, err := cmd.CombinedOutput()
					if err != nil {
						ts.Fatalf("git %s: %v\n%s", a[0], err, out)
					}
					return strings.TrimSpace(string(out))
				}
				body := "tree " + git("", "rev-parse", "main^{tree}") + "\nparent " + git("", "rev-parse", "main") +
					"\nauthor " + author + "\ncommitter c <c@example.com> 1767322000 +0000\n\nraw\n"
				id := git(body, "hash-object", "-t", "commit", "--literally", "-w", "--stdin")
				git("", "update-ref", "refs/heads/main", id)
			},
		},
	})
}

// gitDirOf is the git folder of a repository: dir/.git, or dir when bare.
func gitDirOf(dir string) string {
	if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
		return filepath.Join(dir, ".git")
	}
	return dir
}

// The history walks lower the collector's target, unless the user set
// GOGC.
func TestWalkGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	walkGC()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC unset: walkGC left the GC percent at %d, want 50", got)
	}
	t.Setenv("GOGC", "300")
	walkGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: walkGC changed the GC percent to %d", got)
	}
}
