package main

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "check a hive's history against every rule; exit 1 and one line a violation if any breaks",
		Description: "Without --base, the whole history is checked (commits already recorded as verified are skipped\n" +
			"unless --full). With --base, only commits reachable from --head and not from --base: the pull-request gate.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "base", Usage: "the trusted revision the range starts from"},
			&cli.StringFlag{Name: "head", Value: "refs/heads/main", Usage: "the revision to verify"},
			&cli.BoolFlag{Name: "full", Usage: "ignore the record of verified tips"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("verify takes no arguments (got %s); name revisions with --base and --head", schema.Quote(c.Args().First(), 60))
			}
			walkGC()
			s, err := openStore(c) // no hive there is a usage error, so that exit 1 always means violations
			if err != nil {
				return err
			}
			defer s.Close()
			head, err := resolveRev(c, s, c.String("head"))
			if err != nil {
				return err
			}
			var base plumbing.Hash
			if b := c.String("base"); b != "" {
				if base, err = resolveRev(c, s, b); err != nil {
					return err
				}
			}
			r, err := s.VerifyContext(c.Context, head, registry.VerifyOptions{Base: base, Full: c.Bool("full")})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if err := printJSON(c.App.Writer, verifyJSON(r)); err != nil {
					return err
				}
			} else {
				for _, v := range r.Violations {
					fmt.Fprintln(c.App.Writer, v.Error())
				}
				if r.Omitted > 0 {
					fmt.Fprintf(c.App.Writer, "... and %s\n", plural.N(r.Omitted, "more violation"))
				}
			}
			what := plural.N(r.Commits, "commit") + ", " + plural.N(r.Traces, "trace") + ", " + plural.N(r.Keys, "key")
			if r.Cached {
				what = "already verified"
			}
			if len(r.Violations) > 0 {
				fmt.Fprintf(c.App.ErrWriter, "hive: %s at %s: %s (%s)\n", "refused", head.String()[:12], plural.N(len(r.Violations)+r.Omitted, "violation"), what)
				return &silentError{r.Err()}
			}
			fmt.Fprintf(c.App.ErrWriter, "hive: valid: %s at %s (%s)\n", rangeName(base, head), head.String()[:12], what)
			return nil
		},
	}
}

func rangeName(base, head plumbing.Hash) string {
	if base.IsZero() {
		return "whole history"
	}
	return base.String()[:12] + ".." + head.String()[:12]
}

type violationJSON struct {
	Commit string        `json:"commit"`
	Path   string        `json:"path"`
	Rule   registry.Rule `json:"rule"`
	Msg    string        `json:"message"`
}

func verifyJSON(r *registry.Report) any {
	vs := []violationJSON{}
	for _, v := range r.Violations {
		vs = append(vs, violationJSON{v.Commit.String(), v.Path, v.Rule, v.Msg})
	}
	base := ""
	if !r.Base.IsZero() {
		base = r.Base.String()
	}
	return struct {
		Valid      bool            `json:"valid"`
		Head       string          `json:"head"`
		Base       string          `json:"base,omitempty"`
		Commits    int             `json:"commits"`
		Traces     int             `json:"traces"`
		Keys       int             `json:"keys"`
		Cached     bool            `json:"cached"`
		Violations []violationJSON `json:"violations"`
		Omitted    int             `json:"omitted"`
	}{len(r.Violations) == 0, r.Head.String(), base, r.Commits, r.Traces, r.Keys, r.Cached, vs, r.Omitted}
}
