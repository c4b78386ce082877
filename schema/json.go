package schema

import (
	"regexp"

	"github.com/gowebpki/jcs"
)

// MaxJSONSize bounds a document given to CanonicalJSON.
const MaxJSONSize = 1 << 20

// maxFreeItems bounds the keys of an object and the items of an array in a
// document given to CanonicalJSON.
const maxFreeItems = 1000

// CanonicalJSON returns the RFC 8785 form of any JSON document (hive.json,
// envelopes, bundles) after the same strict structural checks as traces:
// size (MaxJSONSize), UTF-8, syntax, trailing data, depth (MaxDepth),
// duplicate keys, null and numbers float64 cannot hold exactly. Field names
// are not checked; that is the caller's schema.
func CanonicalJSON(b []byte) ([]byte, error) {
	if _, err := scan(b, MaxJSONSize, ctxFree); err != nil {
		return nil, err
	}
	c, err := jcs.Transform(b)
	if err != nil {
		return nil, newError(RuleJSON, "", "canonicalize: "+err.Error())
	}
	return c, nil
}

// InstanceIDPattern is the grammar of an instance id: lower case, short and
// safe as a file name on every platform.
const InstanceIDPattern = `^[a-z0-9][a-z0-9_-]{0,62}$`

var instanceIDRe = regexp.MustCompile(InstanceIDPattern)

// ValidInstanceID reports whether s is a well-formed instance id.
func ValidInstanceID(s string) bool { return instanceIDRe.MatchString(s) }
