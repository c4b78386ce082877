package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/schema"
)

func publishCommand() *cli.Command {
	return &cli.Command{
		Name:      "publish",
		Usage:     "sign traces with the key store's keys and post them to a hive server: no local hive, no local commit",
		ArgsUsage: "FILE|-",
		Description: "Each trace may leave out instance_id (then --instance fills it) and created_at (now).\n" +
			"Traces are posted in the order given: parents before the skills derived from them.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "server", Usage: "the hive server, such as http://127.0.0.1:8080 (required)"},
			&cli.StringFlag{Name: "instance", Usage: "the instance that signs (default: each trace's instance_id)"},
			&cli.StringFlag{Name: "key", Usage: "a PEM private key file to sign with, instead of the key store"},
			tokenFlag,
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("publish takes one FILE, or - for standard input")
			}
			if c.String("server") == "" {
				return usagef("publish needs --server URL: the hive server to post to")
			}
			if err := checkServerURL(c.String("server")); err != nil {
				return err
			}
			inst := c.String("instance")
			if inst != "" && !schema.ValidInstanceID(inst) {
				return usagef("--instance %s must match %s", schema.Quote(inst, 70), schema.InstanceIDPattern)
			}
			inputs, err := readTraces(c, c.Args().Slice())
			if err != nil {
				return err
			}
			keys, err := keyFunc(c)
			if err != nil {
				return err
			}
			cl := serverClient(c)
			type row struct {
				ID     schema.ID `json:"id"`
				Commit string    `json:"commit"`
				Input  string    `json:"input"`
			}
			rows := []row{}
			for _, in := range inputs {
				trace, err := schema.Complete(in.Data, inst, time.Now())
				if err == nil {
					_, err = schema.ParseCanonical(trace)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", in.Name, err)
				}
				t, _ := schema.Parse(trace)
				key, err := keys(t.InstanceID)
				if err != nil {
					return err
				}
				p, err := cl.Publish(c.Context, trace, key)
				if err != nil {
					return fmt.Errorf("%s: %w", in.Name, err)
				}
				rows = append(rows, row{p.TraceID, p.Commit, in.Name})
				for _, w := range p.Warnings { // the server's near-duplicate check
					fmt.Fprintf(c.App.ErrWriter, "hive: warning: %s\n", w)
				}
				if !c.Bool("json") {
					fmt.Fprintln(c.App.Writer, p.TraceID)
				}
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, rows)
			}
			return nil
		},
	}
}
