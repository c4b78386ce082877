package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

func searchCommand() *cli.Command {
	return &cli.Command{
		Name:      "search",
		Usage:     "skills ranked by how well their intent matches QUERY",
		ArgsUsage: "QUERY",
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "threshold", Value: search.DefaultThreshold, Usage: "the least similarity, in [0,1]"},
			&cli.IntFlag{Name: "limit", Usage: "at most this many skills (0: all)"},
			&cli.StringFlag{Name: "instance", Usage: "only skills of this instance"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("search takes one query (quote it)")
			}
			th := c.Float64("threshold")
			if th < 0 || th > 1 {
				return usagef("--threshold %g: want a number in [0,1]", th)
			}
			if c.Int("limit") < 0 {
				return usagef("--limit %d: want 0 or more", c.Int("limit"))
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			ix, err := search.OpenIndex(s)
			if err != nil {
				return err
			}
			rs := ix.Search(search.Query{Text: c.Args().First(), Threshold: th, Limit: c.Int("limit"), Instance: c.String("instance")})
			table, err := trust.Reputation(s)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				type ranked struct {
					search.Result
					Standing trust.SkillStanding `json:"standing"`
				}
				out := []ranked{}
				for _, r := range rs {
					out = append(out, ranked{r, table.Skill(r.ID)})
				}
				if err := printJSON(c.App.Writer, out); err != nil {
					return err
				}
			} else {
				for _, r := range rs {
					fmt.Fprintf(c.App.Writer, "%.3f  %s  %s  %s", r.Score, r.ID, r.InstanceID, schema.Quote(r.Intent, 80))
					if sk := table.Skill(r.ID); sk.Successes+sk.Failures > 0 {
						fmt.Fprintf(c.App.Writer, "  [%s]", standingText(sk))
					}
					fmt.Fprintln(c.App.Writer)
				}
			}
			if len(rs) == 0 {
				return fmt.Errorf("no skill scores %g or more", th)
			}
			return nil
		},
	}
}
