package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/reuse"
	"github.com/hive-dev/hive/trust"
)

func reputationCommand() *cli.Command {
	return &cli.Command{
		Name: "reputation",
		Usage: "each instance's reputation, from what the hive holds: outcomes others reported, weighted by their " +
			"standing, upheld disputes, and a little of its own claims (docs/search.md)",
		ArgsUsage: "[INSTANCE]",
		Flags:     []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("reputation takes at most one instance id")
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			t, err := trust.Reputation(s)
			if err != nil {
				return err
			}
			list := t.All()
			if c.NArg() == 1 {
				if err := reuse.KnownInstance(s, t, c.Args().First()); err != nil {
					return err
				}
				list = []trust.Standing{t.Of(c.Args().First())}
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, list)
			}
			for _, st := range list {
				// "trusted" is the local policy's word (hive resolve);
				// vouched for is reputation at least trust.Vouched.
				word := "not vouched"
				if st.Vouched {
					word = "vouched"
				}
				fmt.Fprintf(c.App.Writer, "%-24s %.4f  %-11s  %s  %s  %s  %s  witness %.2f\n",
					st.Instance, st.Reputation, word, plural.N(st.Traces, "trace"), plural.N(st.Successes, "success"), plural.N(st.Failures, "failure"), plural.N(st.Upheld, "upheld dispute"), st.Weight)
			}
			return nil
		},
	}
}
