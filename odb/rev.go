package odb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/gitfmt"
)

// MaxCommitSize bounds the commits and tags read to walk history.
const MaxCommitSize = 1 << 20

// ReadCommitHeader reads commit h's tree, parents and time; a commit
// that does not parse is a *CorruptError.
func ReadCommitHeader(r Reader, h plumbing.Hash) (gitfmt.CommitHeader, error) {
	b, err := r.Read(plumbing.CommitObject, h, MaxCommitSize)
	if err != nil {
		return gitfmt.CommitHeader{}, err
	}
	c, err := gitfmt.ParseCommitHeader(b)
	if err != nil {
		return c, &CorruptError{Object: h, Err: err}
	}
	return c, nil
}

// Resolve turns a revision into an object name, as git rev-parse does for
// the forms people type: a full or abbreviated (4 digits or more) object
// name, a reference by its full or short name (main, origin/main, v1, HEAD,
// @), each followed by any of ~N, ^N, ~, ^, ^{} and ^{commit} (main~2^2).
// References win over abbreviations, as in git. Unknown revisions wrap
// ErrNotFound.
func Resolve(db DB, rev string) (plumbing.Hash, error) {
	base, ops := splitRev(rev)
	if base == "" {
		return plumbing.ZeroHash, fmt.Errorf("revision %q: %w", rev, ErrNotFound)
	}
	h, err := resolveBase(db, base)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("revision %q: %w", rev, err)
	}
	for ops != "" {
		var op string
		var n int
		op, n, ops, err = nextOp(ops)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("revision %q: %w", rev, err)
		}
		switch op {
		case "peel":
			h, err = peel(db, h)
		case "~":
			for i := 0; i < n && err == nil; i++ {
				h, err = parent(db, h, 1)
			}
		case "^":
			if n == 0 {
				h, err = peel(db, h)
			} else {
				h, err = parent(db, h, n)
			}
		}
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("revision %q: %w", rev, err)
		}
	}
	return h, nil
}

// splitRev splits a revision into its base and its suffix operators.
func splitRev(rev string) (base, ops string) {
	i := strings.IndexAny(rev, "~^")
	if i < 0 {
		return rev, ""
	}
	return rev[:i], rev[i:]
}

// nextOp reads one suffix operator: "peel" for ^{} and ^{commit}, or ~ or
// ^ with its number (1 when none is given).
func nextOp(ops string) (op string, n int, rest string, err error) {
	c := ops[0]
	ops = ops[1:]
	if c == '^' && strings.HasPrefix(ops, "{") {
		end := strings.IndexByte(ops, '}')
		if end < 0 {
			return "", 0, "", fmt.Errorf("unterminated ^{")
		}
		switch ops[1:end] {
		case "", "commit":
			return "peel", 0, ops[end+1:], nil
		}
		return "", 0, "", fmt.Errorf("^{%s} is not supported", ops[1:end])
	}
	j := 0
	for j < len(ops) && ops[j] >= '0' && ops[j] <= '9' {
		j++
	}
	n = 1
	if j > 0 {
		if n, err = strconv.Atoi(ops[:j]); err != nil || n > 1<<20 {
			return "", 0, "", fmt.Errorf("bad number %q", ops[:j])
		}
	}
	return string(c), n, ops[j:], nil
}

// resolveBase resolves a revision without suffixes.
func resolveBase(db DB, s string) (plumbing.Hash, error) {
	if s == "@" {
		s = "HEAD"
	}
	if len(s) == 40 && isHex(strings.ToLower(s)) {
		return plumbing.NewHash(strings.ToLower(s)), nil
	}
	// git's order: NAME, refs/NAME, refs/tags/NAME, refs/heads/NAME,
	// refs/remotes/NAME, refs/remotes/NAME/HEAD.
	for _, f := range []string{"%s", "refs/%s", "refs/tags/%s", "refs/heads/%s", "refs/remotes/%s", "refs/remotes/%s/HEAD"} {
		name := plumbing.ReferenceName(fmt.Sprintf(f, s))
		if name != "HEAD" && !strings.HasPrefix(string(name), "refs/") || CheckRefName(name) != nil {
			continue
		}
		h, err := db.Ref(name)
		if err == nil {
			return h, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return plumbing.ZeroHash, err
		}
	}
	if len(s) >= 4 && len(s) < 40 && isHex(strings.ToLower(s)) {
		hs, err := db.Abbrev(strings.ToLower(s), 2)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		switch len(hs) {
		case 1:
			return hs[0], nil
		case 2:
			return plumbing.ZeroHash, fmt.Errorf("short object name %s is ambiguous", s)
		}
	}
	return plumbing.ZeroHash, ErrNotFound
}

// peel follows annotated tags to the commit they name.
func peel(r Reader, h plumbing.Hash) (plumbing.Hash, error) {
	for range maxSymDepth {
		_, err := r.Read(plumbing.CommitObject, h, MaxCommitSize)
		var te *TypeError
		if !errors.As(err, &te) || te.Got != plumbing.TagObject {
			return h, err
		}
		b, err := r.Read(plumbing.TagObject, h, MaxCommitSize)
		if err != nil {
			return h, err
		}
		if h, _, err = gitfmt.ParseTagHeader(b); err != nil {
			return h, &CorruptError{Object: h, Err: err}
		}
	}
	return h, fmt.Errorf("tags of tags nested too deep at %s", h)
}

// parent returns the n-th parent (from 1) of commit h.
func parent(r Reader, h plumbing.Hash, n int) (plumbing.Hash, error) {
	h, err := peel(r, h)
	if err != nil {
		return h, err
	}
	c, err := ReadCommitHeader(r, h)
	if err != nil {
		return h, err
	}
	if n > len(c.Parents) {
		return h, fmt.Errorf("commit %s has %d parents, not %d: %w", h.String()[:12], len(c.Parents), n, ErrNotFound)
	}
	return c.Parents[n-1], nil
}
