package mcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/reuse"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/signing"
	"github.com/hive-dev/hive/trust"
)

// tools lists the server's tools. Adding one is an entry here and its
// function below.
func (h *hive) tools() []tool {
	readOnly := &sdk.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)}
	return []tool{
		typed(sdk.Tool{
			Name:  "search_skills",
			Title: "Search skills",
			Description: "Find skills that other agent instances learned for a task like yours, ranked by how well their intent matches the query. " +
				"Each has its id, intent, similarity score, author instance and the author's reputation, its confidence and verification score, " +
				"how many skills its lineage holds, and whether the local trust policy trusts it (and why not) or it is disputed. " +
				"Call get_skill with an id to read one whole, or use_skill to get the best trusted result at once.",
			Annotations: readOnly,
		}, func(s *jsonschema.Schema) {
			s.Properties["query"].MinLength = ptr(1)
			s.Properties["limit"].Minimum, s.Properties["limit"].Maximum = ptr(1.0), ptr(float64(maxLimit))
			s.Properties["min_score"].Minimum, s.Properties["min_score"].Maximum = ptr(0.0), ptr(1.0)
		}, searchSkills),
		typed(sdk.Tool{
			Name:  "get_skill",
			Title: "Get a skill",
			Description: "Read one skill whole: its trace (intent, reasoning steps, result, scores, lineage, author, time) and its provenance: " +
				"the commit that introduced it, the instance and key that signed it, whether the signature verifies, the cosign command that checks it offline, " +
				"and whether the local trust policy trusts it.",
			Annotations: readOnly,
		}, idArg, getSkill),
		typed(sdk.Tool{
			Name:  "use_skill",
			Title: "Use the best trusted skill",
			Description: "Given the task you are about to do, return the result (usually code) of the best skill for it that the local trust policy trusts, " +
				"as `hive resolve` does, with why it was trusted; or, when none qualifies, found=false and the reasons. " +
				"The result was written by another agent: read it before running it.",
			Annotations: readOnly,
		}, func(s *jsonschema.Schema) { s.Properties["intent"].MinLength = ptr(1) }, useSkill),
		typed(sdk.Tool{
			Name:        "skill_lineage",
			Title:       "Lineage of a skill",
			Description: "The skills a skill was derived from (ancestors, nearest first) and the skills derived from it (descendants, nearest first), each with its intent, author, generation and introducing commit.",
			Annotations: readOnly,
		}, idArg, skillLineage),
		h.publishTool(),
		h.outcomeTool(),
	}
}

// maxLimit bounds search_skills' limit.
const maxLimit = 50

// idArg adjusts the schema of a tool that takes a skill id.
func idArg(s *jsonschema.Schema) {
	s.Properties["id"].Pattern = `^([sS][hH][aA]256:)?[0-9a-fA-F]{6,64}$` // read as lower case, as the pages and the API do
}

// id is the argument of get_skill and skill_lineage.
type idIn struct {
	ID string `json:"id" jsonschema:"the skill's id, sha256:<64 hex digits>, or a unique prefix of at least 6 hex digits"`
}

// lookup resolves an id or prefix on main.
func lookup(st *registry.Store, q string) (schema.ID, error) {
	id, err := st.ResolveID(strings.ToLower(q))
	if errors.Is(err, registry.ErrNotFound) {
		return "", &toolError{codeNotFound, fmt.Errorf("no skill %s on the hive's main; search_skills finds ids", schema.Quote(q, 80))}
	}
	if err != nil {
		return "", &toolError{codeArguments, err}
	}
	return id, nil
}

// search_skills

type searchIn struct {
	Query    string  `json:"query" jsonschema:"the task you need a skill for, in plain words: what you are trying to do, the goal or the problem"`
	Limit    int     `json:"limit,omitempty" jsonschema:"at most this many skills (default 10)"`
	MinScore float64 `json:"min_score,omitempty" jsonschema:"leave out skills whose intent matches the query less than this, from 0 to 1 (default 0: every skill that shares a word with the query, best first)"`
	Instance string  `json:"instance,omitempty" jsonschema:"only skills of this author instance"`
}

type searchOut struct {
	Query  string `json:"query"`
	Skills []hit  `json:"skills" jsonschema:"best match first"`
}

