// Package gitdir finds the git repository a folder is in, as git does:
// the folder itself, else its parents, up to the filesystem's root or a
// folder of GIT_CEILING_DIRECTORIES.
package gitdir

import (
	"os"
	"path/filepath"
	"strings"
)

// NotFoundError is the answer for a folder in no git repository.
type NotFoundError struct {
	Start   string // the folder the search began in, absolute
	Ceiling string // the ceiling that stopped it, if one did
}

func (e *NotFoundError) Error() string {
	if e.Ceiling != "" {
		return "no .git in " + e.Start + " or any parent below " + e.Ceiling + " (GIT_CEILING_DIRECTORIES)"
	}
	return "no .git in " + e.Start + " or any parent"
}

// Find returns the top folder of the repository that holds start: the
// nearest of start and its parents that has a .git (a folder, or a file
// naming one) or is a bare repository. Like git, it does not go up into
// a folder of ceilings (as GIT_CEILING_DIRECTORIES: absolute paths,
// separated as PATH's are), though it looks in start if start is one.
func Find(start string, ceilings string) (string, error) {
	abs, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	stop := ceiling(abs, ceilings)
	for dir := abs; ; {
		if isRepo(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", &NotFoundError{Start: abs}
		}
		if parent == stop {
			return "", &NotFoundError{Start: abs, Ceiling: stop}
		}
		dir = parent
	}
}

// ceiling is the nearest folder of ceilings that is a proper ancestor of
// abs, or "".
func ceiling(abs, ceilings string) string {
	best := ""
	for _, c := range filepath.SplitList(ceilings) {
		if c == "" || !filepath.IsAbs(c) {
			continue
		}
		c = filepath.Clean(c)
		if real, err := filepath.EvalSymlinks(c); err == nil {
			c = real
		}
		if c == abs || !within(abs, c) {
			continue
		}
		if len(c) > len(best) {
			best = c
		}
	}
	return best
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// isRepo reports whether dir has a .git, or is a git folder itself (a
// bare repository: HEAD, objects and refs, as git checks).
func isRepo(dir string) bool {
	if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
		return true
	}
	head, err := os.Stat(filepath.Join(dir, "HEAD"))
	if err != nil || !head.Mode().IsRegular() {
		return false
	}
	for _, sub := range []string{"objects", "refs"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}
