package trust

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hive-dev/hive/internal/plural"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
)

// ErrNoSkill reports that no skill qualifies for an intent.
var ErrNoSkill = errors.New("no trusted skill")

// Policy is an instance's own rule for reusing skills. It lives in the
// hive's local git config (.git/config), which is never pushed or pulled:
//
//	git config hive.trust.min-reputation 0.45       the least reputation of the author (default 0.45)
//	git config --add hive.trust.instance ID         an allowed author; repeat for more (default: any instance)
//	git config hive.trust.min-confidence 0.95       the least confidence of the skill (default 0)
//	git config hive.trust.min-verification 0.95     the least verification score (default 0)
//	git config hive.trust.threshold 0.7             the least similarity to the intent (default 0.7)
//	git config hive.trust.unproven-threshold 0.8    the least similarity of a skill no one with standing vouched for (default 0.8)
//
// Whatever the policy, a revoked author's skills and a skill whose failures
// weigh at least as much as its successes are never returned.
type Policy struct {
	MinReputation     float64
	Instances         []string // allowed authors; empty: any
	MinConfidence     float64
	MinVerification   float64
	Threshold         float64
	UnprovenThreshold float64
}

// The default policy's bars (docs/search.md, "The default policy").
const (
	DefaultMinReputation     = 0.45
	DefaultUnprovenThreshold = 0.8
)

// Resolve's candidates: the best maxCandidates skills that share a word
// with the task, before proven ones are scored on their own (look-alikes
// that copy the task lower an honest skill's score in the search far below
// any floor: to 0.08 in TestDefaultPolicyGaming). candidateFloor is the
// near-duplicate check's.
const (
	candidateFloor = 0.2
	maxCandidates  = 100
)

// DefaultPolicy is the policy of an instance that has set none.
func DefaultPolicy() Policy {
	return Policy{MinReputation: DefaultMinReputation, Threshold: search.DefaultThreshold, UnprovenThreshold: DefaultUnprovenThreshold}
}

// LoadPolicy reads the policy from s's git config, over the defaults.
func LoadPolicy(s *registry.Store) (Policy, error) {
	p := DefaultPolicy()
	cfg, err := s.Storer().Config()
	if err != nil {
		return p, fmt.Errorf("read git config: %w", err)
	}
	if !cfg.Raw.HasSection("hive") || !cfg.Raw.Section("hive").HasSubsection("trust") {
		return p, nil
	}
	opts := cfg.Raw.Section("hive").Subsection("trust").Options
	for _, f := range []struct {
		key string
		dst *float64
	}{
		{"min-reputation", &p.MinReputation},
		{"min-confidence", &p.MinConfidence},
		{"min-verification", &p.MinVerification},
		{"threshold", &p.Threshold},
		{"unproven-threshold", &p.UnprovenThreshold},
	} {
		vs := opts.GetAll(f.key)
		if len(vs) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(vs[len(vs)-1]), 64) // the last one wins, as in git
		if err != nil || v < 0 || v > 1 {
			return p, fmt.Errorf("git config hive.trust.%s = %q: want a number in [0,1]: %w", f.key, vs[len(vs)-1], registry.ErrInvalid)
		}
		*f.dst = v
	}
	for _, v := range opts.GetAll("instance") {
		if v = strings.TrimSpace(v); v != "" {
			p.Instances = append(p.Instances, v)
		}
	}
	return p, nil
}

// Reasons a policy refuses a skill, as Refusal and Choose name them.
const (
	NotAllowed      = "author not allowed by hive.trust.instance"
	KeyRevoked      = "author's key revoked"
	Failed          = "reported failures outweigh successes"
	LowReputation   = "author's reputation below hive.trust.min-reputation"
	LowConfidence   = "confidence below hive.trust.min-confidence"
	LowVerification = "verification score below hive.trust.min-verification"
	Unproven        = "not proven by others, and scoring below hive.trust.unproven-threshold"
	Disputed        = "open dispute"
)