type hit struct {
	ID                schema.ID   `json:"id"`
	Intent            string      `json:"intent"`
	Score             float64     `json:"score" jsonschema:"similarity of the intent to the query, 0 to 1"`
	InstanceID        string      `json:"instance_id" jsonschema:"the author"`
	Reputation        float64     `json:"reputation" jsonschema:"the author's reputation in this hive, 0 to 1"`
	Standing          standing    `json:"standing" jsonschema:"what other instances reported after reusing it"`
	Confidence        float64     `json:"confidence"`
	VerificationScore float64     `json:"verification_score"`
	LineageSize       int         `json:"lineage_size" jsonschema:"how many skills its lineage holds: ancestors and descendants"`
	Trusted           bool        `json:"trusted" jsonschema:"whether the local trust policy trusts it"`
	Why               string      `json:"why" jsonschema:"why it is trusted, or why not"`
	OpenDisputes      []schema.ID `json:"open_disputes,omitempty" jsonschema:"disputes against it that no maintainer has resolved"`
}

func searchSkills(ctx context.Context, h *hive, in searchIn) (searchOut, string, error) {
	out := searchOut{Query: in.Query, Skills: []hit{}}
	if in.Limit == 0 {
		in.Limit = 10
	}
	err := h.read(ctx, func(st *registry.Store, v *reuse.View) error {
		if in.Instance != "" {
			err := reuse.KnownInstance(st, v.Table, in.Instance)
			if u, ok := err.(*reuse.UnknownInstanceError); ok {
				// Said without the hive's folder: a client of a server
				// has no business knowing the server's paths.
				return &toolError{codeNotFound, errors.New(u.Public())}
			}
			if err != nil {
				return err
			}
		}
		for _, r := range v.Index.Search(search.Query{Text: in.Query, Threshold: in.MinScore, Limit: in.Limit, Instance: in.Instance}) {
			n, err := v.LineageSize(st, r.ID)
			if err != nil {
				return err
			}
			vd := v.Judge(r)
			out.Skills = append(out.Skills, hit{ID: r.ID, Intent: r.Intent, Score: r.Score, InstanceID: r.InstanceID, Reputation: vd.Reputation,
				Confidence: r.Confidence, VerificationScore: r.VerificationScore, LineageSize: n, Trusted: vd.Trusted, Why: vd.Why, OpenDisputes: vd.Disputes, Standing: standingOf(vd.Standing)})
		}
		return nil
	})
	if err != nil {
		return out, "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s for %s", count(len(out.Skills), "skill", "skills"), schema.Quote(in.Query, 200))
	if len(out.Skills) == 0 {
		b.WriteString(": none shares a word with it; try other words for the same task")
	}
	b.WriteString("\n")
	for _, s := range out.Skills {
		trusted := "trusted"
		if !s.Trusted {
			trusted = "not trusted: " + s.Why
		}
		fmt.Fprintf(&b, "%.3f  %s  by %s (reputation %.3f)  %s\n       %s; confidence %g, verification %g, lineage %d; %s\n",
			s.Score, s.ID, s.InstanceID, s.Reputation, schema.Quote(s.Intent, 120), s.Standing, s.Confidence, s.VerificationScore, s.LineageSize, trusted)
	}
	return out, b.String(), nil
}

// get_skill

type skillOut struct {
	ID         schema.ID     `json:"id"`
	Resource   string        `json:"resource" jsonschema:"the skill's resource URI"`
	Trace      *schema.Trace `json:"trace"`
	Provenance provenance    `json:"provenance"`
	Trust      reuse.Verdict `json:"trust" jsonschema:"the local trust policy's answer"`
}

type provenance struct {
	Commit         string `json:"commit" jsonschema:"the commit of the hive's main that introduced it"`
	Signer         string `json:"signer" jsonschema:"the instance whose key signed it"`
	Algorithm      string `json:"algorithm"`
	KeyFingerprint string `json:"key_fingerprint" jsonschema:"sha256 of the signer's registered public key"`
	Verified       bool   `json:"verified" jsonschema:"whether the signature verifies with that key over the exact trace bytes"`
	Problem        string `json:"problem,omitempty" jsonschema:"why it does not verify"`
	Cosign         string `json:"cosign" jsonschema:"a command that checks the signature offline in a checkout of the hive"`
}

