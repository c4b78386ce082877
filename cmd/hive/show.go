package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/trust"
)

func showCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "print a trace",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("show takes one trace id")
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			e, err := lookupTrace(s, c.Args().First())
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, struct {
					ID     schema.ID       `json:"id"`
					Trace  json.RawMessage `json:"trace"`
					Bundle json.RawMessage `json:"bundle"`
				}{e.ID, e.Data, e.Bundle})
			}
			printTrace(c, e)
			return nil
		},
	}
}

func lookupTrace(s *registry.Store, q string) (*registry.Entry, error) {
	id, err := s.ResolveID(q)
	if err != nil {
		return nil, err
	}
	return s.Trace(id)
}

func printTrace(c *cli.Context, e *registry.Entry) {
	t := e.Trace
	w := c.App.Writer
	fmt.Fprintf(w, "trace      %s\n", e.ID)
	fmt.Fprintf(w, "intent     %s\n", t.Intent)
	fmt.Fprintf(w, "instance   %s\n", t.InstanceID)
	fmt.Fprintf(w, "created    %s\n", t.CreatedAt)
	fmt.Fprintf(w, "confidence %g  verification %g\n", t.Confidence, t.VerificationScore)
	if len(t.Tags) > 0 {
		fmt.Fprintf(w, "tags       %s\n", strings.Join(t.Tags, ", "))
	}
	for _, p := range t.Lineage {
		fmt.Fprintf(w, "lineage    %s\n", p)
	}
	fmt.Fprintln(w, "reasoning")
	for _, st := range t.ReasoningPath {
		fmt.Fprintf(w, "  %d. %s\n", st.Step, st.Action)
		if st.Detail != "" {
			fmt.Fprintf(w, "     %s\n", strings.ReplaceAll(st.Detail, "\n", "\n     "))
		}
	}
	fmt.Fprintln(w, "result")
	for _, line := range strings.Split(t.Result, "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "print a trace as a federation_trace_v1 envelope (trace fields, trace_id, signature)",
		ArgsUsage: "ID",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("export takes one trace id")
			}
			s, id, err := openTrace(c)
			if err != nil {
				return err
			}
			defer s.Close()
			b, err := s.Export(id)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s\n", b)
			return nil
		},
	}
}

func instancesCommand() *cli.Command {
	return &cli.Command{
		Name:  "instances",
		Usage: "list the registered instances with their keys, trace counts and reputations",
		Flags: []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			list, _, err := trust.Instances(s)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, list)
			}
			for _, in := range list {
				var marks []string
				if in.Maintainer {
					marks = append(marks, "maintainer")
				}
				if in.Revoked {
					marks = append(marks, "revoked")
				}
				if in.Rotations > 0 {
					marks = append(marks, fmt.Sprintf("rotated %d", in.Rotations))
				}
				fmt.Fprintf(c.App.Writer, "%-24s %-10s %s  %s  reputation %.4f%s\n", in.ID, in.Algorithm, in.Fingerprint[:16], plural.N(in.Traces, "trace"), in.Reputation,
					strings.TrimRight(" "+strings.Join(marks, " "), " "))
			}
			return nil
		},
	}
}
