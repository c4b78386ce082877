package registry

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// EnvelopeKey is the seed's name for its wire format.
const EnvelopeKey = "federation_trace_v1"

// MaxEnvelopeSize bounds an envelope: a trace, its bundle and the JSON around them.
const MaxEnvelopeSize = schema.MaxTraceSize + signing.MaxBundleSize + 1024

// Envelope is a trace in the seed's federation_trace_v1 format: the trace's
// fields, plus trace_id and signature (the sigstore bundle as a JSON object).
type Envelope struct {
	ID     schema.ID
	Trace  []byte // canonical trace bytes
	Bundle []byte // canonical bundle bytes
}

// Export returns the envelope of a trace on main, as canonical JSON.
func (s *Store) Export(id schema.ID) ([]byte, error) {
	e, err := s.Trace(id)
	if err != nil {
		return nil, err
	}
	return MarshalEnvelope(e.Data, e.Bundle)
}

// MarshalEnvelope wraps a canonical trace and its bundle.
func MarshalEnvelope(trace, bundle []byte) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trace, &fields); err != nil {
		return nil, err
	}
	fields["trace_id"], _ = json.Marshal(schema.Digest(trace))
	fields["signature"] = json.RawMessage(bundle)
	raw, err := json.Marshal(map[string]any{EnvelopeKey: fields})
	if err != nil {
		return nil, err
	}
	return schema.CanonicalJSON(raw)
}

// ParseEnvelope parses an envelope strictly and checks that trace_id is the
// hash of the canonical trace it carries. The signature is checked when
// the trace is committed, against the instance's registered key.
func ParseEnvelope(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelopeSize {
		return nil, fmt.Errorf("envelope is %d bytes, over the limit of %d: %w", len(b), MaxEnvelopeSize, ErrInvalid)
	}
	if _, err := schema.CanonicalJSON(b); err != nil { // duplicate keys, bad UTF-8, nulls, depth
		return nil, fmt.Errorf("envelope: %w", err)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(b, &outer); err != nil {
		return nil, fmt.Errorf("envelope: %v: %w", err, ErrInvalid)
	}
	inner, ok := outer[EnvelopeKey]
	if !ok || len(outer) != 1 {
		return nil, fmt.Errorf("envelope: want one key %q: %w", EnvelopeKey, ErrInvalid)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(inner, &fields); err != nil {
		return nil, fmt.Errorf("envelope: %s is not an object: %w", EnvelopeKey, ErrInvalid)
	}
	rawID, ok1 := fields["trace_id"]
	sig, ok2 := fields["signature"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("envelope: trace_id and signature are required: %w", ErrInvalid)
	}
	delete(fields, "trace_id")
	delete(fields, "signature")
	var idText string
	if err := json.Unmarshal(rawID, &idText); err != nil {
		return nil, fmt.Errorf("envelope: trace_id is not a string: %w", ErrInvalid)
	}
	id, err := schema.ParseID(idText)
	if err != nil {
		return nil, fmt.Errorf("envelope: trace_id: %v: %w", err, ErrInvalid)
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	canon, err := schema.Canonical(raw)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if _, err := schema.ParseCanonical(canon); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if got := schema.Digest(canon); got != id {
		return nil, fmt.Errorf("envelope: %s: trace_id %s is not the hash of the trace (%s): %w", RuleTraceName, id, got, ErrInvalid)
	}
	bundle, err := schema.CanonicalJSON(bytes.TrimSpace(sig))
	if err != nil {
		return nil, fmt.Errorf("envelope: signature: %w", err)
	}
	if _, err := signing.ParseBundle(bundle); err != nil {
		return nil, fmt.Errorf("envelope: %s: %w", RuleSigBundleInvalid, err)
	}
	return &Envelope{ID: id, Trace: canon, Bundle: bundle}, nil
}
