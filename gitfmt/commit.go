package gitfmt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// ErrCommit reports a commit or tag whose header is malformed.
var ErrCommit = errors.New("malformed commit")

// CommitHeader is what walks of the commit graph need of a commit: its
// tree, its parents and its committer's time (Unix seconds).
type CommitHeader struct {
	Tree    plumbing.Hash
	Parents []plumbing.Hash
	Time    int64
}

// ParseCommitHeader reads a commit's tree, parent and committer lines:
// "tree HEX", then "parent HEX" lines, then author and committer lines
// (the committer's time is the number before its time zone). It checks no
// more than a walk needs; a commit's full strictness is fsck's.
func ParseCommitHeader(b []byte) (CommitHeader, error) {
	var c CommitHeader
	line, rest, ok := bytes.Cut(b, []byte{'\n'})
	if !ok {
		return c, fmt.Errorf("%w: no tree line", ErrCommit)
	}
	h, err := hashField(line, "tree ")
	if err != nil {
		return c, err
	}
	c.Tree = h
	for {
		line, rest, ok = bytes.Cut(rest, []byte{'\n'})
		if !ok {
			return c, fmt.Errorf("%w: no committer line", ErrCommit)
		}
		if !bytes.HasPrefix(line, []byte("parent ")) {
			break
		}
		p, err := hashField(line, "parent ")
		if err != nil {
			return c, err
		}
		c.Parents = append(c.Parents, p)
	}
	for ; ok && len(line) > 0; line, rest, ok = bytes.Cut(rest, []byte{'\n'}) {
		who, found := bytes.CutPrefix(line, []byte("committer "))
		if !found {
			continue
		}
		gt := bytes.LastIndexByte(who, '>')
		if gt < 0 {
			return c, fmt.Errorf("%w: committer line without an email", ErrCommit)
		}
		f := bytes.Fields(who[gt+1:])
		if len(f) != 2 {
			return c, fmt.Errorf("%w: committer line without a time", ErrCommit)
		}
		t, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return c, fmt.Errorf("%w: committer time %q", ErrCommit, f[0])
		}
		c.Time = t
		return c, nil
	}
	return c, fmt.Errorf("%w: no committer line", ErrCommit)
}

// ParseTagHeader reads the object an annotated tag points at and its type.
func ParseTagHeader(b []byte) (plumbing.Hash, plumbing.ObjectType, error) {
	line, rest, ok := bytes.Cut(b, []byte{'\n'})
	if !ok {
		return plumbing.ZeroHash, plumbing.InvalidObject, fmt.Errorf("%w: tag without an object line", ErrCommit)
	}
	h, err := hashField(line, "object ")
	if err != nil {
		return h, plumbing.InvalidObject, err
	}
	line, _, _ = bytes.Cut(rest, []byte{'\n'})
	typ, ok := bytes.CutPrefix(line, []byte("type "))
	if !ok {
		return h, plumbing.InvalidObject, fmt.Errorf("%w: tag without a type line", ErrCommit)
	}
	t, err := plumbing.ParseObjectType(string(typ))
	if err != nil || t < plumbing.CommitObject || t > plumbing.TagObject {
		return h, plumbing.InvalidObject, fmt.Errorf("%w: tag of type %q", ErrCommit, typ)
	}
	return h, t, nil
}

// hashField reads "PREFIX" and 40 lower-case hex digits.
func hashField(line []byte, prefix string) (plumbing.Hash, error) {
	v, ok := bytes.CutPrefix(line, []byte(prefix))
	var h plumbing.Hash
	if !ok || len(v) != 40 {
		return h, fmt.Errorf("%w: want %q and an object name, got %q", ErrCommit, prefix, trunc(line, 60))
	}
	if _, err := hex.Decode(h[:], v); err != nil || bytes.ContainsAny(v, "ABCDEF") {
		return h, fmt.Errorf("%w: bad object name %q", ErrCommit, v)
	}
	return h, nil
}

func trunc(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
