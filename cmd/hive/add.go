package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// maxInputFile bounds one input file of many traces.
const maxInputFile = 256 << 20

func addCommand() *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "validate, canonicalise, sign and commit traces (one commit each); prints their ids",
		ArgsUsage: "FILE|- ...",
		Description: "Each FILE holds one trace, a JSON array of traces, or traces one after another (JSON Lines).\n" +
			"Each trace is signed with the key of its instance_id from the key store, or with --key.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "a PEM private key file to sign with, instead of the key store"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("add needs a FILE or - for standard input")
			}
			inputs, err := readTraces(c, c.Args().Slice())
			if err != nil {
				return err
			}
			keys, err := keyFunc(c)
			if err != nil {
				return err
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			added, err := s.AddContext(c.Context, inputs, keys)
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("add: nothing was committed: %w", err)
			}
			if err := printAdded(c, added); err != nil {
				return err
			}
			warnDuplicates(c, s, added)
			if len(added) > 0 {
				maintain(c, s)
			}
			return err
		},
	}
}

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "commit traces from federation_trace_v1 envelopes, keeping their signatures",
		ArgsUsage: "FILE|- ...",
		Flags:     []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("import needs a FILE or - for standard input")
			}
			inputs, err := readTraces(c, c.Args().Slice())
			if err != nil {
				return err
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			added, err := s.Import(inputs)
			if err := printAdded(c, added); err != nil {
				return err
			}
			warnDuplicates(c, s, added)
			if len(added) > 0 {
				maintain(c, s)
			}
			return err
		},
	}
}

func printAdded(c *cli.Context, added []registry.Added) error {
	if c.Bool("json") {
		type row struct {
			ID     schema.ID `json:"id"`
			Commit string    `json:"commit"`
			Input  string    `json:"input"`
		}
		rows := []row{}
		for _, a := range added {
			rows = append(rows, row{a.ID, a.Commit.String(), a.Name})
		}
		if len(rows) == 0 {
			return nil
		}
		return printJSON(c.App.Writer, rows)
	}
	for _, a := range added {
		fmt.Fprintln(c.App.Writer, a.ID)
	}
	return nil
}

// keyFunc signs with --key, or with the key store's key of each instance.
func keyFunc(c *cli.Context) (registry.KeyFunc, error) {
	if f := c.String("key"); f != "" {
		b, err := readInput(c, f, 64<<10)
		if err != nil {
			return nil, err
		}
		k, err := signing.ParsePrivateKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		return func(string) (*signing.PrivateKey, error) { return k, nil }, nil
	}
	ks, err := keyStore(c)
	if err != nil {
		return nil, err
	}
	return func(inst string) (*signing.PrivateKey, error) {
		k, err := ks.Load(inst)
		if errors.Is(err, signing.ErrNotFound) {
			return nil, &hintError{err, fmt.Sprintf("run `hive keygen --instance %s`, or pass --key FILE", inst)}
		}
		return k, err
	}, nil
}

// readTraces reads every trace in the named files.
func readTraces(c *cli.Context, names []string) ([]registry.Input, error) {
	var inputs []registry.Input
	for _, name := range names {
		b, err := readInput(c, name, maxInputFile)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, registry.SplitInput(name, b)...)
	}
	return inputs, nil
}
