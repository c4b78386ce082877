package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/signing"
	"github.com/hive-dev/hive/trust"
)

func outcomeCommand() *cli.Command {
	return &cli.Command{
		Name:      "outcome",
		Usage:     "report that this instance reused a skill and whether it worked: a signed record (a commit), once per skill",
		ArgsUsage: "TRACE-ID",
		Description: "The outcome is signed by the reporting instance's key; an author cannot report on its own skills.\n" +
			"With --export, the signed outcome is printed for POST /skills/{id}/outcomes instead of committed.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "success", Usage: "the skill worked"},
			&cli.BoolFlag{Name: "failure", Usage: "the skill did not work"},
			&cli.StringFlag{Name: "detail", Usage: "what was checked and how it ended, e.g. \"pytest: exit 0\""},
			&cli.StringFlag{Name: "instance", Usage: "the reporting instance (default: the one instance of this hive, other than the author, whose key is in the key store)"},
			&cli.BoolFlag{Name: "export", Usage: "print the signed outcome (for POST /skills/{id}/outcomes) instead of committing it"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("outcome takes one trace id")
			}
			if c.Bool("success") == c.Bool("failure") {
				return usagef("give exactly one of --success and --failure")
			}
			s, id, err := openTrace(c)
			if err != nil {
				return err
			}
			defer s.Close()
			inst, key, err := reporter(c, s, id)
			if err != nil {
				return err
			}
			if c.Bool("export") {
				// The server checks the rest against its own main; who wrote
				// the skill is the same everywhere, so a self-outcome is
				// refused here as it is without --export.
				e, err := s.Trace(id)
				if err != nil {
					return err
				}
				if e.Trace.InstanceID == inst {
					return fmt.Errorf("%s: %s is the author of %s; outcomes come from other instances", registry.RuleOutcomeSelf, inst, id.Short())
				}
				env, err := s.SignOutcome(id, c.Bool("success"), c.String("detail"), inst, key)
				if err != nil {
					return keyHint(c, s, inst, key, err)
				}
				_, err = fmt.Fprintf(c.App.Writer, "%s\n", env)
				return err
			}
			commit, err := s.ReportOutcome(id, c.Bool("success"), c.String("detail"), inst, key)
			if err != nil {
				return keyHint(c, s, inst, key, err)
			}
			result := "failure"
			if c.Bool("success") {
				result = "success"
			}
			fmt.Fprintf(c.App.Writer, "%s reported %s of %s in commit %s\n", inst, result, id.Short(), commit.String()[:12])
			return nil
		},
	}
}

// reporter is the instance that reports an outcome about trace, and its
// key: --instance, or else the one registered instance other than the
// trace's author whose key is in the key store.
func reporter(c *cli.Context, s *registry.Store, trace schema.ID) (string, *signing.PrivateKey, error) {
	ks, err := keyStore(c)
	if err != nil {
		return "", nil, err
	}
	if inst := c.String("instance"); inst != "" {
		k, err := ks.Load(inst)
		if err != nil {
			return "", nil, &hintError{err, fmt.Sprintf("run `hive keygen --instance %s` and `hive key add --instance %s`", inst, inst)}
		}
		return inst, k, nil
	}
	e, err := s.Trace(trace)
	if err != nil {
		return "", nil, err
	}
	keys, err := s.Keys()
	if err != nil {
		return "", nil, err
	}
	have, err := ks.List()
	if err != nil {
		return "", nil, err
	}
	var cands []string
	for _, k := range keys {
		if k.ID != e.Trace.InstanceID && !k.Revoked && slices.Contains(have, k.ID) {
			cands = append(cands, k.ID)
		}
	}
	switch len(cands) {
	case 1:
		k, err := ks.Load(cands[0])
		return cands[0], k, err
	case 0:
		return "", nil, usagef("no instance of this hive other than the author %s has a key in %s: pass --instance ID", e.Trace.InstanceID, ks.Dir)
	}
	return "", nil, usagef("several instances could report (%s): pass --instance ID", strings.Join(cands, ", "))
}

func outcomesCommand() *cli.Command {
	return &cli.Command{
		Name:      "outcomes",
		Usage:     "the outcomes other instances reported of a skill, and its standing",
		ArgsUsage: "TRACE-ID",
		Flags:     []cli.Flag{jsonFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("outcomes takes one trace id")
			}
			s, id, err := openTrace(c)
			if err != nil {
				return err
			}
			defer s.Close()
			list, err := s.Outcomes(id)
			if err != nil {
				return err
			}
			t, err := trust.Reputation(s)
			if err != nil {
				return err
			}
			sk := t.Skill(id)
			if c.Bool("json") {
				if list == nil {
					list = []*schema.Outcome{}
				}
				return printJSON(c.App.Writer, map[string]any{"trace_id": id, "standing": sk, "outcomes": list})
			}
			fmt.Fprintf(c.App.Writer, "%s  %s\n", id, standingText(sk))
			for _, o := range list {
				detail := ""
				if o.Detail != "" {
					detail = "  " + schema.Quote(o.Detail, 80)
				}
				fmt.Fprintf(c.App.Writer, "%-7s  %-24s %s%s\n", o.Outcome, o.InstanceID, o.CreatedAt, detail)
			}
			return nil
		},
	}
}

// standingText describes a skill's standing in a few words.
func standingText(sk trust.SkillStanding) string {
	word := ""
	switch {
	case sk.Failed:
		word = ", failed"
	case sk.Proven:
		word = ", proven"
	}
	return fmt.Sprintf("standing %.2f (%s, %s%s)", sk.Standing, plural.N(sk.Successes, "success"), plural.N(sk.Failures, "failure"), word)
}

// maxDuplicateChecks bounds the traces of one command checked for near
// duplicates: each costs a search and a few reads (docs/performance.md).
const maxDuplicateChecks = 100

// warnDuplicates warns, on stderr, about each added trace that is nearly
// identical to another on main. It never fails the command: the traces
// are in.
func warnDuplicates(c *cli.Context, s *registry.Store, added []registry.Added) {
	if len(added) == 0 {
		return
	}
	ids := make([]schema.ID, 0, min(len(added), maxDuplicateChecks))
	for _, a := range added[:min(len(added), maxDuplicateChecks)] {
		ids = append(ids, a.ID)
	}
	ix, err := search.OpenIndex(s)
	if err == nil {
		for _, id := range ids {
			if coh, ok := ix.Coherence(id); ok && coh == 0 {
				fmt.Fprintf(c.App.ErrWriter, "hive: hint: %s: its steps, tags and result use no word of its intent, so a search finds it only weakly (docs/search.md)\n", id.Short())
			}
		}
		var dups []trust.Duplicate
		if dups, err = trust.NearDuplicates(s, ix, ids); err == nil {
			for _, d := range dups {
				fmt.Fprintf(c.App.ErrWriter, "hive: warning: %s\n", d.Message())
			}
			if len(added) > len(ids) {
				fmt.Fprintf(c.App.ErrWriter, "hive: note: near duplicates checked for the first %d of %s\n", len(ids), plural.N(len(added), "new trace"))
			}
			return
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "hive: warning: near duplicates not checked: %v\n", err)
}
