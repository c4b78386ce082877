package server_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGitAdvertisesBranchesOnly: a clone or ls-remote sees the hive's
// branches and tags, never its internal refs (refs/hive/*) or other local
// ones, in either version of git's protocol; a push to a hidden ref is
// refused by git.
func TestGitAdvertisesBranchesOnly(t *testing.T) {
	h := newHive(t, 2)
	for _, ref := range []string{"refs/hive/remotes/origin/main", "refs/remotes/origin/main", "refs/notes/x", "refs/tags/v1", "refs/heads/hive/alice/x"} {
		if out, err := exec.Command("git", "-C", h.dir, "update-ref", ref, "main").CombinedOutput(); err != nil {
			t.Fatalf("update-ref %s: %v %s", ref, err, out)
		}
	}
	for _, v := range []string{"0", "2"} {
		out, err := exec.Command("git", "-c", "protocol.version="+v, "ls-remote", h.url+"/hive.git").CombinedOutput()
		if err != nil {
			t.Fatalf("git ls-remote (protocol %s): %v %s", v, err, out)
		}
		var refs []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				refs = append(refs, f[1])
			}
		}
		if got, want := strings.Join(refs, " "), "HEAD refs/heads/hive/alice/x refs/heads/main refs/tags/v1"; got != want {
			t.Errorf("git ls-remote (protocol %s) = %s, want %s", v, got, want)
		}
	}
}
