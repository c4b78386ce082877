package schema

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Records: a dispute about a trace, a maintainer's resolution of it, and
// the tombstone a removal leaves (docs/format.md §8.1). Each is RFC 8785
// canonical JSON with exactly its fields.

// MaxRecordSize bounds a dispute, resolution or tombstone file.
const MaxRecordSize = 16 << 10

// maxReason bounds a dispute's or resolution's reason, in bytes.
const maxReason = 4000

// Decisions of a resolution.
const (
	DecisionRemove  = "remove"
	DecisionDismiss = "dismiss"
)

// Dispute is a signed complaint about a trace.
type Dispute struct {
	Kind       string `json:"kind"` // "dispute"
	Trace      ID     `json:"trace"`
	Reason     string `json:"reason"`
	InstanceID string `json:"instance_id"`
	CreatedAt  string `json:"created_at"`
}

// Resolution is a maintainer's signed decision on a dispute.
type Resolution struct {
	Kind       string `json:"kind"` // "resolution"
	Dispute    ID     `json:"dispute"`
	Trace      ID     `json:"trace"`
	Decision   string `json:"decision"`
	Reason     string `json:"reason"`
	InstanceID string `json:"instance_id"`
	CreatedAt  string `json:"created_at"`
}

// Tombstone marks a removed trace.
type Tombstone struct {
	Dispute ID `json:"dispute"`
	Trace   ID `json:"trace"`
}

// ParseDispute parses a dispute record strictly. Every failure is an
// *Error of rule dispute-invalid.
func ParseDispute(b []byte) (*Dispute, error) {
	var d Dispute
	if err := parseRecord(b, &d); err != nil {
		return nil, err
	}
	if d.Kind != "dispute" {
		return nil, recordErrorf("kind %s, want \"dispute\"", Quote(d.Kind, 20))
	}
	if _, err := ParseID(string(d.Trace)); err != nil {
		return nil, recordErrorf("trace: %v", err)
	}
	if err := checkReason(d.Reason); err != nil {
		return nil, err
	}
	return &d, checkCommon(d.InstanceID, d.CreatedAt)
}

// ParseResolution parses a resolution record strictly. Every failure is
// an *Error of rule dispute-invalid.
func ParseResolution(b []byte) (*Resolution, error) {
	var r Resolution
	if err := parseRecord(b, &r); err != nil {
		return nil, err
	}
	if r.Kind != "resolution" {
		return nil, recordErrorf("kind %s, want \"resolution\"", Quote(r.Kind, 20))
	}
	for _, id := range []ID{r.Dispute, r.Trace} {
		if _, err := ParseID(string(id)); err != nil {
			return nil, recordErrorf("%v", err)
		}
	}
	if r.Decision != DecisionRemove && r.Decision != DecisionDismiss {
		return nil, recordErrorf("decision %s, want remove or dismiss", Quote(r.Decision, 20))
	}
	if err := checkReason(r.Reason); err != nil {
		return nil, err
	}
	return &r, checkCommon(r.InstanceID, r.CreatedAt)
}

// ParseTombstone parses a tombstone strictly. Every failure is an *Error
// of rule dispute-invalid.
func ParseTombstone(b []byte) (*Tombstone, error) {
	var t Tombstone
	if err := parseRecord(b, &t); err != nil {
		return nil, err
	}
	for _, id := range []ID{t.Dispute, t.Trace} {
		if _, err := ParseID(string(id)); err != nil {
			return nil, recordErrorf("%v", err)
		}
	}
	return &t, nil
}

// MarshalRecord returns a record's canonical bytes.
func MarshalRecord(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(b)
}

func recordErrorf(format string, args ...any) *Error {
	return newError(RuleDisputeInvalid, "", fmt.Sprintf(format, args...))
}

// parseRecord parses a record strictly: size, canonical JSON, exactly the
// fields of v (re-encoding must give the same bytes).
func parseRecord(b []byte, v any) error {
	if len(b) > MaxRecordSize {
		return recordErrorf("%d bytes, over the limit of %d", len(b), MaxRecordSize)
	}
	if err := strictCanonical(b); err != nil {
		return recordErrorf("%s", err)
	}
	if err := decodeExact(b, v); err != nil {
		return recordErrorf("%s", err)
	}
	return nil
}

// checkReason bounds and cleans a reason: 1 to maxReason bytes, no control
// characters but newlines, no U+FFFD or bytes that are not UTF-8, no bidi
// embeddings, overrides or isolates.
func checkReason(s string) error {
	if s == "" || len(s) > maxReason {
		return recordErrorf("reason must be 1 to %d bytes", maxReason)
	}
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || r == utf8.RuneError || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)) {
			return recordErrorf("reason holds the control character U+%04X", r)
		}
	}
	return nil
}

func checkCommon(instance, created string) error {
	if !ValidInstanceID(instance) {
		return recordErrorf("instance_id %s is not an instance id", Quote(instance, 70))
	}
	t, err := time.Parse(time.RFC3339Nano, created)
	if err != nil || !strings.HasSuffix(created, "Z") || t.Location() != time.UTC {
		return recordErrorf("created_at %s is not an RFC 3339 UTC time", Quote(created, 40))
	}
	return nil
}
