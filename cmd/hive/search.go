package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/reuse"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

func searchCommand() *cli.Command {
	return &cli.Command{
		Name:      "search",
		Usage:     "skills ranked by how well they do the task QUERY describes",
		ArgsUsage: "QUERY",
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "threshold", Value: search.DefaultThreshold, Usage: "the least score, in [0,1]"},
			&cli.IntFlag{Name: "limit", Usage: "at most this many skills (0: all)"},
			&cli.StringFlag{Name: "instance", Usage: "only skills of this instance"},
			&cli.BoolFlag{Name: "explain", Usage: "say why each skill matched: fields, words, expansions (lexical ranking)"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("search takes one query (quote it)")
			}
			th := c.Float64("threshold")
			if th < 0 || th > 1 {
				return usagef("--threshold %g: want a number in [0,1]", th)
			}
			if c.Int("limit") < 0 {
				return usagef("--limit %d: want 0 or more", c.Int("limit"))
			}
			s, err := openStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			if inst := c.String("instance"); inst != "" {
				t, err := trust.Reputation(s)
				if err != nil {
					return err
				}
				if err := reuse.KnownInstance(s, t, inst); err != nil {
					return err
				}
			}
			ix, err := search.OpenIndex(s)
			if err != nil {
				return err
			}
			q := search.Query{Text: c.Args().First(), Threshold: th, Limit: c.Int("limit"), Instance: c.String("instance")}
			var n int
			switch {
			case c.Bool("explain"):
				es := ix.Explain(q)
				n = len(es)
				if c.Bool("json") {
					if es == nil {
						es = []search.Explanation{}
					}
					err = printJSON(c.App.Writer, es)
				} else {
					for _, e := range es {
						printResult(c.App.Writer, e.Result, nil)
						printExplanation(c.App.Writer, e)
					}
				}
			default:
				rs, warns := searchWith(c, s, ix, q)
				for _, w := range warns {
					fmt.Fprintf(c.App.ErrWriter, "hive: warning: %s\n", w)
				}
				n = len(rs)
				table, terr := trust.Reputation(s)
				if terr != nil {
					return terr
				}
				if c.Bool("json") {
					type ranked struct {
						search.Result
						Standing trust.SkillStanding `json:"standing"`
					}
					out := []ranked{}
					for _, r := range rs {
						out = append(out, ranked{r, table.Skill(r.ID)})
					}
					err = printJSON(c.App.Writer, out)
				} else {
					for _, r := range rs {
						sk := table.Skill(r.ID)
						printResult(c.App.Writer, r, &sk)
					}
				}
			}
			if err != nil {
				return err
			}
			if n == 0 {
				if th == 0 || len(ix.Search(search.Query{Text: q.Text, Limit: 1, Instance: q.Instance})) == 0 {
					return fmt.Errorf("no skill matches %s", schema.Quote(q.Text, 80))
				}
				return fmt.Errorf("no skill scores %g or more", th)
			}
			return nil
		},
	}
}

// searchWith searches with dense retrieval beside the index when git
// config hive.search.embedder names an embedder; any trouble with it is a
// warning, and the lexical results stand.
func searchWith(c *cli.Context, s *registry.Store, ix *search.Index, q search.Query) ([]search.Result, []string) {
	emb, err := search.LoadEmbedder(s)
	if err != nil {
		return ix.Search(q), []string{err.Error() + "; lexical results only"}
	}
	return ix.SearchHybrid(c.Context, s, q, search.Dense{Embedder: emb})
}

// printResult prints a ranked skill on one line, with its standing when
// others reported outcomes of it.
func printResult(w io.Writer, r search.Result, sk *trust.SkillStanding) {
	fmt.Fprintf(w, "%.3f  %s  %s  %s", r.Score, r.ID, r.InstanceID, schema.Quote(r.Intent, 80))
	if sk != nil && sk.Successes+sk.Failures > 0 {
		fmt.Fprintf(w, "  [%s]", standingText(*sk))
	}
	fmt.Fprintln(w)
}

// printExplanation prints why a skill matched, under its result line.
func printExplanation(w io.Writer, e search.Explanation) {
	// The features that counted, by what they added to the ranker's score.
	names := make([]string, 0, len(e.Features))
	for k, v := range e.Features {
		if v*e.Weights[k] != 0 {
			names = append(names, k)
		}
	}
	add := func(k string) float64 { return e.Features[k] * e.Weights[k] }
	sort.Slice(names, func(i, j int) bool {
		if a, b := math.Abs(add(names[i])), math.Abs(add(names[j])); a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	var fs []string
	for _, k := range names {
		fs = append(fs, fmt.Sprintf("%s %.2f×%.2f", k, e.Features[k], e.Weights[k]))
	}
	fmt.Fprintf(w, "       ranker %.2f, lead %.2f; bm25f %.3f\n", e.Ranker, e.Lead, e.BM25F)
	fmt.Fprintf(w, "       %s\n", strings.Join(fs, ", "))
	for _, m := range e.Words {
		if len(m.Matches) == 0 {
			fmt.Fprintf(w, "       %-12s (weight %.2f): not in this skill\n", m.Word, m.Weight)
			continue
		}
		var parts []string
		for _, t := range m.Matches {
			var fields []string
			for f, n := range t.Fields {
				fields = append(fields, fmt.Sprintf("%s×%d", f, n))
			}
			sort.Strings(fields)
			how := ""
			if t.Via != "" {
				how = fmt.Sprintf(" (%s, %.2f)", t.Via, t.Weight)
			}
			parts = append(parts, fmt.Sprintf("%s%s in %s", t.Term, how, strings.Join(fields, " ")))
		}
		fmt.Fprintf(w, "       %-12s (weight %.2f): %s\n", m.Word, m.Weight, strings.Join(parts, "; "))
	}
}
