package main

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/registry"
)

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "a line diff of two traces: intent, reasoning path, result and other fields",
		ArgsUsage: "ID ID",
		Flags:     []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usagef("diff takes two trace ids")
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			var es [2]*registry.Entry
			for i := range es {
				id, err := s.ResolveID(c.Args().Get(i))
				if err != nil {
					return err
				}
				if es[i], err = s.Trace(id); err != nil {
					return err
				}
			}
			d := lineage.Diff(es[0].ID, es[0].Trace, es[1].ID, es[1].Trace)
			if c.Bool("json") {
				return printJSON(c.App.Writer, d)
			}
			_, err = io.WriteString(c.App.Writer, d.Format())
			return err
		},
	}
}
