package gitfmt

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// A loose object is a zlib stream of "<type> <size>\x00" and the object's
// bytes.

// MaxLooseHeader bounds a loose object's header: "commit", a space, a
// 64-bit size in decimal and the NUL.
const MaxLooseHeader = 32

// ErrLooseHeader reports a loose object whose header is malformed.
var ErrLooseHeader = errors.New("malformed loose object header")

// ParseLooseHeader parses a loose object's header, hdr without its NUL:
// a type git knows, one space, and a size in decimal without a sign or
// leading zeros.
func ParseLooseHeader(hdr []byte) (plumbing.ObjectType, int64, error) {
	typ, size, ok := bytes.Cut(hdr, []byte{' '})
	if !ok {
		return plumbing.InvalidObject, 0, fmt.Errorf("%w: %q", ErrLooseHeader, hdr)
	}
	var t plumbing.ObjectType
	switch string(typ) {
	case "commit":
		t = plumbing.CommitObject
	case "tree":
		t = plumbing.TreeObject
	case "blob":
		t = plumbing.BlobObject
	case "tag":
		t = plumbing.TagObject
	default:
		return plumbing.InvalidObject, 0, fmt.Errorf("%w: type %q", ErrLooseHeader, typ)
	}
	// Canonical decimal, as git requires: digits only, no leading zero.
	digits := len(size) > 0 && (size[0] != '0' || len(size) == 1)
	for _, c := range size {
		digits = digits && '0' <= c && c <= '9'
	}
	n, err := strconv.ParseInt(string(size), 10, 64)
	if !digits || err != nil {
		return plumbing.InvalidObject, 0, fmt.Errorf("%w: size %q", ErrLooseHeader, size)
	}
	return t, n, nil
}

// SplitLoose splits a whole inflated loose object into its type and body,
// checking that the body has the size its header gives.
func SplitLoose(raw []byte) (plumbing.ObjectType, []byte, error) {
	nul := bytes.IndexByte(raw[:min(len(raw), MaxLooseHeader)], 0)
	if nul < 0 {
		return plumbing.InvalidObject, nil, fmt.Errorf("%w: no end in its first %d bytes", ErrLooseHeader, MaxLooseHeader)
	}
	t, size, err := ParseLooseHeader(raw[:nul])
	if err != nil {
		return t, nil, err
	}
	if body := raw[nul+1:]; int64(len(body)) != size {
		return t, nil, fmt.Errorf("loose object of %d bytes, its header says %d", len(body), size)
	}
	return t, raw[nul+1:], nil
}

// LooseHeader is the header of a loose object of type t and size n.
func LooseHeader(t plumbing.ObjectType, n int) []byte {
	return fmt.Appendf(nil, "%s %d\x00", t, n)
}
