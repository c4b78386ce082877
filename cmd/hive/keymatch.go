package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/signing"
)

// keyHint adds to err, the refusal of something inst signed with key in s,
// what to do when key is not the key s's main has registered for inst:
// after a rotation made in another hive, the key this hive has is retired
// on this machine, and hive key rotate here signs with it to move the hive
// on. Any other err is returned as it is.
func keyHint(c *cli.Context, s *registry.Store, inst string, key *signing.PrivateKey, err error) error {
	var h *hintError
	if err == nil || key == nil || errors.As(err, &h) {
		return err
	}
	registered, rerr := registeredFingerprint(s, inst)
	if rerr != nil || key.Public().Fingerprint() == registered {
		return err
	}
	ks, kerr := keyStore(c)
	if kerr != nil {
		return err
	}
	if cur, cerr := ks.Load(inst); cerr == nil && cur.Public().Fingerprint() == registered {
		return &hintError{err, fmt.Sprintf("this hive has %s's key %s, the key store's: sign with it (without --key)", inst, registered[:16])}
	}
	if staged, serr := ks.Staged(inst); serr == nil && staged.Public().Fingerprint() == registered {
		return &hintError{err, fmt.Sprintf("this hive has %s's key %s, staged by a rotation interrupted on this machine: run `hive key rotate --instance %s` here to finish it", inst, registered[:16], inst)}
	}
	if _, rerr := ks.Retired(inst, registered); rerr == nil {
		return &hintError{err, fmt.Sprintf("this hive has %s's key %s, retired on this machine: run `hive key rotate --instance %s` here to move this hive to the current key (or `hive pull`, if a clone of this hive made the rotation)", inst, registered[:16], inst)}
	}
	return &hintError{err, fmt.Sprintf("this hive has %s's key %s, which is not in %s nor retired there: use the key store that holds it (--key-dir), or have a maintainer recover it: `hive key rotate --instance %s --by MAINTAINER --pub NEW.pub`", inst, registered[:16], ks.Dir, inst)}
}

// givenKeys records the keys a registry.KeyFunc hands out, so that a
// refusal can be explained with keyHint.
type givenKeys struct {
	keys  registry.KeyFunc
	given map[string]*signing.PrivateKey
}

// KeyFunc is keys, recording what it returns.
func (g *givenKeys) KeyFunc(inst string) (*signing.PrivateKey, error) {
	k, err := g.keys(inst)
	if err == nil {
		if g.given == nil {
			g.given = map[string]*signing.PrivateKey{}
		}
		g.given[inst] = k
	}
	return k, err
}

// explain is keyHint for the first instance, by name, whose given key is
// not the one s has registered.
func (g *givenKeys) explain(c *cli.Context, s *registry.Store, err error) error {
	if err == nil {
		return nil
	}
	insts := make([]string, 0, len(g.given))
	for inst := range g.given {
		insts = append(insts, inst)
	}
	slices.Sort(insts)
	for _, inst := range insts {
		if e := keyHint(c, s, inst, g.given[inst], err); e != err {
			return e
		}
	}
	return err
}
