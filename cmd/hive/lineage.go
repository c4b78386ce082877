package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/schema"
)

func lineageCommand() *cli.Command {
	return &cli.Command{
		Name:      "lineage",
		Usage:     "show a trace's ancestors and descendants with the commits that introduced them",
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json, or dot (Graphviz: hive lineage ID --format dot | dot -Tsvg > lineage.svg)"},
			&cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON (--format json)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("lineage takes one trace id")
			}
			format := c.String("format")
			if c.Bool("json") {
				if c.IsSet("format") && format != "json" {
					return usagef("--json and --format %s disagree", format)
				}
				format = "json"
			}
			if format != "text" && format != "json" && format != "dot" {
				return usagef("--format %s: want text, json or dot", format)
			}
			s, id, err := openTrace(c)
			if err != nil {
				return err
			}
			defer s.Close()
			src, err := s.LineageContext(c.Context)
			if err != nil {
				return err
			}
			g, err := lineage.Walk(src, id)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return printJSON(c.App.Writer, g)
			case "dot":
				_, err := io.WriteString(c.App.Writer, g.Dot())
				return err
			}
			w := c.App.Writer
			line := func(label string, id schema.ID) {
				n := g.Nodes[id]
				commit := "(not in this hive)"
				switch {
				case n.RemovedIn != "":
					commit = "commit " + short(n.Commit) + ", removed in commit " + short(n.RemovedIn) + " (dispute " + n.Dispute.Short() + ")"
				case !n.Missing:
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
