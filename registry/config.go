package registry

import "github.com/hive-dev/hive/schema"

// Format is the repository format a hive.json declares.
const Format = schema.Format

// MaxConfigSize bounds hive.json, checked before it is parsed.
const MaxConfigSize = schema.MaxConfigSize

// Config is hive.json, the hive's name and policy (schema.Config).
type Config = schema.Config

// DefaultConfig is the policy `hive init` writes (schema.DefaultConfig).
func DefaultConfig(name string) Config { return schema.DefaultConfig(name) }

// ParseConfig parses hive.json strictly (schema.ParseConfig).
func ParseConfig(b []byte) (*Config, error) { return schema.ParseConfig(b) }

// Who may register a new instance's key (hive.json's registration).
const (
	RegistrationOpen        = schema.RegistrationOpen
	RegistrationMaintainers = schema.RegistrationMaintainers
)
