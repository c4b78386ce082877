package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/schema"
)

func lineageCommand() *cli.Command {
	return &cli.Command{
		Name:      "lineage",
		Usage:     "show a trace's ancestors and descendants with the commits that introduced them",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("lineage takes one trace id")
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			id, err := s.ResolveID(c.Args().First())
			if err != nil {
				return err
			}
			src, err := s.Lineage()
			if err != nil {
				return err
			}
			g, err := lineage.Walk(src, id)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, g)
			}
			w := c.App.Writer
			line := func(label string, id schema.ID) {
				n := g.Nodes[id]
				commit := "(not in this hive)"
				if !n.Missing {
					commit = "commit " + short(n.Commit)
				}
				fmt.Fprintf(w, "%-10s %+d  %s  %s  %s  %s\n", label, g.Depth[id], id, commit, n.Instance, schema.Quote(n.Intent, 60))
			}
			for i := len(g.Ancestors) - 1; i >= 0; i-- {
				line("ancestor", g.Ancestors[i])
			}
			line("trace", id)
			for _, d := range g.Descendants {
				line("descendant", d)
			}
			return nil
		},
	}
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
