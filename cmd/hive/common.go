package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"}

// openStore opens the hive named by --repo. What it repairs on its own (a
// lock or temporary files that a killed writer left) is a warning.
func openStore(c *cli.Context) (*registry.Store, error) {
	s, err := registry.Open(c.String("repo"), registry.WithNotify(func(msg string) {
		fmt.Fprintf(c.App.ErrWriter, "hive: warning: %s\n", msg)
	}))
	if errors.Is(err, registry.ErrNotFound) {
		return nil, &hintError{err, "run `hive init DIR`, or pass --repo DIR"}
	}
	return s, err
}

// maintain packs the hive's loose objects, as git does after its own
// commands, when there are more than gc.auto of them. A failure is only
// a warning: the command's work is done.
func maintain(c *cli.Context, s *registry.Store) {
	if !s.NeedsPacking() {
		return
	}
	if err := s.Pack(); err != nil {
		fmt.Fprintf(c.App.ErrWriter, "hive: warning: %v\n", err)
	}
}

// openTrace opens the hive and resolves the trace id (or prefix) given as
// the command's first argument.
func openTrace(c *cli.Context) (*registry.Store, schema.ID, error) {
	s, err := openStore(c)
	if err != nil {
		return nil, "", err
	}
	id, err := s.ResolveID(c.Args().First())
	if err != nil {
		s.Close()
		return nil, "", err
	}
	return s, id, nil
}

// keyStore is the private key store named by --key-dir or the default.
func keyStore(c *cli.Context) (signing.KeyStore, error) {
	if d := c.String("key-dir"); d != "" {
		return signing.KeyStore{Dir: d}, nil
	}
	return signing.DefaultKeyStore()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// readInput reads a file, or standard input for "-".
func readInput(c *cli.Context, name string, max int64) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = c.App.Reader
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: over %d bytes", name, max)
	}
	return b, nil
}

// resolveRev turns a revision (a ref, a hash, HEAD~2...) into a commit.
func resolveRev(s *registry.Store, rev string) (plumbing.Hash, error) {
	return s.ResolveRevision(rev)
}
