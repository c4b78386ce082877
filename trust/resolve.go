package trust

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

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

// Resolve's candidates: the best maxCandidates skills scoring at least
// candidateFloor, before proven ones are scored on their own.
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
// score at least policy.UnprovenThreshold. A proven skill's score is the
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
	// Candidates: the skills the search ranks for the intent, down to a
	// floor below the threshold. A proven skill is also scored on its own
	// (search.Similarity, with no other skill to compare it with), so that
	// look-alikes that copy the intent cannot push it under the threshold.
	var results []search.Result
	for _, r := range ix.Search(search.Query{Text: intent, Threshold: min(p.Threshold, candidateFloor), Limit: maxCandidates}) {
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
		st, sk := table.Of(r.InstanceID), table.Skill(r.ID)
		reason := ""
		switch {
		case len(p.Instances) > 0 && !slices.Contains(p.Instances, r.InstanceID):
			reason = "author not allowed by hive.trust.instance"
		case cfg.IsRevoked(r.InstanceID):
			reason = "author's key revoked"
		case sk.Failed:
			reason = "reported failures outweigh successes"
		case st.Reputation < p.MinReputation:
			reason = fmt.Sprintf("author's reputation below %g", p.MinReputation)
		case r.Confidence < p.MinConfidence:
			reason = fmt.Sprintf("confidence below %g", p.MinConfidence)
		case r.VerificationScore < p.MinVerification:
			reason = fmt.Sprintf("verification score below %g", p.MinVerification)
		case !sk.Proven && r.Score < p.UnprovenThreshold:
			reason = fmt.Sprintf("not proven by others, and scoring below %g", p.UnprovenThreshold)
		}
		if reason != "" {
			why = append(why, reason)
			continue
		}
		ok = append(ok, &Resolution{Result: r, Reputation: st.Reputation, Skill: sk})
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
	if len(results) == 0 {
		return nil, fmt.Errorf("%w for %s: no skill scores %g or more", ErrNoSkill, schema.Quote(intent, 80), p.Threshold)
	}
	return nil, fmt.Errorf("%w for %s: %d skills score %g or more, none is trusted (%s)", ErrNoSkill, schema.Quote(intent, 80),
		len(results), p.Threshold, summarise(why))
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
