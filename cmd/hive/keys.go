package main

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

var instanceFlag = &cli.StringFlag{Name: "instance", Usage: "the instance id (lower case, digits, _ and -)", Required: true}

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "make an instance's key pair; the private key stays in the key store (mode 0600)",
		Flags: []cli.Flag{
			instanceFlag,
			&cli.StringFlag{Name: "algorithm", Value: string(signing.Ed25519), Usage: "ed25519 or ecdsa-p256"},
		},
		Action: func(c *cli.Context) error {
			inst := c.String("instance")
			if !schema.ValidInstanceID(inst) {
				return usagef("instance id %s must match %s", schema.Quote(inst, 70), schema.InstanceIDPattern)
			}
			alg := signing.Algorithm(c.String("algorithm"))
			if alg != signing.Ed25519 && alg != signing.ECDSAP256 {
				return usagef("algorithm %q: want ed25519 or ecdsa-p256", alg)
			}
			ks, err := keyStore(c)
			if err != nil {
				return err
			}
			k, err := signing.Generate(alg, rand.Reader)
			if err != nil {
				return err
			}
			if err := ks.Create(inst, k); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "instance %s: %s key %s\nprivate key in %s\n", inst, alg, k.Public().Fingerprint(), ks.Dir)
			return nil
		},
	}
}

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "manage the keys registered in the hive",
		Subcommands: []*cli.Command{{
			Name:  "add",
			Usage: "register an instance's public key in the hive (one commit)",
			Flags: []cli.Flag{
				instanceFlag,
				&cli.StringFlag{Name: "pub", Usage: "a PEM public key file (default: the key store's)"},
				&cli.StringFlag{Name: "by", Usage: "a maintainer who approves the key (needed where registration is by maintainers)"},
			},
			Action: func(c *cli.Context) error {
				inst := c.String("instance")
				var pem []byte
				var err error
				if f := c.String("pub"); f != "" {
					pem, err = readInput(c, f, signing.MaxPublicKeySize)
				} else {
					var ks signing.KeyStore
					if ks, err = keyStore(c); err == nil {
						pem, err = ks.PublicPEM(inst)
					}
					if errors.Is(err, signing.ErrNotFound) {
						err = &hintError{err, fmt.Sprintf("run `hive keygen --instance %s` first, or pass --pub FILE", inst)}
					}
				}
				if err != nil {
					return err
				}
				s, err := openStore(c)
				if err != nil {
					return err
				}
				defer s.Close()
				commit, err := addKey(c, s, inst, pem)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "registered key of %s in commit %s\n", inst, commit.String()[:12])
				return nil
			},
		}, keyRotateCommand(), keyRevokeCommand(), keyRegistrationCommand()},
	}
}
