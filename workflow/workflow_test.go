package workflow

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// TestActionlint lints the workflow, as written for "latest" and for a
// release, and the copy in docs/, with actionlint (expressions, contexts,
// action inputs, untrusted inputs in scripts, permissions).
func TestActionlint(t *testing.T) {
	docs, err := os.ReadFile("../docs/hive-verify.yml")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"latest": Bytes("latest"), "release": Bytes("v1.2.0"), "docs": docs} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Oneline: true})
			if err != nil {
				t.Fatal(err)
			}
			errs, err := l.Lint(".github/workflows/hive-verify.yml", b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) > 0 {
				t.Errorf("actionlint found %d problems:\n%s", len(errs), out.String())
			}
		})
	}
}

// TestActionlintCatches shows the lint is live: a workflow that puts a pull
// request's title into a script is refused.
func TestActionlintCatches(t *testing.T) {
	bad := bytes.Replace(Bytes("latest"), []byte("run: hive verify --full"),
		[]byte(`run: echo "${{ github.event.pull_request.title }}"`), 1)
	l, err := actionlint.NewLinter(&bytes.Buffer{}, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint("hive-verify.yml", bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Fatal("actionlint accepted an untrusted pull request title in a script")
	}
}

// TestDocsCopy: docs/hive-verify.yml is the workflow `hive init --github`
// writes for "latest", byte for byte.
func TestDocsCopy(t *testing.T) {
	docs, err := os.ReadFile("../docs/hive-verify.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, Bytes("latest")) {
		t.Error("docs/hive-verify.yml differs from workflow.Bytes(\"latest\"); regenerate it: sed 's/@HIVE_VERSION/@latest/' workflow/hive-verify.yml > docs/hive-verify.yml")
	}
}

// TestSafeOnPullRequestTarget checks what makes the workflow safe against
// the pull requests it judges: it runs only on pull_request_target and
// push to main; its token can only read; it checks out the base branch
// only, without persisting credentials; no script holds an expression (the
// pull request number reaches scripts through the environment); and the
// pull request's commits are only fetched and read by hive verify.
func TestSafeOnPullRequestTarget(t *testing.T) {
	w, errs := actionlint.Parse(Bytes("latest"))
	if len(errs) > 0 {
		t.Fatalf("parse: %v", errs[0])
	}
	var events []string
	for _, e := range w.On {
		events = append(events, e.EventName())
	}
	if strings.Join(events, ",") != "pull_request_target,push" {
		t.Errorf("events = %v, want pull_request_target and push", events)
	}
	if w.Permissions == nil || w.Permissions.All != nil || len(w.Permissions.Scopes) != 1 ||
		w.Permissions.Scopes["contents"] == nil || w.Permissions.Scopes["contents"].Value.Value != "read" {
		t.Error("permissions: want exactly contents: read")
	}
	verified := false
	for _, job := range w.Jobs {
		if job.Permissions != nil {
			t.Errorf("job %s widens permissions", job.ID.Value)
		}
		for _, st := range job.Steps {
			switch ex := st.Exec.(type) {
			case *actionlint.ExecAction:
				uses := ex.Uses.Value
				if strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "docker://") {
					t.Errorf("step uses %s: only published actions", uses)
				}
				if strings.HasPrefix(uses, "actions/checkout@") {
					for _, in := range []string{"ref", "repository"} {
						if ex.Inputs[in] != nil {
							t.Errorf("checkout sets %s: it must check out the base branch only", in)
						}
					}
					if p := ex.Inputs["persist-credentials"]; p == nil || p.Value.Value != "false" {
						t.Error("checkout must not persist credentials")
					}
				}
			case *actionlint.ExecRun:
				run := ex.Run.Value
				if strings.Contains(run, "${{") {
					t.Errorf("a script holds an expression (pass values through env): %q", run)
				}
				for _, bad := range []string{"checkout", "make", "go run", "go build", "bash ./", "sh ./", "source "} {
					if strings.Contains(run, bad) {
						t.Errorf("a script may run something of the pull request (%q): %q", bad, run)
					}
				}
				if strings.Contains(run, "hive verify --base") {
					verified = true
				}
			}
		}
	}
	if !verified {
		t.Error("no step runs hive verify --base")
	}
}

func TestVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.0":                             "v1.2.0",
		"v1.2.0-rc.1":                        "latest",
		"v0.0.0-20260101000000-abcdefabcdef": "latest",
		"v1.2.0+dirty":                       "latest",
		"(devel)":                            "latest",
		"":                                   "latest",
	} {
		if got := Version(in); got != want {
			t.Errorf("Version(%q) = %q, want %q", in, got, want)
		}
	}
	if !bytes.Contains(Bytes("v1.2.0"), []byte("github.com/hive-dev/hive/cmd/hive@v1.2.0\n")) {
		t.Error("Bytes(v1.2.0) does not install v1.2.0")
	}
}
