package schema

import "fmt"

// MaxKeyRecordSize bounds a key rotation or key approval record, checked
// before parsing.
const MaxKeyRecordSize = 16 << 10

// MaxKeyReason bounds a rotation's reason, in code points.
const MaxKeyReason = 1000

// MaxRotations bounds the sequence number of a key rotation.
const MaxRotations = 1_000_000

// KeyRotation is the signed record of an instance's key being replaced:
// rotations/<instance_id>/<sequence>.json, added in the commit that
// replaces keys/<instance_id>.pub. Its signer is the instance itself (its
// retired key signs) or, to recover a lost or stolen key, a maintainer.
type KeyRotation struct {
	Kind       string `json:"kind"`        // "key-rotation"
	InstanceID string `json:"instance_id"` // whose key is replaced
	Sequence   int    `json:"sequence"`    // 1 for the instance's first rotation, then 2, 3...
	Previous   string `json:"previous"`    // fingerprint of the key it retires
	Key        string `json:"key"`         // fingerprint of the key that replaces it
	Signer     string `json:"signer"`      // instance_id itself, or a maintainer
	Reason     string `json:"reason"`      // why, for people
	CreatedAt  string `json:"created_at"`  // RFC 3339 in UTC with a Z
}

// Marshal returns the canonical bytes of r, after checking it as
// ParseKeyRotation would.
func (r *KeyRotation) Marshal() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	return MarshalRecord(r)
}

// ParseKeyRotation parses a key rotation record strictly, as ParseOutcome
// parses an outcome.
func ParseKeyRotation(b []byte) (*KeyRotation, error) {
	var r KeyRotation
	if err := decodeRecord(b, MaxKeyRecordSize, &r); err != nil {
		return nil, newError(RuleKeyRotationInvalid, "", "key rotation: "+err.Error())
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// check refuses a record that breaks a bound, as an *Error of its rule.
func (r *KeyRotation) check() error {
	if err := r.bounds(); err != nil {
		return newError(RuleKeyRotationInvalid, "", err.Error())
	}
	return nil
}

func (r *KeyRotation) bounds() error {
	if r.Kind != "key-rotation" {
		return fmt.Errorf("key rotation: kind %s, want \"key-rotation\"", Quote(r.Kind, 20))
	}
	for _, f := range []struct{ name, v string }{{"instance_id", r.InstanceID}, {"signer", r.Signer}} {
		if !ValidInstanceID(f.v) {
			return fmt.Errorf("key rotation: %s %s is not an instance id", f.name, Quote(f.v, 70))
		}
	}
	if r.Sequence < 1 || r.Sequence > MaxRotations {
		return fmt.Errorf("key rotation: sequence %d, want 1 to %d", r.Sequence, MaxRotations)
	}
	if err := checkFingerprint("previous", r.Previous); err != nil {
		return fmt.Errorf("key rotation: %w", err)
	}
	if err := checkFingerprint("key", r.Key); err != nil {
		return fmt.Errorf("key rotation: %w", err)
	}
	if r.Key == r.Previous {
		return fmt.Errorf("key rotation: the new key is the key it retires")
	}
	if err := recordText("reason", r.Reason, MaxKeyReason, false); err != nil {
		return fmt.Errorf("key rotation: %w", err)
	}
	if err := recordTime(r.CreatedAt); err != nil {
		return fmt.Errorf("key rotation: %w", err)
	}
	return nil
}

// KeyApproval is a maintainer's signed approval of an instance's first key:
// registrations/<instance_id>.json, added in the commit that registers
// keys/<instance_id>.pub. A hive whose hive.json says "registration":
// "maintainers" registers a new instance only with one.
type KeyApproval struct {
	Kind       string `json:"kind"`        // "key-approval"
	InstanceID string `json:"instance_id"` // the instance registered
	Key        string `json:"key"`         // fingerprint of its key
	Signer     string `json:"signer"`      // the maintainer who approves
	CreatedAt  string `json:"created_at"`  // RFC 3339 in UTC with a Z
}

// Marshal returns the canonical bytes of a, after checking it as
// ParseKeyApproval would.
func (a *KeyApproval) Marshal() ([]byte, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	return MarshalRecord(a)
}

// ParseKeyApproval parses a key approval record strictly.
func ParseKeyApproval(b []byte) (*KeyApproval, error) {
	var a KeyApproval
	if err := decodeRecord(b, MaxKeyRecordSize, &a); err != nil {
		return nil, newError(RuleKeyApprovalInvalid, "", "key approval: "+err.Error())
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	return &a, nil
}

// check refuses a record that breaks a bound, as an *Error of its rule.
func (a *KeyApproval) check() error {
	if err := a.bounds(); err != nil {
		return newError(RuleKeyApprovalInvalid, "", err.Error())
	}
	return nil
}

func (a *KeyApproval) bounds() error {
	if a.Kind != "key-approval" {
		return fmt.Errorf("key approval: kind %s, want \"key-approval\"", Quote(a.Kind, 20))
	}
	for _, f := range []struct{ name, v string }{{"instance_id", a.InstanceID}, {"signer", a.Signer}} {
		if !ValidInstanceID(f.v) {
			return fmt.Errorf("key approval: %s %s is not an instance id", f.name, Quote(f.v, 70))
		}
	}
	if err := checkFingerprint("key", a.Key); err != nil {
		return fmt.Errorf("key approval: %w", err)
	}
	if err := recordTime(a.CreatedAt); err != nil {
		return fmt.Errorf("key approval: %w", err)
	}
	return nil
}
