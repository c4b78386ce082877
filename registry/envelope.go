package registry

import (
	"fmt"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// EnvelopeKey is the seed's name for its wire format.
const EnvelopeKey = schema.EnvelopeKey

// MaxEnvelopeSize bounds an envelope: a trace, its bundle and the JSON around them.
const MaxEnvelopeSize = schema.MaxEnvelopeSize

// Envelope is a trace in the seed's federation_trace_v1 format: the trace's
// fields, plus trace_id and signature (schema.Envelope).
type Envelope = schema.Envelope

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
	return schema.MarshalEnvelope(trace, bundle)
}

// ParseEnvelope parses an envelope strictly (schema.ParseEnvelope) and its
// signature as a bundle (sig-bundle-invalid). The signature is checked
// when the trace is committed, against the instance's registered key.
func ParseEnvelope(b []byte) (*Envelope, error) {
	env, err := schema.ParseEnvelope(b)
	if err != nil {
		return nil, err
	}
	if _, err := signing.ParseBundle(env.Bundle); err != nil {
		return nil, fmt.Errorf("envelope: %w", &schema.Error{Rule: schema.RuleSigBundleInvalid, Msg: err.Error()})
	}
	return env, nil
}
