package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

func reputationCommand() *cli.Command {
	return &cli.Command{
		Name:      "reputation",
		Usage:     "each instance's reputation, computed from the hive's history (start 0.5, 0.9/0.1 moving average, trusted at 0.8)",
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
			ix, err := search.OpenIndex(s)
			if err != nil {
				return err
			}
			t, err := trust.Reputation(s, ix)
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
				word := "untrusted"
				if st.Trusted {
					word = "trusted"
				}
				fmt.Fprintf(c.App.Writer, "%-24s %.4f  %-9s  %d traces  %d upheld disputes\n", st.Instance, st.Reputation, word, st.Traces, st.Upheld)
			}
			return nil
		},
	}
}
