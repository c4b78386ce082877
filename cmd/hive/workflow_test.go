package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/hive-dev/hive/registry"
)

// TestWorkflowAsOnGitHub runs the scripts of the workflow that `hive init
// --github` writes, as GitHub runs them on pull_request_target: in a clone
// of the base branch, with the pull request's merge (refs/pull/N/merge,
// made here with git as GitHub makes it) on the origin. A pull request
// that adds a skill passes; one that changes the workflow without a
// maintainer's signature, or adds a second workflow, is refused by the
// step that runs hive verify.
func TestWorkflowAsOnGitHub(t *testing.T) {
	e := newEnv(t, "maint", "instance_a")
	e.run("init", "--github", "--maintainer", "maint", "origin")
	e.run("--repo", "origin", "key", "add", "--instance", "maint")
	e.run("--repo", "origin", "key", "add", "--instance", "instance_a")
	wf, err := os.ReadFile(filepath.Join(e.dir, "origin", registry.WorkflowPath))
	if err != nil {
		t.Fatal(err)
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		c := e.cmd()
		c.Path, c.Args, c.Dir = mustLookPath(t, "git"), append([]string{"git"}, args...), filepath.Join(e.dir, dir)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	git(".", "clone", "-q", "origin", "contrib")
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(e.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("skill.json", `{"intent":"Parse a CSV file","reasoning_path":[{"step":1,"action":"use_csv_module"}],"result":"import csv","confidence":0.98,"verification_score":1,"lineage":[],"created_at":"2025-12-13T03:45:00Z","instance_id":"instance_a"}`)

	for i, pr := range []struct {
		name   string
		change func() string // makes the pull request's commits; returns its ref in contrib
		refuse string        // the rule the verify step reports; "" to pass
	}{
		{"a skill", func() string {
			e.run("--repo", "contrib", "add", "skill.json")
			return "main"
		}, ""},
		{"an unsigned change of the workflow", func() string {
			write("contrib/"+registry.WorkflowPath, strings.Replace(string(wf), "contents: read", "contents: write", 1))
			git("contrib", "commit", "-qam", "widen the token")
			return "HEAD"
		}, "workflow-unauthorised"},
		{"a second workflow", func() string {
			write("contrib/.github/workflows/ci.yml", "on: pull_request_target\njobs: {}\n")
			git("contrib", "add", ".")
			git("contrib", "commit", "-qm", "add ci")
			return "HEAD"
		}, "path-not-allowed"},
		{"the workflow replaced by a symlink", func() string {
			p := filepath.Join(e.dir, "contrib", registry.WorkflowPath)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../../hive.json", p); err != nil {
				t.Fatal(err)
			}
			git("contrib", "commit", "-qam", "link")
			return "HEAD"
		}, "mode-not-allowed"},
	} {
		t.Run(pr.name, func(t *testing.T) {
			e.t = t
			n := string(rune('1' + i))
			if i > 0 {
				git("contrib", "checkout", "-q", "-B", "pr"+n, "origin/main")
			}
			ref := pr.change()
			git("contrib", "push", "-q", "origin", ref+":refs/pull/"+n+"/head")
			// GitHub's test merge of the pull request into main.
			git(".", "clone", "-q", "origin", "gh"+n)
			git("gh"+n, "fetch", "-q", "origin", "refs/pull/"+n+"/head")
			git("gh"+n, "-c", "user.name=gh", "-c", "user.email=gh@example.com", "merge", "-q", "--no-ff", "-m", "Merge pull request", "FETCH_HEAD")
			git("gh"+n, "push", "-q", "origin", "HEAD:refs/pull/"+n+"/merge")
			// The runner: a checkout of the base branch, then the steps.
			git(".", "clone", "-q", "origin", "runner"+n)
			out, failed := runWorkflow(t, e, wf, filepath.Join(e.dir, "runner"+n), n)
			switch {
			case pr.refuse == "" && failed != "":
				t.Fatalf("step %q failed:\n%s", failed, out)
			case pr.refuse == "" && (!strings.Contains(out, "hive: valid: ") || !strings.Contains(out, " 1 trace")):
				t.Fatalf("the verify step did not check the pull request's skill:\n%s", out)
			case pr.refuse != "" && failed != "verify the pull request's commits against the state they extend":
				t.Fatalf("failed step = %q, want the verify step to refuse with %s:\n%s", failed, pr.refuse, out)
			case pr.refuse != "" && !strings.Contains(out, ": "+pr.refuse+": "):
				t.Fatalf("the verify step did not report %s:\n%s", pr.refuse, out)
			}
		})
	}
}

// runWorkflow runs the run steps of wf meant for pull_request_target, in
// order, with bash -e in dir, as GitHub would for pull request number pr
// (the step that installs hive is left out: hive is on PATH). It returns
// the output and the name of the step that failed, if one did.
func runWorkflow(t *testing.T, e *env, wf []byte, dir, pr string) (string, string) {
	t.Helper()
	w, errs := actionlint.Parse(wf)
	if len(errs) > 0 {
		t.Fatalf("parse the workflow: %v", errs[0])
	}
	expr := map[string]string{"${{ github.event.pull_request.number }}": pr, "${{ github.token }}": "t0ken"}
	var out bytes.Buffer
	for _, job := range w.Jobs {
		for _, st := range job.Steps {
			run, ok := st.Exec.(*actionlint.ExecRun)
			if !ok || strings.Contains(run.Run.Value, "go install") {
				continue
			}
			if st.If != nil && !strings.Contains(st.If.Value, "pull_request_target") {
				continue
			}
			c := e.cmd()
			c.Path, c.Args, c.Dir = mustLookPath(t, "bash"), []string{"bash", "-e", "-c", run.Run.Value}, dir
			c.Env = append(c.Env, "PATH="+filepath.Dir(e.bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
			if st.Env != nil {
				for _, v := range st.Env.Vars {
					val, ok := expr[v.Value.Value]
					if !ok {
						t.Fatalf("step %s: no value for %s", st.Name.Value, v.Value.Value)
					}
					c.Env = append(c.Env, v.Name.Value+"="+val)
				}
			}
			c.Stdout, c.Stderr = &out, &out
			if err := c.Run(); err != nil {
				return out.String(), st.Name.Value
			}
		}
	}
	return out.String(), ""
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: %v", name, err)
	}
	return p
}
