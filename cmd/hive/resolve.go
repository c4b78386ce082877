package main

import (
	"errors"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/trust"
)

func resolveCommand() *cli.Command {
	return &cli.Command{
		Name:      "resolve",
		Usage:     "the result of the best trusted skill for INTENT (the trust policy is in git config hive.trust.*)",
		ArgsUsage: "INTENT",
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "threshold", Usage: "the least similarity, in [0,1] (default: git config hive.trust.threshold, else 0.7)"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("resolve takes one intent (quote it)")
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			p, err := trust.LoadPolicy(s)
			if err != nil {
				return err
			}
			if c.IsSet("threshold") {
				if p.Threshold = c.Float64("threshold"); p.Threshold < 0 || p.Threshold > 1 {
					return usagef("--threshold %g: want a number in [0,1]", p.Threshold)
				}
			}
			r, err := trust.Resolve(s, c.Args().First(), p)
			if errors.Is(err, trust.ErrNoSkill) {
				return &hintError{err, "see `hive search`, and the trust policy in `git config --get-regexp hive.trust`"}
			}
			if err != nil {
				return err
			}
			if !c.Bool("json") {
				_, err := io.WriteString(c.App.Writer, r.Entry.Trace.Result)
				return err
			}
			src, err := s.LineageContext(c.Context)
			if err != nil {
				return err
			}
			g, err := lineage.Walk(src, r.ID)
			if err != nil {
				return err
			}
			return printJSON(c.App.Writer, struct {
				ID         schema.ID           `json:"id"`
				Score      float64             `json:"score"`
				Reputation float64             `json:"reputation"`
				Standing   trust.SkillStanding `json:"standing"`
				Trace      *schema.Trace       `json:"trace"`
				Lineage    *lineage.Graph      `json:"lineage"`
			}{r.ID, r.Score, r.Reputation, r.Skill, r.Entry.Trace, g})
		},
	}
}
