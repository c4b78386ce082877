package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/internal/gitdir"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"}

// walkGC has the collector run when the heap grows by half, not by all of
// it (GOGC 50), unless the user set GOGC: the commands that walk a whole
// history (verify, clone, pull) keep many objects alive for a short
// while, and this lowers their peak memory for a little more CPU
// (docs/performance.md).
func walkGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(50)
	}
}

// openStore opens the hive named by --repo (hiveDir); what the hive
// repairs on its own, and warnings that fail nothing, go to stderr.
func openStore(c *cli.Context) (*registry.Store, error) {
	dir, err := hiveDir(c)
	if err != nil {
		return nil, notHive(err)
	}
	s, err := registry.Open(dir, notify(c))
	return s, notHive(err)
}

// hiveDir is the hive's folder: --repo (or $HIVE_REPO) as given, else
// the repository the current folder is in, found as git finds it (the
// folder, then its parents, up to the root or GIT_CEILING_DIRECTORIES).
func hiveDir(c *cli.Context) (string, error) {
	if c.IsSet("repo") {
		return c.String("repo"), nil
	}
	dir, err := gitdir.Find(".", os.Getenv("GIT_CEILING_DIRECTORIES"))
	var nf *gitdir.NotFoundError
	if errors.As(err, &nf) {
		return "", &notInHive{nf}
	}
	if err != nil {
		return "", err
	}
	if here, err := filepath.Abs("."); err == nil {
		if real, err := filepath.EvalSymlinks(here); err == nil && real == dir {
			return ".", nil // as the user wrote it, in messages
		}
	}
	return dir, nil
}

// notInHive is hiveDir's answer in a folder that no hive holds.
type notInHive struct{ err *gitdir.NotFoundError }

func (e *notInHive) Error() string { return "not in a hive: " + e.err.Error() }
func (e *notInHive) Unwrap() error { return registry.ErrNotFound }

// notify writes what a hive repairs on its own, and warnings that fail
// nothing, to stderr.
func notify(c *cli.Context) registry.Option {
	return registry.WithNotify(func(msg string) { fmt.Fprintf(c.App.ErrWriter, "hive: %s\n", shownURL(msg)) })
}

// notHive makes the error of opening a folder that is no hive a usage
// error (exit 2, as a wrong flag is), with a hint.
func notHive(err error) error {
	if errors.Is(err, registry.ErrNotFound) {
		return &hintError{&noHiveError{err}, "run `hive init DIR`, or pass --repo DIR"}
	}
	return err
}

// noHiveError is a command run where there is no hive: --repo (or the
// folder it defaults to) is not one. It exits 2.
type noHiveError struct{ err error }

func (e *noHiveError) Error() string { return e.err.Error() }
func (e *noHiveError) Unwrap() error { return e.err }

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

// readInput reads a file, or standard input for "-", refusing more than
// max bytes: a regular file by its size before any byte is read, a stream
// as soon as it passes max (so memory never exceeds about max).
func readInput(c *cli.Context, name string, max int64) ([]byte, error) {
	var r io.Reader
	size := int64(-1)
	if name == "-" {
		r = c.App.Reader
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("%s is a folder, not a file", name)
		} else if err == nil && fi.Mode().IsRegular() {
			if size = fi.Size(); size > max {
				return nil, fmt.Errorf("%s: %d bytes, over the limit of %d", name, size, max)
			}
		}
		r = f
	}
	var buf bytes.Buffer
	if size >= 0 {
		buf.Grow(int(size) + 1) // one allocation of the right size, not a doubling series
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, max+1)); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // it says "read NAME: ..." already
			return nil, err
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(buf.Len()) > max {
		return nil, fmt.Errorf("%s: over the limit of %d bytes", name, max)
	}
	return buf.Bytes(), nil
}

// resolveRev turns a revision (a ref, a hash, HEAD~2...) into a commit.
func resolveRev(c *cli.Context, s *registry.Store, rev string) (plumbing.Hash, error) {
	h, err := s.ResolveRevision(rev)
	if errors.Is(err, registry.ErrNotFound) {
		return plumbing.ZeroHash, usagef("revision %s: no such commit in %s", schema.Quote(rev, 80), c.String("repo"))
	}
	return h, err
}
