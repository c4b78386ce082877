package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/signing"
)

// maintainerKey returns the maintainer that signs a change and its private
// key: --by, or else the one maintainer of the hive whose key is in the key
// store.
func maintainerKey(c *cli.Context, s *registry.Store) (string, *signing.PrivateKey, error) {
	ks, err := keyStore(c)
	if err != nil {
		return "", nil, err
	}
	if by := c.String("by"); by != "" {
		k, err := ks.Load(by)
		return by, k, err
	}
	cfg, err := s.Config()
	if err != nil {
		return "", nil, err
	}
	var have []string
	for _, m := range cfg.Maintainers {
		if _, err := ks.Load(m); err == nil && !cfg.IsRevoked(m) {
			have = append(have, m)
		}
	}
	switch len(have) {
	case 1:
		k, err := ks.Load(have[0])
		return have[0], k, err
	case 0:
		return "", nil, usagef("none of this hive's maintainers (%s) has a key in %s: pass --by MAINTAINER (and --key-dir)", strings.Join(cfg.Maintainers, ", "), ks.Dir)
	}
	return "", nil, usagef("several maintainers have keys here (%s): say which signs with --by", strings.Join(have, ", "))
}

var byFlag = &cli.StringFlag{Name: "by", Usage: "the maintainer who signs (default: the one maintainer whose key is in the key store)"}

func keyRotateCommand() *cli.Command {
	return &cli.Command{
		Name:  "rotate",
		Usage: "replace an instance's registered key: its current key signs the new one (a commit); with --by, a maintainer recovers a lost or stolen key",
		Description: "Without --by, a new key pair is made in the key store, the hive records the rotation signed by the\n" +
			"current key, and the new key becomes current (the old one is kept under retired/). In a hive whose\n" +
			"registered key is one of those retired keys (the instance rotated elsewhere), that key signs a rotation\n" +
			"to the current key instead, and no new key is made. With --by MAINTAINER\n" +
			"and --pub FILE, a maintainer replaces the key by the public key FILE that the instance's owner made.",
		Flags: []cli.Flag{
			instanceFlag,
			&cli.StringFlag{Name: "reason", Usage: "why, recorded in the rotation (default: \"key rotated\")"},
			&cli.StringFlag{Name: "by", Usage: "a maintainer who signs the rotation instead of the current key (recovery)"},
			&cli.StringFlag{Name: "pub", Usage: "with --by: the new public key (PEM) of the instance"},
			&cli.StringFlag{Name: "algorithm", Value: string(signing.Ed25519), Usage: "without --by: the new key's algorithm, ed25519 or ecdsa-p256"},
		},
		Action: func(c *cli.Context) error {
			inst, by := c.String("instance"), c.String("by")
			if (by == "") != (c.String("pub") == "") {
				return usagef("--by and --pub go together: a maintainer rotates to the public key the owner made")
			}
			alg := signing.Algorithm(c.String("algorithm"))
			if alg != signing.Ed25519 && alg != signing.ECDSAP256 {
				return usagef("algorithm %q: want ed25519 or ecdsa-p256", alg)
			}
			reason := c.String("reason")
			if reason == "" {
				reason = "key rotated"
				if by != "" {
					reason = "key recovered by " + by
				}
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			if by != "" {
				pem, err := readInput(c, c.String("pub"), signing.MaxPublicKeySize)
				if err != nil {
					return err
				}
				by, key, err := maintainerKey(c, s)
				if err != nil {
					return err
				}
				commit, err := s.RotateKey(inst, pem, reason, by, key)
				if err != nil {
					return keyHint(c, s, by, key, err)
				}
				fmt.Fprintf(c.App.Writer, "key of %s replaced by %s in commit %s\n", inst, by, commit.String()[:12])
				return nil
			}
			return rotateOwnKey(c, s, inst, alg, reason)
		},
	}
}

// rotateOwnKey stages a new key pair, has the hive record the rotation
// signed by the current key, then makes the new key current. A staged key
// left by an interrupted rotation is made current if the hive already
// registered it, and discarded otherwise.
func rotateOwnKey(c *cli.Context, s *registry.Store, inst string, alg signing.Algorithm, reason string) error {
	ks, err := keyStore(c)
	if err != nil {
		return err
	}
	registered, err := registeredFingerprint(s, inst)
	if err != nil {
		return err
	}
	if staged, err := ks.Staged(inst); err == nil {
		if staged.Public().Fingerprint() == registered {
			retired, err := ks.Promote(inst)
			if err == nil {
				fmt.Fprintf(c.App.Writer, "finished the interrupted rotation of %s: key %s is current (the retired key is in %s)\n", inst, registered[:16], retired)
			}
			return err
		}
		// Another hive may have registered it before the rotation was
		// interrupted: it is kept with the retired keys, never lost.
		if _, err := ks.RetireStaged(inst); err != nil {
			return err
		}
	} else if !errors.Is(err, signing.ErrNotFound) {
		return err
	}
	old, err := ks.Load(inst)
	if err != nil {
		return &hintError{err, "a lost key is replaced by a maintainer: hive key rotate --instance " + inst + " --by MAINTAINER --pub NEW.pub"}
	}
	if old.Public().Fingerprint() != registered {
		return catchUp(c, s, ks, inst, old, registered, reason)
	}
	next, err := signing.Generate(alg, rand.Reader)
	if err != nil {
		return err
	}
	if err := ks.Stage(inst, next); err != nil {
		return err
	}
	commit, err := s.RotateKey(inst, next.Public().MarshalPEM(), reason, inst, old)
	if err != nil {
		ks.Discard(inst)
		return err
	}
	retired, err := ks.Promote(inst)
	if err != nil {
		return fmt.Errorf("the hive now expects key %s of %s, but the key store could not make it current (run hive key rotate --instance %s again): %w",
			next.Public().Fingerprint()[:16], inst, inst, err)
	}
	fmt.Fprintf(c.App.Writer, "key of %s rotated to %s %s in commit %s; the retired key is in %s\n", inst, alg, next.Public().Fingerprint()[:16], commit.String()[:12], retired)
	return nil
}

// catchUp moves a hive whose registered key of inst is one retired on
// this machine (the instance rotated its key in another hive) to the
// current key, in one rotation signed by that retired key: the validator's
// rule, a rotation signed by the registered key, is the same as for any
// rotation.
func catchUp(c *cli.Context, s *registry.Store, ks signing.KeyStore, inst string, current *signing.PrivateKey, registered, reason string) error {
	retired, err := ks.Retired(inst, registered)
	if errors.Is(err, signing.ErrNotFound) {
		err := fmt.Errorf("the private key given for %s does not match %s: %w", inst, registry.KeyPath(inst), registry.ErrUnauthorised)
		return keyHint(c, s, inst, current, err)
	}
	if err != nil {
		return err
	}
	commit, err := s.RotateKey(inst, current.Public().MarshalPEM(), reason, inst, retired)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "key of %s in this hive moved from %s, retired on this machine, to the current key %s in commit %s (signed by the retired key)\n",
		inst, registered[:16], current.Public().Fingerprint()[:16], commit.String()[:12])
	return nil
}