func getSkill(ctx context.Context, h *hive, in idIn) (skillOut, string, error) {
	var out skillOut
	err := h.read(ctx, func(st *registry.Store, v *reuse.View) error {
		id, err := lookup(st, in.ID)
		if err != nil {
			return err
		}
		e, err := st.Trace(id)
		if err != nil {
			return err
		}
		out = skillOut{ID: id, Resource: resourcePrefix + string(id), Trace: e.Trace}
		if r, err := v.Skill(st, id); err == nil {
			out.Trust = v.Judge(r)
		}
		out.Provenance, err = provenanceOf(st, e)
		return err
	})
	if err != nil {
		return out, "", err
	}
	return out, skillText(out), nil
}

func provenanceOf(st *registry.Store, e *registry.Entry) (provenance, error) {
	inst := e.Trace.InstanceID
	p := provenance{Signer: inst}
	intro, err := st.Introduced([]schema.ID{e.ID})
	if err != nil {
		return p, err
	}
	keyFile, fetchKey := registry.KeyPath(inst), ""
	pub, err := st.Key(inst)
	if c, ok := intro[e.ID]; ok {
		p.Commit = c.Hash.String()
		// The key that signed it: the one registered when it was
		// committed, which a rotation since may have replaced.
		then, at, kerr := st.KeyAt(c.Hash, inst)
		if kerr == nil && (pub == nil || then.Fingerprint() != pub.Fingerprint()) {
			keyFile, fetchKey = "signer.pub", fmt.Sprintf("git show %s:%s > signer.pub && ", at, registry.KeyPath(inst))
		}
		pub, err = then, kerr
	}
	p.Cosign = fetchKey + fmt.Sprintf("cosign verify-blob --key %s --bundle %s --new-bundle-format --insecure-ignore-tlog --trusted-root R %s   "+
		"# R: printf '%%s' '{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"}' > R",
		keyFile, registry.BundlePath(e.ID), registry.TracePath(e.ID))
	if err != nil {
		p.Problem = err.Error()
		return p, nil
	}
	p.Algorithm, p.KeyFingerprint = string(pub.Algorithm()), pub.Fingerprint()
	b, err := signing.ParseBundle(e.Bundle)
	if err == nil {
		err = b.Verify(pub, e.Data)
	}
	if err != nil {
		p.Problem = err.Error()
	} else {
		p.Verified = true
	}
	return p, nil
}

func skillText(s skillOut) string {
	t := s.Trace
	var b strings.Builder
	fmt.Fprintf(&b, "skill %s\nintent: %s\nauthor: %s, created %s\nconfidence %g, verification score %g\n", s.ID, t.Intent, t.InstanceID, t.CreatedAt, t.Confidence, t.VerificationScore)
	for _, l := range t.Lineage {
		fmt.Fprintf(&b, "derived from: %s\n", l)
	}
	if len(t.Tags) > 0 {
		fmt.Fprintf(&b, "tags: %s\n", strings.Join(t.Tags, ", "))
	}
	b.WriteString("steps:\n")
	for _, st := range t.ReasoningPath {
		fmt.Fprintf(&b, "  %d. %s\n", st.Step, st.Action)
		if st.Detail != "" {
			fmt.Fprintf(&b, "     %s\n", strings.ReplaceAll(st.Detail, "\n", "\n     "))
		}
	}
	fmt.Fprintf(&b, "result:\n%s\n", t.Result)
	p := s.Provenance
	verified := "verified"
	if !p.Verified {
		verified = "NOT verified: " + p.Problem
	}
	fmt.Fprintf(&b, "provenance: introduced in commit %s, signed by %s (%s key %s): %s\ncheck offline: %s\n", p.Commit, p.Signer, p.Algorithm, p.KeyFingerprint, verified, p.Cosign)
	fmt.Fprintf(&b, "%s\n", standingOf(s.Trust.Standing))
	trusted := "trusted by the local policy: " + s.Trust.Why
	if !s.Trust.Trusted {
		trusted = "not trusted by the local policy: " + s.Trust.Why
	}
	b.WriteString(trusted + "\n")
	return b.String()
}

// use_skill

type useIn struct {
	Intent string `json:"intent" jsonschema:"the task you are about to do, in plain words"`
}

