package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

func disputeCommand() *cli.Command {
	signer := func(c *cli.Context) (string, *signing.PrivateKey, error) {
		inst := c.String("instance")
		ks, err := keyStore(c)
		if err != nil {
			return "", nil, err
		}
		k, err := ks.Load(inst)
		return inst, k, err
	}
	return &cli.Command{
		Name:  "dispute",
		Usage: "open, list and resolve disputes about traces",
		Subcommands: []*cli.Command{{
			Name:      "open",
			Usage:     "record a signed dispute about a trace (a commit)",
			ArgsUsage: "TRACE-ID",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "reason", Required: true, Usage: "why the trace is wrong or harmful"},
				&cli.StringFlag{Name: "instance", Required: true, Usage: "the disputing instance (its key signs the dispute)"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("dispute open takes one trace id")
				}
				s, id, err := openTrace(c)
				if err != nil {
					return err
				}
				defer s.Close()
				inst, key, err := signer(c)
				if err != nil {
					return err
				}
				d, commit, err := s.OpenDispute(id, c.String("reason"), inst, key)
				if err != nil {
					return keyHint(c, s, inst, key, err)
				}
				fmt.Fprintf(c.App.Writer, "%s\n", d)
				fmt.Fprintf(c.App.ErrWriter, "hive: dispute about %s recorded in commit %s\n", id.Short(), commit.String()[:12])
				return nil
			},
		}, {
			Name:  "list",
			Usage: "list disputes and their resolutions",
			Flags: []cli.Flag{jsonFlag},
			Action: func(c *cli.Context) error {
				s, err := openStore(c)
				if err != nil {
					return err
				}
				defer s.Close()
				list, err := s.Disputes()
				if err != nil {
					return err
				}
				if c.Bool("json") {
					if list == nil {
						list = []registry.DisputeStatus{}
					}
					return printJSON(c.App.Writer, list)
				}
				for _, d := range list {
					status := "open"
					if d.Resolution != nil {
						status = pastTense(d.Resolution.Decision) + " by " + d.Resolution.InstanceID
					}
					fmt.Fprintf(c.App.Writer, "%s  %-22s trace %s, opened by %s: %s\n", d.ID.Short(), status, d.Dispute.Trace.Short(), d.Dispute.InstanceID, schema.Quote(d.Dispute.Reason, 80))
				}
				return nil
			},
		}, {
			Name:      "resolve",
			Usage:     "a maintainer's signed decision: --remove deletes the trace in the same commit, --dismiss keeps it",
			ArgsUsage: "DISPUTE-ID",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "remove", Usage: "uphold the dispute: remove the trace for good"},
				&cli.BoolFlag{Name: "dismiss", Usage: "dismiss the dispute: keep the trace"},
				&cli.StringFlag{Name: "reason", Value: "resolved by a maintainer", Usage: "why"},
				&cli.StringFlag{Name: "instance", Required: true, Usage: "the maintainer (listed in hive.json; its key signs)"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("dispute resolve takes one dispute id")
				}
				if c.Bool("remove") == c.Bool("dismiss") {
					return usagef("give exactly one of --remove and --dismiss")
				}
				decision := registry.DecisionDismiss
				if c.Bool("remove") {
					decision = registry.DecisionRemove
				}
				s, err := openStore(c)
				if err != nil {
					return err
				}
				defer s.Close()
				id, err := s.ResolveDisputeID(c.Args().First())
				if err != nil {
					return err
				}
				inst, key, err := signer(c)
				if err != nil {
					return err
				}
				commit, err := s.ResolveDispute(id, decision, c.String("reason"), inst, key)
				if err != nil {
					return keyHint(c, s, inst, key, err)
				}
				fmt.Fprintf(c.App.Writer, "dispute %s %s in commit %s\n", id.Short(), pastTense(decision), commit.String()[:12])
				return nil
			},
		}},
	}
}

func pastTense(decision string) string {
	if decision == registry.DecisionDismiss {
		return "dismissed"
	}
	return "removed"
}
