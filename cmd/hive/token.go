package main

import (
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/server"
	"github.com/hive-dev/hive/tokens"
)

var stateFlag = &cli.StringFlag{Name: "state", Usage: "the server's state folder, which holds its tokens (default: $HIVE_STATE_DIR/serve/<hive>, else under ~/.local/state/hive)", EnvVars: []string{"HIVE_SERVE_STATE"}}

// serveOptions are the server's options from the serve command's flags.
func serveOptions(c *cli.Context, dir string) (server.Options, error) {
	ts, err := tokenStore(c, dir)
	if err != nil {
		return server.Options{}, err
	}
	perMinute := func(name string) float64 {
		if n := c.Int(name); n > 0 {
			return float64(n)
		}
		return -1
	}
	for _, f := range []string{"git-backends", "conns-per-addr"} {
		if c.Int(f) < 1 {
			return server.Options{}, usagef("--%s must be at least 1", f)
		}
	}
	if c.Duration("git-timeout") <= 0 {
		return server.Options{}, usagef("--git-timeout must be positive")
	}
	return server.Options{Tokens: ts, Private: c.Bool("private"), Limits: server.Limits{
		GitBackends:  c.Int("git-backends"),
		GitTimeout:   c.Duration("git-timeout"),
		ConnsPerAddr: c.Int("conns-per-addr"),
		Writes:       server.Rate{PerMinute: perMinute("write-limit")},
		Searches:     server.Rate{PerMinute: perMinute("search-limit")},
	}}, nil
}

// tokenStore is the token store of the server of the hive at dir: in
// --state, else in the hive's default state folder.
func tokenStore(c *cli.Context, dir string) (*tokens.Store, error) {
	if d := c.String("state"); d != "" {
		return tokens.Open(d), nil
	}
	s, err := registry.Open(dir)
	if err != nil {
		return nil, err
	}
	gitDir := s.GitDir()
	s.Close()
	d, err := tokens.DefaultDir(gitDir)
	if err != nil {
		return nil, err
	}
	return tokens.Open(d), nil
}

// servedStore opens the hive hive serve would serve, which must exist,
// and its server's token store.
func servedStore(c *cli.Context) (*tokens.Store, *registry.Store, error) {
	dir, err := hiveToServe(c)
	if err != nil {
		return nil, nil, err
	}
	s, err := registry.Open(dir)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, nil, &hintError{&noHiveError{err}, "pass --repo DIR: the hive the server serves"}
	}
	if err != nil {
		return nil, nil, err
	}
	ts, err := tokenStore(c, dir)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return ts, s, nil
}

func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "manage the server's API tokens: git pushes and writes authenticate with them",
		Subcommands: []*cli.Command{{
			Name:  "add",
			Usage: "make a token that writes as an instance; it is printed once, and only its hash is kept",
			Flags: []cli.Flag{
				instanceFlag,
				&cli.StringFlag{Name: "scope", Value: string(tokens.Write), Usage: "write (as the instance) or maintainer (the instance must be a maintainer of the hive)"},
				&cli.StringFlag{Name: "expires", Value: "90d", Usage: "never, days (90d), a duration (36h), or a date (2027-01-31)"},
				stateFlag,
			},
			Action: func(c *cli.Context) error {
				inst, scope := c.String("instance"), tokens.Scope(c.String("scope"))
				if !schema.ValidInstanceID(inst) {
					return usagef("instance id %s must match %s", schema.Quote(inst, 70), schema.InstanceIDPattern)
				}
				if scope != tokens.Write && scope != tokens.Maintainer {
					return usagef("--scope must be %s or %s", tokens.Write, tokens.Maintainer)
				}
				expires, err := tokens.ParseExpiry(c.String("expires"), time.Now())
				if err != nil {
					return usagef("--expires: %v", err)
				}
				ts, s, err := servedStore(c)
				if err != nil {
					return err
				}
				defer s.Close()
				if scope == tokens.Maintainer {
					cfg, err := s.Config()
					if err != nil {
						return err
					}
					if !slices.Contains(cfg.Maintainers, inst) {
						return &hintError{fmt.Errorf("instance %s is not a maintainer of this hive", inst), "a maintainer token acts as a maintainer listed in hive.json"}
					}
				}
				secret, t, err := ts.Add(inst, scope, expires)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.App.Writer, secret)
				fmt.Fprintf(c.App.ErrWriter, "hive: token %s writes as %s (%s), %s; it is shown only now. Kept as a hash in %s\n", t.ID, t.Instance, t.Scope, expiry(t), ts.Dir())
				return nil
			},
		}, {
			Name:  "list",
			Usage: "list the server's tokens (never their secrets)",
			Flags: []cli.Flag{stateFlag, jsonFlag},
			Action: func(c *cli.Context) error {
				ts, s, err := servedStore(c)
				if err != nil {
					return err
				}
				s.Close()
				list, err := ts.List()
				if err != nil {
					return err
				}
				if c.Bool("json") {
					if list == nil {
						list = []tokens.Token{}
					}
					return printJSON(c.App.Writer, list)
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tINSTANCE\tSCOPE\tCREATED\tEXPIRES")
				for _, t := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Instance, t.Scope, t.Created.Format(time.DateOnly), expiry(t))
				}
				tw.Flush()
				if len(list) == 0 {
					fmt.Fprintf(c.App.ErrWriter, "hive: no tokens in %s: the server refuses git pushes\n", ts.Dir())
				}
				return nil
			},
		}, {
			Name:      "revoke",
			Usage:     "revoke a token: it stops working at once, even on a running server",
			ArgsUsage: "ID",
			Flags:     []cli.Flag{stateFlag},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("revoke takes one token id (see hive serve token list)")
				}
				ts, s, err := servedStore(c)
				if err != nil {
					return err
				}
				s.Close()
				t, err := ts.Revoke(c.Args().First())
				if errors.Is(err, tokens.ErrNotFound) {
					return &hintError{err, "see hive serve token list"}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "revoked token %s of %s\n", t.ID, t.Instance)
				return nil
			},
		}},
	}
}

// expiry describes when a token expires.
func expiry(t tokens.Token) string {
	switch {
	case t.Expires.IsZero():
		return "never expires"
	case t.Expired(time.Now()):
		return "expired " + t.Expires.Format(time.DateOnly)
	}
	return "expires " + t.Expires.Format(time.DateOnly)
}
