// Package reuse says which skills of a hive an instance may reuse, and why:
// a View of a verified main (its search index, the reputation of every
// instance, the open disputes, the local trust policy) and Judge, the
// policy applied to one skill. The MCP tools and hive install share it, so
// they agree with each other and, through trust's public API, with hive
// resolve.
package reuse

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

// View is what an instance knows of one commit of main: everything Judge
// needs, computed once. A View is safe for concurrent use.
type View struct {
	Head   plumbing.Hash
	Index  *search.Index
	Policy trust.Policy
	Table  *trust.Table
	Config *registry.Config

	open trust.Open // trace -> its open (unresolved) disputes

	famMu   sync.Mutex
	fam     *family // read on first use
	prevFam *family // an earlier main's, to read only what changed since
}

// Open verifies main (from the recorded verified tips onward) and takes
// the view of it, with ix, the search index of main, or nil for a view that
// judges skills by id and does not search. prev, a view of an earlier main
// (or nil), saves reading the lineage of every trace again: only what main
// added and removed since is read.
func Open(st *registry.Store, ix *search.Index, prev *View) (*View, error) {
	head, err := st.Head()
	if err != nil {
		return nil, err
	}
	if ix != nil && ix.Commit() != head {
		return nil, fmt.Errorf("the search index is of %s, main is %s", ix.Commit(), head)
	}
	rep, err := st.Verify(head, registry.VerifyOptions{})
	if err != nil {
		return nil, err
	}
	if err := rep.Err(); err != nil {
		return nil, fmt.Errorf("main does not verify, nothing is reused from it: %w", err)
	}
	p, err := trust.LoadPolicy(st)
	if err != nil {
		return nil, err
	}
	cfg, err := st.Config()
	if err != nil {
		return nil, err
	}
	table, err := trust.Reputation(st)
	if err != nil {
		return nil, err
	}
	open, err := trust.OpenDisputes(st)
	if err != nil {
		return nil, err
	}
	v := &View{Head: head, Index: ix, Policy: p, Table: table, Config: cfg, open: open}
	if prev != nil {
		prev.famMu.Lock()
		v.prevFam = prev.fam
		if v.prevFam == nil {
			v.prevFam = prev.prevFam
		}
		prev.famMu.Unlock()
	}
	return v, nil
}

// Reasons a skill is not trusted, as Verdict.Reason says them: the trust
// policy's (trust.Refusal), and an open dispute.
const (
	NotAllowed      = trust.NotAllowed
	KeyRevoked      = trust.KeyRevoked
	Failed          = trust.Failed
	LowReputation   = trust.LowReputation
	LowConfidence   = trust.LowConfidence
	LowVerification = trust.LowVerification
	Unproven        = trust.Unproven
	Disputed        = trust.Disputed
)

// Verdict is the local trust policy's answer for one skill.
type Verdict struct {
	Trusted    bool                `json:"trusted"`
	Why        string              `json:"why"`              // why it is trusted, or the first reason it is not, with the numbers (and any open dispute)
	Reason     string              `json:"reason,omitempty"` // that reason's kind (NotAllowed...), when not trusted
	Reputation float64             `json:"reputation"`
	Standing   trust.SkillStanding `json:"standing"` // what other instances reported of the skill
	Disputes   []schema.ID         `json:"open_disputes,omitempty"`
}

// Judge applies the policy to the skill r, as trust.Resolve does (allowed
// author, key not revoked, no failures outweighing successes, the author's
// reputation, the skill's confidence and verification score), and also
// refuses a skill with an open dispute. For a search hit (a score above 0)
// it also applies the unproven threshold, as a resolve of that task would;
// a skill named by id has no score to judge.
func (v *View) Judge(r search.Result) Verdict {
	st, sk := v.Table.Of(r.InstanceID), v.Table.Skill(r.ID)
	out := Verdict{Reputation: st.Reputation, Standing: sk, Disputes: v.open.IDs(r.ID)}
	out.Reason, out.Why = v.Policy.Refusal(v.Config, v.Table, r)
	if out.Reason == "" && r.Score > 0 && !sk.Proven && r.Score < v.Policy.UnprovenThreshold {
		out.Reason, out.Why = v.Policy.UnprovenRefusal(r)
	}
	if reason, why := v.open.Refusal(r); reason != "" {
		if out.Reason == "" {
			out.Reason, out.Why = reason, why
		} else {
			// Said too: an agent reading only the text must not miss it.
			out.Why += "; also " + why
		}
	}
	if out.Reason == "" {
		out.Trusted = true
		out.Why = TrustedBecause(v.Policy, r, st.Reputation, sk)
	}
	return out
}

