package server_test

import (
	"io"
	"net/http"
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

// TestFetchBodyLimit: a fetch's request (wants and haves) over 10 MiB is
// refused before git starts, whether its Content-Length says so or its
// body runs past it; a push keeps its own, larger limit.
func TestFetchBodyLimit(t *testing.T) {
	h := newHive(t, 1)
	const limit = 10 << 20
	for _, tc := range []struct {
		name    string
		path    string
		n       int64
		chunked bool
		want    int
	}{
		{"declared over the limit", "/hive.git/git-upload-pack", limit + 1, false, 413},
		{"chunked over the limit", "/git-upload-pack", limit + 1, true, 413},
		{"at the limit: git reads it", "/git-upload-pack", limit, false, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", h.url+tc.path, io.LimitReader(zeros{}, tc.n))
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tc.n
			if tc.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
			resp, b := send(t, req)
			if resp.StatusCode != tc.want {
				t.Errorf("POST %s of %d bytes = %d %.200s, want %d", tc.path, tc.n, resp.StatusCode, b, tc.want)
			}
			if tc.want == 413 && !strings.Contains(b, "hive: the request body is over 10485760 bytes") {
				t.Errorf("POST %s of %d bytes: %q, want the limit named", tc.path, tc.n, b)
			}
		})
	}
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