// Refusal says why p refuses the skill r in a hive of config cfg and
// standings t: the reason's kind (NotAllowed...) and a sentence with the
// numbers, or "", "" when p trusts it. It judges the author and the skill,
// never the similarity to a task (a skill named by id has none): Choose
// applies the threshold and the unproven threshold.
func (p Policy) Refusal(cfg *registry.Config, t *Table, r search.Result) (reason, why string) {
	st, sk := t.Of(r.InstanceID), t.Skill(r.ID)
	switch {
	case len(p.Instances) > 0 && !slices.Contains(p.Instances, r.InstanceID):
		return NotAllowed, fmt.Sprintf("author %s is not allowed by hive.trust.instance", r.InstanceID)
	case cfg.IsRevoked(r.InstanceID):
		return KeyRevoked, fmt.Sprintf("the key of author %s is revoked", r.InstanceID)
	case sk.Failed:
		return Failed, fmt.Sprintf("other instances reported %s and %s: failures outweigh successes", plural.N(sk.Failures, "failure"), plural.N(sk.Successes, "success"))
	case st.Reputation < p.MinReputation:
		return LowReputation, fmt.Sprintf("author %s has reputation %.3f, below %g (hive.trust.min-reputation)", r.InstanceID, st.Reputation, p.MinReputation)
	case r.Confidence < p.MinConfidence:
		return LowConfidence, fmt.Sprintf("confidence %g is below %g (hive.trust.min-confidence)", r.Confidence, p.MinConfidence)
	case r.VerificationScore < p.MinVerification:
		return LowVerification, fmt.Sprintf("verification score %g is below %g (hive.trust.min-verification)", r.VerificationScore, p.MinVerification)
	}
	return "", ""
}

// brief says a reason with the policy's bar, as a refusal counts it.
func (p Policy) brief(reason string) string {
	switch reason {
	case LowReputation:
		return fmt.Sprintf("author's reputation below %g", p.MinReputation)
	case LowConfidence:
		return fmt.Sprintf("confidence below %g", p.MinConfidence)
	case LowVerification:
		return fmt.Sprintf("verification score below %g", p.MinVerification)
	case Unproven:
		return fmt.Sprintf("not proven by others, and scoring below %g", p.UnprovenThreshold)
	}
	return reason
}

// UnprovenRefusal is the refusal of a skill that no one with standing
// vouched for and that scores under p.UnprovenThreshold for a task.
func (p Policy) UnprovenRefusal(r search.Result) (reason, why string) {
	return Unproven, fmt.Sprintf("not proven by others, and scoring %.3f, below %g (hive.trust.unproven-threshold)", r.Score, p.UnprovenThreshold)
}

// Resolution is the skill chosen for an intent.
type Resolution struct {
	search.Result
	Reputation float64         `json:"reputation"`
	Skill      SkillStanding   `json:"standing"`
	Entry      *registry.Entry `json:"-"`
}

// Resolve picks the best skill for intent that policy trusts. Main must
// verify. A skill qualifies when it scores at least policy.Threshold, its
// author is allowed, not revoked and of reputation at least
// policy.MinReputation, its confidence and verification score meet the
// policy, and it has not failed; a skill that is not proven must also
// score at least policy.UnprovenThreshold; a skill under a dispute that no
// maintainer has resolved is passed over. A proven skill's score is the
// better of the index's and its score alone (search.Similarity), which
// skills copying the intent cannot lower. Proven skills rank first, then
// by score, then by the skill's standing, then by its author's reputation.
// The chosen trace is re-read from main through the registry's strict
// parser, its bytes checked against its id, never taken from the index.
// When none qualifies the error wraps ErrNoSkill and says why.
func Resolve(s *registry.Store, intent string, p Policy) (*Resolution, error) {
	head, err := s.Head()
	if err != nil {
		return nil, err
	}
	rep, err := s.Verify(head, registry.VerifyOptions{})
	if err != nil {
		return nil, err
	}
	if err := rep.Err(); err != nil {
		return nil, fmt.Errorf("main does not verify, nothing is reused from it: %w", err)
	}
	ix, err := search.OpenIndex(s)
	if err != nil {
		return nil, err
	}
	cfg, err := s.Config()
	if err != nil {
		return nil, err
	}
	table, err := Reputation(s)
	if err != nil {
		return nil, err
	}
	open, err := OpenDisputes(s)
	if err != nil {
		return nil, err
	}
	return Choose(s, ix, cfg, table, p, intent, open.Refusal)
}

// Open is the disputes of main that no maintainer has resolved, by the
// trace they dispute, oldest first as main lists them.
type Open map[schema.ID][]OpenDispute

// OpenDispute is one unresolved dispute: its id, who opened it and why.
type OpenDispute struct {
	ID         schema.ID
	InstanceID string
	Reason     string
}

// OpenDisputes reads the disputes of main that are still open.
func OpenDisputes(s *registry.Store) (Open, error) {
	ds, err := s.Disputes()
	if err != nil {
		return nil, err
	}
	open := Open{}
	for _, d := range ds {
		if d.Resolution == nil {
			open[d.Dispute.Trace] = append(open[d.Dispute.Trace], OpenDispute{ID: d.ID, InstanceID: d.Dispute.InstanceID, Reason: d.Dispute.Reason})
		}
	}
	return open, nil
}

