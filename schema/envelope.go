package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// EnvelopeKey is the seed's name for its wire format, federation_trace_v1:
// a trace's members, plus trace_id and signature (docs/format.md §10).
const EnvelopeKey = "federation_trace_v1"

// MaxEnvelopeSize bounds an envelope: a trace (MaxTraceSize), its bundle
// (signing.MaxBundleSize, 16384 bytes) and 1024 bytes of JSON around them.
const MaxEnvelopeSize = MaxTraceSize + 16384 + 1024

// Envelope is a trace in the federation_trace_v1 format, taken apart.
type Envelope struct {
	ID     ID
	Trace  []byte // canonical trace bytes
	Bundle []byte // canonical bytes of the signature member, a bundle that signing.ParseBundle has not yet checked
}

// ParseEnvelope parses an envelope strictly and checks that trace_id is the
// hash of the canonical trace it carries. It does not parse the signature
// as a bundle (signing does that), nor check it. Every failure is a rule
// violation (errors.Is(err, ErrInvalid)); a trace that breaks a rule is
// reported with the trace's rule codes, a trace_id that is not its hash
// as trace-name.
func ParseEnvelope(b []byte) (*Envelope, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("envelope: "+format+": %w", append(args, ErrInvalid)...)
	}
	if len(b) > MaxEnvelopeSize {
		return nil, invalid("%d bytes, over the limit of %d", len(b), MaxEnvelopeSize)
	}
	if _, err := CanonicalJSON(b); err != nil { // duplicate keys, bad UTF-8, nulls, depth
		return nil, fmt.Errorf("envelope: %w", err)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(b, &outer); err != nil {
		return nil, invalid("%v", err)
	}
	inner, ok := outer[EnvelopeKey]
	if !ok || len(outer) != 1 {
		return nil, invalid("want one key %q", EnvelopeKey)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(inner, &fields); err != nil {
		return nil, invalid("%s is not an object", EnvelopeKey)
	}
	rawID, ok1 := fields["trace_id"]
	sig, ok2 := fields["signature"]
	if !ok1 || !ok2 {
		return nil, invalid("trace_id and signature are required")
	}
	delete(fields, "trace_id")
	delete(fields, "signature")
	var idText string
	if err := json.Unmarshal(rawID, &idText); err != nil {
		return nil, invalid("trace_id is not a string")
	}
	id, err := ParseID(idText)
	if err != nil {
		return nil, invalid("trace_id: %v", err)
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	canon, err := Canonical(raw)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if _, err := ParseCanonical(canon); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if got := Digest(canon); got != id {
		return nil, fmt.Errorf("envelope: %w", newError(RuleTraceName, "", fmt.Sprintf("trace_id %s is not the hash of the trace (%s)", id, got)))
	}
	bundle, err := CanonicalJSON(bytes.TrimSpace(sig))
	if err != nil {
		return nil, fmt.Errorf("envelope: signature: %w", err)
	}
	return &Envelope{ID: id, Trace: canon, Bundle: bundle}, nil
}

// MarshalEnvelope wraps a canonical trace and its bundle, as canonical JSON.
func MarshalEnvelope(trace, bundle []byte) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trace, &fields); err != nil {
		return nil, err
	}
	fields["trace_id"], _ = json.Marshal(Digest(trace))
	fields["signature"] = json.RawMessage(bundle)
	raw, err := json.Marshal(map[string]any{EnvelopeKey: fields})
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(raw)
}