// registeredFingerprint is the fingerprint of instance's key on main.
func registeredFingerprint(s *registry.Store, inst string) (string, error) {
	keys, err := s.Keys()
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.ID == inst {
			return k.Fingerprint, nil
		}
	}
	return "", fmt.Errorf("instance %s has no key in this hive: %w", inst, registry.ErrNotFound)
}

func keyRevokeCommand() *cli.Command {
	return &cli.Command{
		Name:  "revoke",
		Usage: "revoke an instance: a maintainer-signed change of hive.json; nothing it signs enters the hive from the next commit on",
		Flags: []cli.Flag{
			instanceFlag,
			&cli.StringFlag{Name: "reason", Required: true, Usage: "why (recorded in the commit message)"},
			byFlag,
		},
		Action: func(c *cli.Context) error {
			return configChange(c, "revoked "+c.String("instance")+" in commit %s (hive.json signed by %s)",
				func(s *registry.Store, by string, key *signing.PrivateKey) (plumbing.Hash, error) {
					return s.Revoke(c.String("instance"), c.String("reason"), by, key)
				})
		},
	}
}

func keyRegistrationCommand() *cli.Command {
	return &cli.Command{
		Name:      "registration",
		Usage:     "who may register a new instance's key: open (anyone whose commit is accepted) or maintainers (with a maintainer's approval); a maintainer-signed change of hive.json",
		ArgsUsage: "open|maintainers",
		Flags:     []cli.Flag{byFlag},
		Action: func(c *cli.Context) error {
			mode := c.Args().First()
			if c.NArg() != 1 || (mode != registry.RegistrationOpen && mode != registry.RegistrationMaintainers) {
				return usagef("registration takes open or maintainers")
			}
			return configChange(c, "registration is "+mode+" from commit %s on (hive.json signed by %s)",
				func(s *registry.Store, by string, key *signing.PrivateKey) (plumbing.Hash, error) {
					return s.SetRegistration(mode, by, key)
				})
		},
	}
}

// configChange opens the hive, makes a change of hive.json signed by the
// maintainer maintainerKey picks, and says so with done (the commit and
// the maintainer filled in).
func configChange(c *cli.Context, done string, change func(s *registry.Store, by string, key *signing.PrivateKey) (plumbing.Hash, error)) error {
	s, err := openStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	by, key, err := maintainerKey(c, s)
	if err != nil {
		return err
	}
	commit, err := change(s, by, key)
	if err != nil {
		return keyHint(c, s, by, key, err)
	}
	fmt.Fprintf(c.App.Writer, done+"\n", commit.String()[:12], by)
	return nil
}

// addKey registers a key: approved by --by, or by the instance itself when
// it is a maintainer of a hive whose registration is by maintainers, or
// else plainly.
func addKey(c *cli.Context, s *registry.Store, inst string, pem []byte) (plumbing.Hash, error) {
	if c.String("by") != "" {
		by, key, err := maintainerKey(c, s)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		commit, err := s.ApproveKey(inst, pem, by, key)
		return commit, keyHint(c, s, by, key, err)
	}
	cfg, err := s.Config()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if cfg.RegistrationMode() == registry.RegistrationMaintainers && cfg.IsMaintainer(inst) {
		ks, err := keyStore(c)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		own, err := ks.Load(inst)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		commit, err := s.ApproveKey(inst, pem, inst, own)
		return commit, keyHint(c, s, inst, own, err)
	}
	return s.AddKey(inst, pem)
}