// IDs lists the open disputes of the trace id.
func (o Open) IDs(id schema.ID) []schema.ID {
	var out []schema.ID
	for _, d := range o[id] {
		out = append(out, d.ID)
	}
	return out
}

// Refusal refuses a skill with an open dispute, as Choose's extra, and
// says who disputes it and why.
func (o Open) Refusal(r search.Result) (reason, why string) {
	ds := o[r.ID]
	if len(ds) == 0 {
		return "", ""
	}
	first := fmt.Sprintf("%s by %s: %s", ds[0].ID.Short(), ds[0].InstanceID, schema.Quote(ds[0].Reason, 200))
	if len(ds) == 1 {
		return Disputed, "disputed: 1 open dispute, " + first
	}
	return Disputed, fmt.Sprintf("disputed: %d open disputes, the first %s", len(ds), first)
}

// Choose is Resolve on a main already verified, with its search index, its
// hive.json and its table; extra, when not nil, may refuse more skills (a
// reason and a sentence, or "", ""). Callers that keep these per commit of
// main (the MCP server, hive install) choose as hive resolve does.
func Choose(s *registry.Store, ix *search.Index, cfg *registry.Config, table *Table, p Policy, intent string, extra func(search.Result) (string, string)) (*Resolution, error) {
	// Candidates: the best skills the search ranks for the intent, whatever
	// their score. A proven skill is also scored on its own
	// (search.Similarity, with no other skill to compare it with), so that
	// look-alikes that copy the intent cannot push it under the threshold.
	var results []search.Result
	cands := ix.Search(search.Query{Text: intent, Limit: maxCandidates})
	for _, r := range cands {
		if r.Score < p.Threshold && table.Skill(r.ID).Proven {
			e, err := s.Trace(r.ID)
			if err != nil {
				return nil, err
			}
			r.Score = max(r.Score, search.Similarity(intent, e.Trace))
		}
		if r.Score >= p.Threshold {
			results = append(results, r)
		}
	}
	var why []string
	var ok []*Resolution
	for _, r := range results {
		sk := table.Skill(r.ID)
		reason, _ := p.Refusal(cfg, table, r)
		if reason == "" && !sk.Proven && r.Score < p.UnprovenThreshold {
			reason, _ = p.UnprovenRefusal(r)
		}
		if reason == "" && extra != nil {
			reason, _ = extra(r)
		}
		if reason != "" {
			why = append(why, p.brief(reason))
			continue
		}
		ok = append(ok, &Resolution{Result: r, Reputation: table.Of(r.InstanceID).Reputation, Skill: sk})
	}
	sort.SliceStable(ok, func(i, j int) bool {
		a, b := ok[i], ok[j]
		switch {
		case a.Skill.Proven != b.Skill.Proven:
			return a.Skill.Proven
		case a.Score != b.Score:
			return a.Score > b.Score
		case a.Skill.Standing != b.Skill.Standing:
			return a.Skill.Standing > b.Skill.Standing
		case a.Reputation != b.Reputation:
			return a.Reputation > b.Reputation
		}
		return a.ID < b.ID
	})
	if len(ok) > 0 {
		best := ok[0]
		e, err := s.Trace(best.ID)
		if err != nil {
			return nil, err
		}
		if e.Trace.InstanceID != best.InstanceID || e.Trace.Confidence != best.Confidence || e.Trace.VerificationScore != best.VerificationScore {
			return nil, fmt.Errorf("search index disagrees with trace %s: remove %s/hive/index and retry", best.ID, s.GitDir())
		}
		best.Entry = e
		return best, nil
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w for %s: no skill matches it", ErrNoSkill, schema.Quote(intent, 80))
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("%w for %s: no skill scores %g or more", ErrNoSkill, schema.Quote(intent, 80), p.Threshold)
	}
	verb := "score"
	if len(results) == 1 {
		verb = "scores"
	}
	return nil, fmt.Errorf("%w for %s: %s %s %g or more, none is trusted (%s)", ErrNoSkill, schema.Quote(intent, 80),
		plural.N(len(results), "skill"), verb, p.Threshold, summarise(why))
}

// summarise counts reasons: "2 author's reputation below 0.8, 1 ...".
func summarise(reasons []string) string {
	counts := map[string]int{}
	var order []string
	for _, r := range reasons {
		if counts[r] == 0 {
			order = append(order, r)
		}
		counts[r]++
	}
	parts := make([]string, len(order))
	for i, r := range order {
		parts[i] = fmt.Sprintf("%d: %s", counts[r], r)
	}
	return strings.Join(parts, "; ")
}
