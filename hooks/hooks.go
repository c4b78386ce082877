// Package hooks makes plain git run hive's validator: it writes the git
// hooks (pre-receive on a hub, pre-push in a working hive, and the
// pre-receive of hive serve) and is the gate those hooks run.
package hooks

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/registry"
)

// Hook names.
const (
	PreReceive = "pre-receive" // a hub: gates what others push to it
	PrePush    = "pre-push"    // a working hive: verifies what it pushes
)

// marker is the line that tells a hook hive wrote from another one.
const marker = "# installed by hive hooks install: the validator gates every update"

// ErrNotOurs reports a hook in the way that hive did not write.
var ErrNotOurs = errors.New("the hook is not hive's")

// Quote quotes s as one word for sh: inside single quotes nothing is
// special, and each single quote of s is closed, escaped and reopened:
//
//	it's  ->  'it'\''s'
//
// No path, however odd (spaces, quotes, $(...), backticks, newlines), runs
// as code.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Script is the hook named hook that runs bin's `hive hook <hook>`.
func Script(bin, hook string) []byte {
	return []byte("#!/bin/sh\n" + marker + "\nexec " + Quote(bin) + " hook " + hook + " \"$@\"\n")
}

// ServedScript is the pre-receive hook of hive serve. The server names
// the binary and the authenticated pusher in the hook's environment
// (BinaryEnv, InstanceEnv, RoleEnv); with --served, the gate refuses a push
// that comes without a pusher.
func ServedScript() []byte {
	return []byte("#!/bin/sh\nexec \"$" + BinaryEnv + "\" hook " + PreReceive + " --served\n")
}

// Hook returns the hook that gates a hive: pre-receive for a bare
// repository (a hub), pre-push for one with a working tree.
func Hook(s *registry.Store) string {
	if s.WorkDir() == "" {
		return PreReceive
	}
	return PrePush
}

// Install writes the hook named hook into gitDir/hooks, running bin. It
// replaces a hook hive wrote; another one only with force (else
// ErrNotOurs). The file is written whole and renamed into place, so a
// symlink at that name is replaced, not followed.
func Install(gitDir, hook, bin string, force bool) (string, error) {
	if hook != PreReceive && hook != PrePush {
		return "", fmt.Errorf("install hook %q: hive writes only %s and %s", hook, PreReceive, PrePush)
	}
	dir := filepath.Join(gitDir, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, hook)
	if old, err := os.ReadFile(p); err == nil && !strings.Contains(string(old), marker) && !force {
		return p, fmt.Errorf("%s exists: %w", p, ErrNotOurs)
	}
	if err := writeExecutable(p, Script(bin, hook)); err != nil {
		return p, fmt.Errorf("install hook %s: %w", p, err)
	}
	return p, nil
}

// writeExecutable writes an executable file whole: a temporary file in the
// same folder, renamed over p.
func writeExecutable(p string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o755)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// InstallServed writes hive serve's pre-receive hook into dir, a folder of
// the server's own that it names in core.hooksPath.
func InstallServed(dir string) error {
	return writeExecutable(filepath.Join(dir, PreReceive), ServedScript())
}

// ReadUpdates reads the ref updates git gives a pre-receive hook, one
// "old new ref" line each.
func ReadUpdates(r io.Reader) ([]registry.Update, error) {
	var out []registry.Update
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || !isHash(f[0]) || !isHash(f[1]) {
			return nil, fmt.Errorf("pre-receive input line %d: want \"old new ref\", got %q", n, truncate(sc.Text(), 200))
		}
		out = append(out, registry.Update{Old: plumbing.NewHash(f[0]), New: plumbing.NewHash(f[1]), Ref: plumbing.ReferenceName(f[2])})
	}
	return out, sc.Err()
}

// readPushed reads the commits a pre-push hook is asked to push: the
// local object of each "local-ref local-sha remote-ref remote-sha" line,
// except deletions.
func readPushed(r io.Reader) ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || !isHash(f[1]) || !isHash(f[3]) {
			return nil, fmt.Errorf("pre-push input line %d: want \"local-ref local-sha remote-ref remote-sha\", got %q", n, truncate(sc.Text(), 200))
		}
		if h := plumbing.NewHash(f[1]); !h.IsZero() {
			out = append(out, h)
		}
	}
	return out, sc.Err()
}

func isHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
