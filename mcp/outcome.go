package mcp

import (
	"context"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

// report_outcome

type outcomeIn struct {
	ID      string `json:"id" jsonschema:"the skill you reused: sha256:<64 hex digits>, or a unique prefix of at least 6 hex digits"`
	Outcome string `json:"outcome" jsonschema:"success when the skill's result worked for your task, failure when it did not"`
	Detail  string `json:"detail,omitempty" jsonschema:"what you checked and how it ended, such as 'pytest tests/auth: exit 0' (one line)"`
}

type outcomeOut struct {
	TraceID  schema.ID `json:"trace_id"`
	Reporter string    `json:"reporter" jsonschema:"the instance that signed the report"`
	Outcome  string    `json:"outcome"`
	Commit   string    `json:"commit" jsonschema:"the commit that recorded it"`
	Server   string    `json:"server,omitempty" jsonschema:"the hive server it was posted to; empty when committed to the local hive"`
}

// outcomeTool is report_outcome: the agent's report that it reused a skill
// and whether it worked, signed with the instance's key and checked by
// the hive's validator as hive outcome's is. Offered only with Publish.
func (h *hive) outcomeTool() tool {
	t := typed(sdk.Tool{
		Name:  "report_outcome",
		Title: "Report whether a skill worked",
		Description: "After you reused a skill (use_skill, get_skill), tell the hive whether its result worked for your task: outcome success or failure, " +
			"with a short detail of what you checked (a test command and its exit status). The report is signed with your instance's key and " +
			"committed (or posted to the hive server); other instances' reports are what the skill's standing and its author's reputation are made of. " +
			"One report per skill, never changed; an author cannot report on its own skills.",
		Annotations: &sdk.ToolAnnotations{DestructiveHint: ptr(false), IdempotentHint: false, OpenWorldHint: ptr(true)},
	}, func(s *jsonschema.Schema) {
		idArg(s)
		s.Properties["outcome"].Enum = []any{schema.OutcomeSuccess, schema.OutcomeFailure}
		s.Properties["detail"].MaxLength = ptr(schema.MaxOutcomeDetail)
	}, h.reportOutcome)
	t.write = true
	return t
}

func (h *hive) reportOutcome(ctx context.Context, _ *hive, in outcomeIn) (outcomeOut, string, error) {
	out := outcomeOut{Reporter: h.opts.Instance, Outcome: in.Outcome}
	success := in.Outcome == schema.OutcomeSuccess
	key, err := h.opts.Keys(h.opts.Instance)
	if err != nil {
		return out, "", err
	}
	if c := h.opts.Server; c != nil {
		var env []byte
		err := h.src.Read(ctx, func(st *registry.Store, _ *search.Index) error {
			id, err := lookup(st, in.ID)
			if full, perr := schema.ParseID(in.ID); err != nil && perr == nil {
				id, err = full, nil // the server may have it when this hive does not yet
			}
			if err != nil {
				return err
			}
			out.TraceID = id
			env, err = st.SignOutcome(id, success, in.Detail, h.opts.Instance, key)
			return err
		})
		if err != nil {
			return out, "", err
		}
		r, err := c.ReportOutcome(ctx, out.TraceID, env)
		if err != nil {
			return out, "", err
		}
		out.Commit, out.Server = r.Commit, c.BaseURL
	} else {
		err := h.src.(Writer).Write(ctx, func(st *registry.Store) error {
			id, err := lookup(st, in.ID)
			if err != nil {
				return err
			}
			out.TraceID = id
			c, err := st.ReportOutcome(id, success, in.Detail, h.opts.Instance, key)
			out.Commit = c.String()
			return err
		})
		if err != nil {
			return out, "", err
		}
	}
	where := "committed to the hive in commit " + short(out.Commit)
	if out.Server != "" {
		where = "posted to " + out.Server + " (commit " + short(out.Commit) + ")"
	}
	return out, fmt.Sprintf("%s reported %s of %s: %s\n", out.Reporter, out.Outcome, out.TraceID, where), nil
}

// standing is what other instances reported of a skill (trust.SkillStanding).
type standing struct {
	Successes int     `json:"successes" jsonschema:"reports by other instances that it worked"`
	Failures  int     `json:"failures" jsonschema:"reports by other instances that it did not"`
	Standing  float64 `json:"standing" jsonschema:"0 to 1, 0.5 with no reports: the reports weighted by their reporters' standing"`
	Proven    bool    `json:"proven" jsonschema:"reporters with standing report more success than all reporters report failure"`
	Failed    bool    `json:"failed" jsonschema:"failures weigh at least as much as successes: the trust policy refuses it"`
}

func standingOf(sk trust.SkillStanding) standing {
	return standing{Successes: sk.Successes, Failures: sk.Failures, Standing: sk.Standing, Proven: sk.Proven, Failed: sk.Failed}
}

// String says a standing in a few words.
func (s standing) String() string {
	word := ""
	switch {
	case s.Failed:
		word = ", failed"
	case s.Proven:
		word = ", proven"
	}
	return fmt.Sprintf("standing %.2f (%s, %s reported by others%s)", s.Standing, plural.N(s.Successes, "success"), plural.N(s.Failures, "failure"), word)
}

// nearDuplicates warns of the skills on main that the new skill id is
// nearly identical to, as hive add does (trust.NearDuplicates). The skill
// is in: a failure of the check is a warning too.
func nearDuplicates(st *registry.Store, id schema.ID) []string {
	ix, err := search.OpenIndex(st)
	if err != nil {
		return []string{"near duplicates not checked: " + err.Error()}
	}
	dups, err := trust.NearDuplicates(st, ix, []schema.ID{id})
	if err != nil {
		return []string{"near duplicates not checked: " + err.Error()}
	}
	var out []string
	for _, d := range dups {
		out = append(out, d.Message())
	}
	return out
}
