package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Format is the repository format a hive.json declares.
const Format = "hive/v1"

// MaxConfigSize bounds hive.json, checked before it is parsed.
const MaxConfigSize = 64 << 10

// maxInstanceList bounds the maintainers and revoked lists.
const maxInstanceList = 256

// Config is hive.json: the hive's name and policy. It is RFC 8785 canonical
// JSON in the tree. Each change after the first commit increments Version and
// is signed by a maintainer (hive.sigstore.json).
type Config struct {
	Format      string     `json:"format"`
	Name        string     `json:"name"`
	Version     int        `json:"version"`
	Thresholds  Thresholds `json:"thresholds"`
	Maintainers []string   `json:"maintainers"`
	Revoked     []string   `json:"revoked"`
	// Registration says who may register a new instance's key:
	// RegistrationOpen (anyone whose commit is accepted; also when absent,
	// as in hives made before the field existed) or RegistrationMaintainers
	// (only with a maintainer's signed approval).
	Registration string `json:"registration,omitempty"`
}

// Who may register a new instance's key (hive.json's registration).
const (
	RegistrationOpen        = "open"
	RegistrationMaintainers = "maintainers"
)

// RegistrationMode returns the registration policy: RegistrationOpen when
// the field is absent.
func (c Config) RegistrationMode() string {
	if c.Registration == "" {
		return RegistrationOpen
	}
	return c.Registration
}

// DefaultConfig is the policy `hive init` writes: the seed's federation
// thresholds, no maintainers, open registration.
func DefaultConfig(name string) Config {
	return Config{Format: Format, Name: name, Version: 1, Thresholds: DefaultThresholds, Maintainers: []string{}, Revoked: []string{},
		Registration: RegistrationOpen}
}

// Marshal returns the canonical bytes of c.
func (c Config) Marshal() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(raw)
}

// IsMaintainer reports whether instance is listed as a maintainer.
func (c Config) IsMaintainer(instance string) bool { return slices.Contains(c.Maintainers, instance) }

// IsRevoked reports whether instance's key is revoked.
func (c Config) IsRevoked(instance string) bool { return slices.Contains(c.Revoked, instance) }

// ParseConfig parses hive.json strictly: size first, canonical JSON, no
// unknown fields, every value in range. Every failure is an *Error of rule
// config-invalid.
func ParseConfig(b []byte) (*Config, error) {
	if len(b) > MaxConfigSize {
		return nil, configErrorf("hive.json is %d bytes, over the limit of %d", len(b), MaxConfigSize)
	}
	if err := strictCanonical(b); err != nil {
		return nil, configErrorf("hive.json: %s", err)
	}
	var c Config
	if err := decodeExact(b, &c); err != nil {
		return nil, configErrorf("hive.json: %s", err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

func configErrorf(format string, args ...any) *Error {
	return newError(RuleConfigInvalid, "", fmt.Sprintf(format, args...))
}

func (c Config) check() error {
	if c.Format != Format {
		return configErrorf("hive.json: format is %s, want %q", Quote(c.Format, 40), Format)
	}
	if c.Name == "" || len(c.Name) > 100 {
		return configErrorf("hive.json: name must be 1 to 100 bytes")
	}
	if c.Version < 1 {
		return configErrorf("hive.json: version must be 1 or more")
	}
	if c.Registration != "" && c.Registration != RegistrationOpen && c.Registration != RegistrationMaintainers {
		return configErrorf("hive.json: registration is %s, want %q or %q", Quote(c.Registration, 40), RegistrationOpen, RegistrationMaintainers)
	}
	th := c.Thresholds
	if th.MinConfidence < 0 || th.MinConfidence > 1 || th.MinVerification < 0 || th.MinVerification > 1 {
		return configErrorf("hive.json: thresholds must lie in [0,1]")
	}
	if th.MinSteps < 1 || th.MinSteps > MaxSteps {
		return configErrorf("hive.json: min_steps must lie in [1,%d]", MaxSteps)
	}
	for _, list := range []struct {
		name string
		ids  []string
	}{{"maintainers", c.Maintainers}, {"revoked", c.Revoked}} {
		if list.ids == nil {
			return configErrorf("hive.json: %s is missing", list.name)
		}
		if len(list.ids) > maxInstanceList {
			return configErrorf("hive.json: %s lists more than %d instances", list.name, maxInstanceList)
		}
		for i, id := range list.ids {
			if !ValidInstanceID(id) {
				return configErrorf("hive.json: %s[%d] %s is not an instance id", list.name, i, Quote(id, 70))
			}
			if i > 0 && list.ids[i-1] >= id {
				return configErrorf("hive.json: %s must be sorted and unique", list.name)
			}
		}
	}
	return nil
}

// strictCanonical runs the structural checks of a trace on a record (UTF-8,
// syntax, trailing data, depth, duplicate keys, null, numbers) and requires
// its bytes to be RFC 8785 canonical. The error is a message without a rule:
// the caller's rule applies.
func strictCanonical(b []byte) error {
	canon, err := CanonicalJSON(b)
	if err != nil {
		return errors.New(reason(err))
	}
	if !bytes.Equal(canon, b) {
		return errors.New("not RFC 8785 canonical JSON")
	}
	return nil
}

// decodeExact decodes canonical b into v, whose fields must be exactly b's
// members: encoding/json matches names case-insensitively and leaves absent
// fields zero, so v is encoded again and must give b's bytes.
func decodeExact(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	again, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if again, err = CanonicalJSON(again); err != nil || !bytes.Equal(again, b) {
		return errors.New("misspelt, missing, extra or null fields")
	}
	return nil
}

// reason is an error's message without its rule: the pointer and message
// of each *Error in it, or its text.
func reason(err error) string {
	all := All(err)
	if len(all) == 0 {
		return err.Error()
	}
	var b bytes.Buffer
	for i, e := range all {
		if i > 0 {
			b.WriteString("; ")
		}
		if e.Pointer != "" {
			b.WriteString(e.Pointer + ": ")
		}
		b.WriteString(e.Msg)
	}
	return b.String()
}
