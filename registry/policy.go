package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/signing"
)

// ConfigAt returns the policy (hive.json) of commit h.
func (s *Store) ConfigAt(h plumbing.Hash) (*Config, error) {
	root, err := s.CommitTree(h)
	if err != nil {
		return nil, err
	}
	c, err := s.configAt(s.trees, root)
	if errors.Is(err, errNoConfig) {
		return nil, fmt.Errorf("commit %s has no hive.json: %s is not a hive, or its history is damaged (hive verify says which)", short(h), s.Dir())
	}
	return c, err
}

// ConfigChange is a change of hive.json made by a maintainer: Apply edits
// a copy of the current policy; Subject and Trailers describe it in the
// commit message.
type ConfigChange struct {
	Apply    func(*Config) error
	Subject  string   // "revoke instance_a"
	Trailers []string // "Hive-Revoke: instance_a"
}

// ChangeConfig commits a change of hive.json: version + 1, signed in
// hive.sigstore.json by maintainer (key is its private key), who must be a
// maintainer of the current policy, not revoked, with that key registered.
// The new policy takes effect from the next commit.
func (s *Store) ChangeConfig(ch ConfigChange, maintainer string, key *signing.PrivateKey) (plumbing.Hash, error) {
	root, err := s.headTree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	old, err := s.configAt(s.trees, root)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := s.configAuthority(root, old, maintainer, key); err != nil {
		return plumbing.ZeroHash, err
	}
	cfg := *old
	cfg.Maintainers = slices.Clone(old.Maintainers)
	cfg.Revoked = slices.Clone(old.Revoked)
	if err := ch.Apply(&cfg); err != nil {
		return plumbing.ZeroHash, err
	}
	cfg.Version = old.Version + 1
	raw, err := cfg.Marshal()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	bundle, err := signing.Sign(key, raw)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	msg := fmt.Sprintf("hive: %s\n\nHive-Config: version %d\n", oneLine(ch.Subject, 60), cfg.Version)
	for _, t := range ch.Trailers {
		msg += t + "\n"
	}
	msg += "Hive-Instance: " + maintainer + "\n"
	return s.commitFiles(map[string][]byte{ConfigPath: raw, ConfigBundlePath: bundle}, nil, maintainer, msg,
		func(now plumbing.Hash) error {
			cur, err := s.configAt(s.trees, now)
			if err != nil {
				return err
			}
			if cur.Version != old.Version {
				return fmt.Errorf("hive.json changed meanwhile (version %d): %w", cur.Version, ErrConflict)
			}
			return s.configAuthority(now, cur, maintainer, key)
		})
}

// configAuthority checks that maintainer, holding key, may sign a change of
// the policy cfg in the state root.
func (s *Store) configAuthority(root plumbing.Hash, cfg *Config, maintainer string, key *signing.PrivateKey) error {
	if !cfg.IsMaintainer(maintainer) || cfg.IsRevoked(maintainer) {
		return fmt.Errorf("%s: %s is not a maintainer of this hive (hive.json lists %v): %w", RuleConfigUnsigned, maintainer, cfg.Maintainers, ErrUnauthorised)
	}
	pub, err := s.registeredKey(root, maintainer)
	if err != nil {
		return err
	}
	if !key.Public().Equal(pub) {
		return fmt.Errorf("the private key given for %s does not match %s: %w", maintainer, KeyPath(maintainer), ErrUnauthorised)
	}
	return nil
}

// Revoke adds instance to hive.json's revoked list, in a change signed by
// maintainer: from the next commit on, nothing signed by instance enters
// the hive, and its skills are not reused by the default trust policy. It
// refuses to revoke the last maintainer who could sign a later change.
func (s *Store) Revoke(instance, reason, maintainer string, key *signing.PrivateKey) (plumbing.Hash, error) {
	return s.ChangeConfig(ConfigChange{
		Subject:  "revoke " + instance,
		Trailers: []string{"Hive-Revoke: " + instance, "Hive-Reason: " + oneLine(strings.TrimSpace(reason), 200)},
		Apply: func(c *Config) error {
			if c.IsRevoked(instance) {
				return fmt.Errorf("instance %s is already revoked: %w", instance, ErrExists)
			}
			c.Revoked = append(c.Revoked, instance)
			slices.Sort(c.Revoked)
			for _, m := range c.Maintainers {
				if !c.IsRevoked(m) {
					return nil
				}
			}
			return fmt.Errorf("revoking %s would leave no maintainer to sign a later change of hive.json: %w", instance, ErrInvalid)
		},
	}, maintainer, key)
}

// SetRegistration changes who may register a new instance's key
// (RegistrationOpen or RegistrationMaintainers), in a change signed by
// maintainer.
func (s *Store) SetRegistration(mode, maintainer string, key *signing.PrivateKey) (plumbing.Hash, error) {
	return s.ChangeConfig(ConfigChange{
		Subject:  "registration " + mode,
		Trailers: []string{"Hive-Registration: " + mode},
		Apply: func(c *Config) error {
			if mode != RegistrationOpen && mode != RegistrationMaintainers {
				return fmt.Errorf("registration %q: want %q or %q: %w", mode, RegistrationOpen, RegistrationMaintainers, ErrInvalid)
			}
			if c.RegistrationMode() == mode {
				return fmt.Errorf("registration is %s already: %w", mode, ErrExists)
			}
			c.Registration = mode
			return nil
		},
	}, maintainer, key)
}
