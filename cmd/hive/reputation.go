package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

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
				fmt.Fprintf(c.App.Writer, "%-24s %.4f  %-11s  %d traces  %d successes  %d failures  %d upheld disputes  witness %.2f\n",
					st.Instance, st.Reputation, word, st.Traces, st.Successes, st.Failures, st.Upheld, st.Weight)
			}
			return nil
		},
	}
}