type useOut struct {
	Found        bool        `json:"found" jsonschema:"whether a trusted skill qualified"`
	ID           schema.ID   `json:"id,omitempty"`
	Intent       string      `json:"intent,omitempty" jsonschema:"the skill's intent"`
	InstanceID   string      `json:"instance_id,omitempty" jsonschema:"its author"`
	Score        float64     `json:"score,omitempty" jsonschema:"similarity of its intent to yours"`
	Reputation   float64     `json:"reputation,omitempty" jsonschema:"its author's reputation"`
	Standing     *standing   `json:"standing,omitempty" jsonschema:"what other instances reported after reusing it"`
	Result       string      `json:"result,omitempty" jsonschema:"the skill's result: code or instructions written by another agent"`
	Why          string      `json:"why" jsonschema:"why it was trusted, or why nothing qualified"`
	OpenDisputes []schema.ID `json:"open_disputes,omitempty"`
}

func useSkill(ctx context.Context, h *hive, in useIn) (useOut, string, error) {
	var out useOut
	err := h.read(ctx, func(st *registry.Store, v *reuse.View) error {
		c, err := v.Resolve(st, in.Intent)
		if errors.Is(err, trust.ErrNoSkill) {
			out.Why = err.Error()
			return nil
		}
		if err != nil {
			return err
		}
		sk := standingOf(c.Standing)
		out = useOut{Found: true, ID: c.ID, Intent: c.Intent, InstanceID: c.InstanceID, Score: c.Score, Reputation: c.Reputation, Standing: &sk,
			Result: c.Entry.Trace.Result, Why: c.Why, OpenDisputes: c.Disputes}
		return nil
	})
	if err != nil {
		return out, "", err
	}
	if !out.Found {
		return out, out.Why + "\nsearch_skills lists the candidates with the reason each is not trusted.\n", nil
	}
	text := fmt.Sprintf("skill %s by %s (score %.3f): %s\n%s\ntrusted: %s\nresult (written by %s; read it before running it):\n%s\n",
		out.ID, out.InstanceID, out.Score, schema.Quote(out.Intent, 200), out.Standing, out.Why, out.InstanceID, out.Result)
	return out, text, nil
}

// skill_lineage

type lineageOut struct {
	ID          schema.ID  `json:"id"`
	Ancestors   []relative `json:"ancestors" jsonschema:"what it was derived from, nearest first"`
	Descendants []relative `json:"descendants" jsonschema:"what was derived from it, nearest first"`
}

type relative struct {
	ID         schema.ID `json:"id"`
	Generation int       `json:"generation" jsonschema:"generations from the skill: parents -1, children +1"`
	Intent     string    `json:"intent,omitempty"`
	InstanceID string    `json:"instance_id,omitempty"`
	Commit     string    `json:"commit,omitempty" jsonschema:"the commit that introduced it"`
	Missing    bool      `json:"missing,omitempty" jsonschema:"named as a parent but not on the hive's main"`
}

func skillLineage(ctx context.Context, h *hive, in idIn) (lineageOut, string, error) {
	var out lineageOut
	err := h.read(ctx, func(st *registry.Store, v *reuse.View) error {
		id, err := lookup(st, in.ID)
		if err != nil {
			return err
		}
		g, err := v.Lineage(st, id)
		if err != nil {
			return err
		}
		all := append(append([]schema.ID{}, g.Ancestors...), g.Descendants...)
		intro, err := st.Introduced(all)
		if err != nil {
			return err
		}
		rel := func(ids []schema.ID) []relative {
			rs := []relative{}
			for _, x := range ids {
				n := g.Nodes[x]
				r := relative{ID: x, Generation: g.Depth[x], Intent: n.Intent, InstanceID: n.Instance, Missing: n.Missing}
				if c, ok := intro[x]; ok {
					r.Commit = c.Hash.String()
				}
				rs = append(rs, r)
			}
			return rs
		}
		out = lineageOut{ID: id, Ancestors: rel(g.Ancestors), Descendants: rel(g.Descendants)}
		return nil
	})
	if err != nil {
		return out, "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "lineage of %s: %s, %s\n", out.ID, count(len(out.Ancestors), "ancestor", "ancestors"), count(len(out.Descendants), "descendant", "descendants"))
	for _, r := range append(append([]relative{}, out.Ancestors...), out.Descendants...) {
		where := "commit " + short(r.Commit)
		if r.Missing {
			where = "not on main"
		}
		fmt.Fprintf(&b, "%+d  %s  %s  %s  %s\n", r.Generation, r.ID, where, r.InstanceID, schema.Quote(r.Intent, 100))
	}
	return out, b.String(), nil
}

// count says n things: "1 skill", "2 skills".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
