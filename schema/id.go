package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// idPrefix starts every trace id.
const idPrefix = "sha256:"

// ID names a trace by the sha256 of its file's exact bytes:
// "sha256:" followed by 64 lower-case hex digits.
type ID string

// ParseID parses a trace id strictly: exactly "sha256:" and 64 lower-case hex
// digits. Anything else (upper case, other lengths, whitespace) is an error.
func ParseID(s string) (ID, error) {
	if len(s) != len(idPrefix)+64 || !strings.HasPrefix(s, idPrefix) || !isLowerHex(s[len(idPrefix):]) {
		return "", fmt.Errorf("invalid trace id %s: want sha256:<64 lower-case hex digits>", Quote(s, 80))
	}
	return ID(s), nil
}

// isLowerHex reports whether s is made only of 0-9 and a-f.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Digest returns the id of the exact bytes b: "sha256:" and the hex sha256.
func Digest(b []byte) ID {
	sum := sha256.Sum256(b)
	var buf [len(idPrefix) + 64]byte
	copy(buf[:], idPrefix)
	hex.Encode(buf[len(idPrefix):], sum[:])
	return ID(buf[:])
}

// Hex returns the 64 hex digits of id, or "" if id does not start with
// "sha256:".
func (id ID) Hex() string {
	s, ok := strings.CutPrefix(string(id), idPrefix)
	if !ok {
		return ""
	}
	return s
}

// Short returns "sha256:" and the first 12 hex digits of id, for display.
// An id too short to cut is returned whole.
func (id ID) Short() string {
	if len(id) < len(idPrefix)+12 {
		return string(id)
	}
	return string(id[:len(idPrefix)+12])
}
