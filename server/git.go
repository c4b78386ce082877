package server

import (
	"net/http"
	"net/http/cgi"
	"os/exec"
	"strings"
)

// gitHandler serves git's smart HTTP protocol through git http-backend:
// clone and fetch as git serves them, and pushes gated by the pre-receive
// hook, which runs the validator on the pushed objects while git still
// holds them in quarantine. Refs move only if it passes: main only by
// fast-forward, submission branches hive/* on top of main, nothing else.
func (s *Server) gitHandler(prefix string) http.Handler {
	git, err := exec.LookPath("git")
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusServiceUnavailable, "git_unavailable", "git is not installed on the server", nil)
		})
	}
	env := []string{
		"GIT_PROJECT_ROOT=" + s.dir,
		"GIT_HTTP_EXPORT_ALL=1",
		"GIT_CONFIG_COUNT=3",
		"GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
		"GIT_CONFIG_KEY_1=core.hooksPath", "GIT_CONFIG_VALUE_1=" + s.hooks,
		// A served working hive keeps its working tree and index in step
		// with main, as hive does.
		"GIT_CONFIG_KEY_2=receive.denyCurrentBranch", "GIT_CONFIG_VALUE_2=updateInstead",
	}
	h := &cgi.Handler{Path: git, Args: []string{"http-backend"}, Env: env, InheritEnv: []string{"PATH", "HOME", "TMPDIR"}, Root: prefix}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.opts.MaxBody
		if strings.HasSuffix(r.URL.Path, "/git-receive-pack") || strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			limit = s.opts.MaxPush
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

// isGitPath reports whether a path (after the git prefix) is one of git's
// smart HTTP endpoints.
func isGitPath(p string) bool {
	return p == "/info/refs" || p == "/git-upload-pack" || p == "/git-receive-pack" || p == "/HEAD"
}
