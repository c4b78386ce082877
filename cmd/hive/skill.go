package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/agentskills"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

func skillCommand() *cli.Command {
	return &cli.Command{
		Name:  "skill",
		Usage: "Agent Skills folders (agentskills.io): export a skill, verify a folder, import one",
		Subcommands: []*cli.Command{{
			Name:      "export",
			Usage:     "write a skill as the Agent Skills folder DIR/<name> (SKILL.md, and the signed trace under references/)",
			ArgsUsage: "ID DIR",
			Flags:     []cli.Flag{&cli.StringFlag{Name: "name", Usage: "the folder's name (default: from the intent)"}},
			Action: func(c *cli.Context) error {
				if c.NArg() != 2 {
					return usagef("skill export takes a trace id and a folder")
				}
				if err := checkSkillName(c.String("name")); err != nil {
					return err
				}
				s, id, err := openTrace(c)
				if err != nil {
					return err
				}
				defer s.Close()
				dir, err := agentskills.Export(s, id, c.Args().Get(1), c.String("name"))
				if err != nil {
					return err
				}
				fmt.Fprintln(c.App.Writer, dir)
				return nil
			},
		}, {
			Name:      "verify",
			Usage:     "check that a skill folder still says what its signed trace says, with the hive's key (exit 0 valid, 1 not)",
			ArgsUsage: "DIR/NAME",
			Flags:     []cli.Flag{jsonFlag},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("skill verify takes one skill folder")
				}
				s, err := openStore(c)
				if err != nil {
					return err
				}
				defer s.Close()
				ck, err := agentskills.Check(s, c.Args().First())
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, struct {
						Dir          string      `json:"dir"`
						Name         string      `json:"name"`
						ID           schema.ID   `json:"id"`
						Instance     string      `json:"instance_id"`
						Fingerprint  string      `json:"key_fingerprint"`
						InHive       bool        `json:"in_hive"`
						OpenDisputes []schema.ID `json:"open_disputes"`
					}{ck.Dir, ck.Name, ck.ID, ck.Trace.InstanceID, ck.Key.Fingerprint(), ck.InHive, nonNil(ck.OpenDisputes)})
				}
				fmt.Fprintf(c.App.Writer, "%s: skill %s signed by %s (key %s): verified\n", c.Args().First(), ck.ID, ck.Trace.InstanceID, ck.Key.Fingerprint()[:16])
				if ck.Vouched {
					fmt.Fprintf(c.App.ErrWriter, "hive: note: %s's key has changed since it signed %s; the hive's history vouches for this signature\n", ck.Trace.InstanceID, ck.ID)
				}
				if !ck.InHive {
					fmt.Fprintf(c.App.ErrWriter, "hive: warning: %s is not on this hive's main\n", ck.ID)
				}
				for _, d := range ck.OpenDisputes {
					fmt.Fprintf(c.App.ErrWriter, "hive: warning: %s has an open dispute %s (hive dispute list)\n", ck.ID, d)
				}
				return nil
			},
		}, {
			Name:      "import",
			Usage:     "sign an existing Agent Skills folder as a trace of --instance and commit it",
			ArgsUsage: "DIR/NAME",
			Description: "The trace's intent is the description, its steps the body's ## headings, its result SKILL.md and\n" +
				"every other text file of the folder; a folder exported from a hive names its skill as lineage.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "instance", Usage: "the instance that signs it (required)"},
				&cli.Float64Flag{Name: "confidence", Usage: "your confidence in the skill, in [0,1] (required)"},
				&cli.Float64Flag{Name: "verification-score", Usage: "how well you checked it, in [0,1] (required)"},
				&cli.StringFlag{Name: "key", Usage: "a PEM private key file to sign with, instead of the key store"},
				jsonFlag,
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usagef("skill import takes one skill folder")
				}
				for _, f := range []string{"instance", "confidence", "verification-score"} {
					if !c.IsSet(f) {
						return usagef("skill import needs --instance, --confidence and --verification-score: who signs, and what it claims")
					}
				}
				if inst := c.String("instance"); !schema.ValidInstanceID(inst) {
					return usagef("--instance %s must match %s", schema.Quote(inst, 70), schema.InstanceIDPattern)
				}
				for _, f := range []string{"confidence", "verification-score"} {
					if v := c.Float64(f); v < 0 || v > 1 {
						return usagef("--%s %g: want a number in [0,1]", f, v)
					}
				}
				keys, err := keyFunc(c)
				if err != nil {
					return err
				}
				s, err := openStore(c)
				if err != nil {
					return err
				}
				defer s.Close()
				g := &givenKeys{keys: keys}
				im, err := agentskills.Import(s, c.Args().First(), agentskills.ImportOptions{Instance: c.String("instance"),
					Confidence: c.Float64("confidence"), Verification: c.Float64("verification-score"), Keys: g.KeyFunc})
				if err != nil {
					return g.explain(c, s, err)
				}
				warnDuplicates(c, s, []registry.Added{im.Added})
				maintain(c, s)
				if c.Bool("json") {
					return printJSON(c.App.Writer, struct {
						ID      schema.ID   `json:"id"`
						Commit  string      `json:"commit"`
						Lineage []schema.ID `json:"lineage"`
					}{im.ID, im.Commit.String(), im.Trace.Lineage})
				}
				fmt.Fprintln(c.App.Writer, im.ID)
				for _, l := range im.Trace.Lineage {
					fmt.Fprintf(c.App.ErrWriter, "hive: derived from %s (the folder's hive-id)\n", l)
				}
				return nil
			},
		}},
	}
}