// TrustedBecause says why the policy trusts a skill.
func TrustedBecause(p trust.Policy, r search.Result, reputation float64, sk trust.SkillStanding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "author %s has reputation %.3f (at least %g)", r.InstanceID, reputation, p.MinReputation)
	if len(p.Instances) > 0 {
		b.WriteString(" and is allowed by hive.trust.instance")
	}
	switch {
	case sk.Proven:
		fmt.Fprintf(&b, "; proven by others: %d successes, %d failures (standing %.2f)", sk.Successes, sk.Failures, sk.Standing)
	case sk.Successes+sk.Failures > 0:
		fmt.Fprintf(&b, "; %d successes, %d failures reported by others (standing %.2f), not yet proven", sk.Successes, sk.Failures, sk.Standing)
	default:
		b.WriteString("; no outcomes reported by others yet")
	}
	fmt.Fprintf(&b, "; confidence %g and verification score %g meet the policy; signature and history verified on main", r.Confidence, r.VerificationScore)
	return b.String()
}

// Skill returns what Judge needs of a skill on main: the index's entry, or
// without an index the trace's own fields (ErrNotFound when it is not on
// main).
func (v *View) Skill(st *registry.Store, id schema.ID) (search.Result, error) {
	if v.Index != nil {
		if r, ok := v.Index.Skill(id); ok {
			return r, nil
		}
		return search.Result{}, fmt.Errorf("skill %s: not on main: %w", id, registry.ErrNotFound)
	}
	e, err := st.Trace(id)
	if err != nil {
		return search.Result{}, err
	}
	t := e.Trace
	return search.Result{ID: id, Intent: t.Intent, InstanceID: t.InstanceID, Confidence: t.Confidence, VerificationScore: t.VerificationScore}, nil
}

// family reads the lineage of every trace on main from st (a store of the
// same hive) on first use.
func (v *View) family(st *registry.Store) (*family, error) {
	v.famMu.Lock()
	defer v.famMu.Unlock()
	if v.fam != nil {
		return v.fam, nil
	}
	f, err := readFamily(st, v.Head, v.prevFam)
	if err != nil {
		return nil, err
	}
	v.fam, v.prevFam = f, nil
	return f, nil
}

// Prepare reads now what the view otherwise reads on first use (the
// lineage of every trace), from st, a store of the same hive.
func (v *View) Prepare(st *registry.Store) error {
	_, err := v.family(st)
	return err
}

// Lineage is the lineage graph of a skill on main: its ancestors and
// descendants, with the intent and author of each (commits are not set).
// A parent that is not on main is Missing. st is a store of the same hive,
// read the first time.
func (v *View) Lineage(st *registry.Store, id schema.ID) (*lineage.Graph, error) {
	f, err := v.family(st)
	if err != nil {
		return nil, err
	}
	return lineage.Walk(source{f}, id)
}

// LineageSize is how many traces a skill's lineage holds besides itself:
// its ancestors and its descendants.
func (v *View) LineageSize(st *registry.Store, id schema.ID) (int, error) {
	g, err := v.Lineage(st, id)
	if err != nil {
		return 0, err
	}
	return len(g.Ancestors) + len(g.Descendants), nil
}

// source is the lineage.Source of a view.
type source struct{ f *family }

func (s source) Node(id schema.ID) (lineage.Node, error) {
	ps, ok := s.f.parents[id]
	if !ok {
		return lineage.Node{}, fmt.Errorf("%s: %w", id, lineage.ErrNotFound)
	}
	a := s.f.about[id]
	return lineage.Node{ID: id, Parents: ps, Instance: a.instance, Intent: a.intent}, nil
}

func (s source) Children(id schema.ID) ([]schema.ID, error) {
	return slices.Clone(s.f.children[id]), nil
}

// Choice is the skill chosen for an intent.
type Choice struct {
	search.Result
	Verdict
	Entry *registry.Entry // the trace, re-read from main
}

// Resolve picks the best skill for intent that the policy trusts, as hive
// resolve does (trust.Choose: the same candidates, bars and ranking), and
// refusing skills with an open dispute too. The chosen trace is re-read
// from main through the registry's strict parser and checked against the
// index. When none qualifies the error wraps trust.ErrNoSkill and counts
// the reasons.
func (v *View) Resolve(st *registry.Store, intent string) (*Choice, error) {
	if v.Index == nil {
		return nil, errors.New("resolve: the view has no search index")
	}
	res, err := trust.Choose(st, v.Index, v.Config, v.Table, v.Policy, intent, v.open.Refusal)
	if err != nil {
		return nil, err
	}
	vd := Verdict{Trusted: true, Reputation: res.Reputation, Standing: res.Skill,
		Why: TrustedBecause(v.Policy, res.Result, res.Reputation, res.Skill)}
	return &Choice{Result: res.Result, Verdict: vd, Entry: res.Entry}, nil
}
