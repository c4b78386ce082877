package hooks_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/hooks"
	"github.com/hive-dev/hive/registry"
)

// oddNames are folder names a hook must survive: each would run code, or
// split the word, if the path were not quoted for sh.
var oddNames = []string{
	"plain",
	"with space",
	`single'quote`,
	`double"quote`,
	"$(touch pwned-dollar)",
	"`touch pwned-backtick`",
	`$HOME and ${IFS}`,
	"semi;touch pwned-semi",
	`back\slash`,
	"new\nline",
	`'$(touch pwned-mixed)'"` + "`touch pwned-mixed2`\"",
}

// TestScriptQuoting runs the hook script that Install writes, with sh,
// for a binary under each odd folder: the binary runs with the hook's
// arguments and nothing else runs.
func TestScriptQuoting(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, name := range oddNames {
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			dir := filepath.Join(work, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, "hive")
			out := filepath.Join(work, "args")
			fake := "#!/bin/sh\nprintf '%s|' \"$@\" > " + hooks.Quote(out) + "\n"
			if err := os.WriteFile(bin, []byte(fake), 0o755); err != nil {
				t.Fatal(err)
			}
			gitDir := filepath.Join(work, "repo.git")
			p, err := hooks.Install(gitDir, hooks.PrePush, bin, false)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(p, "origin", "url with space")
			cmd.Dir = work
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("running the hook: %v\n%s", err, b)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("the hook did not run the binary at %q: %v", bin, err)
			}
			if want := "hook|pre-push|origin|url with space|"; string(got) != want {
				t.Errorf("the binary got %q, want %q", got, want)
			}
			ents, _ := os.ReadDir(work)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), "pwned") {
					t.Errorf("the hook ran injected code: %s exists", e.Name())
				}
			}
		})
	}
}

func TestInstall(t *testing.T) {
	gitDir := t.TempDir()
	p, err := hooks.Install(gitDir, hooks.PreReceive, "/usr/bin/hive", false)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("Install wrote %s: %v, %v; want an executable file", p, fi, err)
	}
	// Installing again replaces hive's own hook.
	if _, err := hooks.Install(gitDir, hooks.PreReceive, "/opt/hive", false); err != nil {
		t.Errorf("Install over hive's own hook = %v, want nil", err)
	}
	// Another hook is kept unless forced.
	other := []byte("#!/bin/sh\necho mine\n")
	os.WriteFile(p, other, 0o755)
	if _, err := hooks.Install(gitDir, hooks.PreReceive, "/opt/hive", false); !errors.Is(err, hooks.ErrNotOurs) {
		t.Errorf("Install over another hook = %v, want ErrNotOurs", err)
	}
	if b, _ := os.ReadFile(p); string(b) != string(other) {
		t.Errorf("a refused Install changed the hook to %q", b)
	}
	if _, err := hooks.Install(gitDir, hooks.PreReceive, "/opt/hive", true); err != nil {
		t.Errorf("Install --force = %v", err)
	}
	// A symlink at the hook's name is replaced, not written through.
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("keep"), 0o644)
	os.Remove(p)
	os.Symlink(target, p)
	if _, err := hooks.Install(gitDir, hooks.PreReceive, "/opt/hive", true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("Install wrote through a symlink: target now %q", b)
	}
	if _, err := hooks.Install(gitDir, "post-update", "/opt/hive", true); err == nil {
		t.Errorf("Install(post-update) = nil, want an error")
	}
}

func TestReadUpdates(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	got, err := hooks.ReadUpdates(strings.NewReader(a + " " + b + " refs/heads/main\n" + b + " " + a + " refs/heads/hive/x/1\n"))
	want := []registry.Update{
		{Old: plumbing.NewHash(a), New: plumbing.NewHash(b), Ref: "refs/heads/main"},
		{Old: plumbing.NewHash(b), New: plumbing.NewHash(a), Ref: "refs/heads/hive/x/1"},
	}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ReadUpdates = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"x y z\n", a + " " + b + "\n", a + " " + b + " r extra\n", strings.ToUpper(a) + " " + b + " r\n"} {
		if _, err := hooks.ReadUpdates(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadUpdates(%q) = nil error, want one", bad)
		}
	}
}

func TestServedWriter(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want *registry.Writer
	}{
		{map[string]string{hooks.InstanceEnv: "alice", hooks.RoleEnv: hooks.RoleInstance}, &registry.Writer{Instance: "alice"}},
		{map[string]string{hooks.InstanceEnv: "maint", hooks.RoleEnv: hooks.RoleMaintainer}, &registry.Writer{Instance: "maint", Maintainer: true}},
		{map[string]string{}, nil},
		{map[string]string{hooks.InstanceEnv: "alice"}, nil},
		{map[string]string{hooks.InstanceEnv: "Alice!", hooks.RoleEnv: hooks.RoleInstance}, nil},
		{map[string]string{hooks.InstanceEnv: "alice", hooks.RoleEnv: "admin"}, nil},
	} {
		got, err := hooks.ServedWriter(env(tc.env))
		if tc.want == nil {
			if !errors.Is(err, hooks.ErrNoPusher) {
				t.Errorf("ServedWriter(%v) = %v, %v; want ErrNoPusher", tc.env, got, err)
			}
			continue
		}
		if err != nil || *got != *tc.want {
			t.Errorf("ServedWriter(%v) = %v, %v; want %v", tc.env, got, err, tc.want)
		}
	}
	w := registry.Writer{Instance: "maint", Maintainer: true}
	m := map[string]string{}
	for _, kv := range hooks.Env("/bin/hive", w) {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	if got, err := hooks.ServedWriter(env(m)); err != nil || *got != w || m[hooks.BinaryEnv] != "/bin/hive" {
		t.Errorf("ServedWriter(Env(%v)) = %v, %v", w, got, err)
	}
}