func installCommand() *cli.Command {
	return &cli.Command{
		Name:      "install",
		Usage:     "install the best trusted skill for a task (or an id) as an Agent Skills folder in --to",
		ArgsUsage: "QUERY|ID|NAME",
		Description: "QUERY is resolved under the local trust policy as hive resolve does; an untrusted or disputed\n" +
			"skill is refused unless --force. Installing again is a no-op; --update moves an installed skill\n" +
			"(give its id, its query or its folder's NAME) to its best trusted descendant by the same author\n" +
			"(instance), even when the installed skill itself is no longer trusted. A better descendant by\n" +
			"another author is named, not installed: --allow-author-change takes it.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "the agent's skills folder, such as ~/.agents/skills (required; docs/agents.md lists others)"},
			&cli.StringFlag{Name: "name", Usage: "the skill folder's name (default: from the intent)"},
			&cli.BoolFlag{Name: "force", Usage: "install a skill the policy does not trust, or replace a folder that does not verify"},
			&cli.BoolFlag{Name: "update", Usage: "move to the best trusted descendant by the same author, replacing what the folder held"},
			&cli.BoolFlag{Name: "allow-author-change", Usage: "with --update: follow descendants by other authors too, and replace a folder's skill with another author's"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("install takes one query, id or installed name (quote a query)")
			}
			if c.String("to") == "" {
				return usagef("install needs --to DIR: the agent's skills folder, such as ~/.agents/skills")
			}
			if err := checkSkillName(c.String("name")); err != nil {
				return err
			}
			if c.Bool("allow-author-change") && !c.Bool("update") {
				return usagef("--allow-author-change goes with --update: it lets an update move to another author's skill")
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			in, err := agentskills.Install(s, c.Args().First(), agentskills.InstallOptions{Dir: c.String("to"), Name: c.String("name"),
				Force: c.Bool("force"), Update: c.Bool("update"), AnyAuthor: c.Bool("allow-author-change")})
			var ac *agentskills.AuthorChangeError
			switch {
			case errors.Is(err, agentskills.ErrUntrusted):
				return &hintError{err, "see `hive search` and the trust policy in `git config --get-regexp hive.trust`"}
			case errors.As(err, &ac):
				return &hintError{err, fmt.Sprintf("read it first: hive diff %s %s", ac.Held.Hex()[:12], ac.Target.Hex()[:12])}
			case err != nil:
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, struct {
					Dir      string    `json:"dir"`
					ID       schema.ID `json:"id"`
					Previous schema.ID `json:"previous,omitempty"`
					// PreviousAuthor is Previous's author.
					PreviousAuthor string `json:"previous_instance_id,omitempty"`
					Changed        bool   `json:"changed"`
					Instance       string `json:"instance_id"`
					Trusted        bool   `json:"trusted"`
					Why            string `json:"why"`
					// Passed is a better trusted descendant by another author, not taken.
					Passed *agentskills.Descendant `json:"passed_over,omitempty"`
				}{in.Dir, in.ID, in.Previous, in.PreviousAuthor, in.Changed, in.Trace.InstanceID, in.Verdict.Trusted, in.Verdict.Why, in.Passed})
			}
			by := in.Trace.InstanceID
			switch {
			case !in.Changed:
				fmt.Fprintf(c.App.Writer, "%s: %s by %s is installed already\n", in.Dir, in.ID, by)
			case in.Previous != "" && in.PreviousAuthor != by:
				fmt.Fprintf(c.App.Writer, "%s: updated %s -> %s; the author changes from %s to %s\n", in.Dir, in.Previous, in.ID, in.PreviousAuthor, by)
			case in.Previous != "":
				fmt.Fprintf(c.App.Writer, "%s: updated %s -> %s, by %s\n", in.Dir, in.Previous, in.ID, by)
			default:
				fmt.Fprintf(c.App.Writer, "%s: installed %s by %s\n", in.Dir, in.ID, by)
			}
			if p := in.Passed; p != nil {
				fmt.Fprintf(c.App.ErrWriter, "hive: note: not updating to %s by %s: the installed skill is by %s, and --update follows only its author (--allow-author-change takes it)\n", p.ID, p.Instance, by)
			}
			if !in.Verdict.Trusted {
				fmt.Fprintf(c.App.ErrWriter, "hive: warning: installed with --force: %s\n", in.Verdict.Why)
			}
			return nil
		},
	}
}

// checkSkillName refuses a --name that is not a skill name.
func checkSkillName(name string) error {
	if name == "" {
		return nil
	}
	if err := agentskills.CheckName(name); err != nil {
		return usagef("--name: %v", err)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
