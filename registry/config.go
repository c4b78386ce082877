package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hive-dev/hive/schema"
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
	Format      string            `json:"format"`
	Name        string            `json:"name"`
	Version     int               `json:"version"`
	Thresholds  schema.Thresholds `json:"thresholds"`
	Maintainers []string          `json:"maintainers"`
	Revoked     []string          `json:"revoked"`
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
// thresholds and no maintainers.
func DefaultConfig(name string) Config {
	return Config{Format: Format, Name: name, Version: 1, Thresholds: schema.DefaultThresholds, Maintainers: []string{}, Revoked: []string{},
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
	return schema.CanonicalJSON(raw)
}

// IsMaintainer reports whether instance is listed as a maintainer.
func (c Config) IsMaintainer(instance string) bool { return slices.Contains(c.Maintainers, instance) }

// IsRevoked reports whether instance's key is revoked.
func (c Config) IsRevoked(instance string) bool { return slices.Contains(c.Revoked, instance) }

// ParseConfig parses hive.json strictly: size first, canonical JSON, no
// unknown fields, every value in range.
func ParseConfig(b []byte) (*Config, error) {
	if len(b) > MaxConfigSize {
		return nil, fmt.Errorf("hive.json is %d bytes, over the limit of %d", len(b), MaxConfigSize)
	}
	canon, err := schema.CanonicalJSON(b)
	if err != nil {
		return nil, fmt.Errorf("hive.json: %w", err)
	}
	if !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("hive.json is not RFC 8785 canonical JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("hive.json: %v", err)
	}
	// encoding/json matches keys case-insensitively: require the exact names
	// by re-encoding and comparing with the canonical input.
	again, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("hive.json has misspelt, missing or null fields")
	}
	return &c, nil
}

func (c Config) check() error {
	if c.Format != Format {
		return fmt.Errorf("hive.json: format is %s, want %q", schema.Quote(c.Format, 40), Format)
	}
	if c.Name == "" || len(c.Name) > 100 {
		return fmt.Errorf("hive.json: name must be 1 to 100 bytes")
	}
	if c.Version < 1 {
		return fmt.Errorf("hive.json: version must be 1 or more")
	}
	if c.Registration != "" && c.Registration != RegistrationOpen && c.Registration != RegistrationMaintainers {
		return fmt.Errorf("hive.json: registration is %s, want %q or %q", schema.Quote(c.Registration, 40), RegistrationOpen, RegistrationMaintainers)
	}
	th := c.Thresholds
	if th.MinConfidence < 0 || th.MinConfidence > 1 || th.MinVerification < 0 || th.MinVerification > 1 {
		return fmt.Errorf("hive.json: thresholds must lie in [0,1]")
	}
	if th.MinSteps < 1 || th.MinSteps > schema.MaxSteps {
		return fmt.Errorf("hive.json: min_steps must lie in [1,%d]", schema.MaxSteps)
	}
	for _, list := range []struct {
		name string
		ids  []string
	}{{"maintainers", c.Maintainers}, {"revoked", c.Revoked}} {
		if list.ids == nil {
			return fmt.Errorf("hive.json: %s is missing", list.name)
		}
		if len(list.ids) > maxInstanceList {
			return fmt.Errorf("hive.json: %s lists more than %d instances", list.name, maxInstanceList)
		}
		for i, id := range list.ids {
			if !schema.ValidInstanceID(id) {
				return fmt.Errorf("hive.json: %s[%d] %s is not an instance id", list.name, i, schema.Quote(id, 70))
			}
			if i > 0 && list.ids[i-1] >= id {
				return fmt.Errorf("hive.json: %s must be sorted and unique", list.name)
			}
		}
	}
	return nil
}
