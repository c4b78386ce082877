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

	open map[schema.ID][]schema.ID // trace -> its open (unresolved) disputes

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
	table, err := reputation(st, ix)
	if err != nil {
		return nil, err
	}
	ds, err := st.Disputes()
	if err != nil {
		return nil, err
	}
	open := map[schema.ID][]schema.ID{}
	for _, d := range ds {
		if d.Resolution == nil {
			open[d.Dispute.Trace] = append(open[d.Dispute.Trace], d.ID)
		}
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

// Reasons a skill is not trusted, as Verdict.Reason says them.
const (
	NotAllowed      = "author not allowed by hive.trust.instance"
	KeyRevoked      = "author's key revoked"
	LowReputation   = "author's reputation below hive.trust.min-reputation"
	LowConfidence   = "confidence below hive.trust.min-confidence"
	LowVerification = "verification score below hive.trust.min-verification"
	Disputed        = "open dispute"
)

// Verdict is the local trust policy's answer for one skill.
type Verdict struct {
	Trusted    bool        `json:"trusted"`
	Why        string      `json:"why"`              // why it is trusted, or the first reason it is not, with the numbers
	Reason     string      `json:"reason,omitempty"` // that reason's kind (NotAllowed...), when not trusted
	Reputation float64     `json:"reputation"`
	Disputes   []schema.ID `json:"open_disputes,omitempty"`
}

// Judge applies the policy to the skill r, as trust.Resolve does (allowed
// author, key not revoked, the author's reputation, the skill's confidence
// and verification score), and also refuses a skill with an open dispute.
func (v *View) Judge(r search.Result) Verdict {
	st := v.Table.Of(r.InstanceID)
	p := v.Policy
	out := Verdict{Reputation: st.Reputation, Disputes: v.open[r.ID]}
	switch {
	case len(p.Instances) > 0 && !slices.Contains(p.Instances, r.InstanceID):
		out.Reason, out.Why = NotAllowed, fmt.Sprintf("author %s is not allowed by hive.trust.instance", r.InstanceID)
	case v.Config.IsRevoked(r.InstanceID):
		out.Reason, out.Why = KeyRevoked, fmt.Sprintf("the key of author %s is revoked", r.InstanceID)
	case st.Reputation < p.MinReputation:
		out.Reason, out.Why = LowReputation, fmt.Sprintf("author %s has reputation %.3f, below %g (hive.trust.min-reputation)", r.InstanceID, st.Reputation, p.MinReputation)
	case r.Confidence < p.MinConfidence:
		out.Reason, out.Why = LowConfidence, fmt.Sprintf("confidence %g is below %g (hive.trust.min-confidence)", r.Confidence, p.MinConfidence)
	case r.VerificationScore < p.MinVerification:
		out.Reason, out.Why = LowVerification, fmt.Sprintf("verification score %g is below %g (hive.trust.min-verification)", r.VerificationScore, p.MinVerification)
	case len(out.Disputes) > 0:
		out.Reason, out.Why = Disputed, fmt.Sprintf("disputed: %d open dispute(s), the first %s", len(out.Disputes), out.Disputes[0].Short())
	default:
		out.Trusted = true
		out.Why = TrustedBecause(p, r, st.Reputation)
	}
	return out
}

// TrustedBecause says why the policy trusts a skill.
func TrustedBecause(p trust.Policy, r search.Result, reputation float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "author %s has reputation %.3f (at least %g)", r.InstanceID, reputation, p.MinReputation)
	if len(p.Instances) > 0 {
		b.WriteString(" and is allowed by hive.trust.instance")
	}
	fmt.Fprintf(&b, "; confidence %g and verification score %g meet the policy; signature and history verified on main", r.Confidence, r.VerificationScore)
	return b.String()
}

// reputation is the reputation table of main. trust computes it from the
// search index's scores, opened here for a view without one.
func reputation(st *registry.Store, ix *search.Index) (*trust.Table, error) {
	if ix == nil {
		var err error
		if ix, err = search.OpenIndex(st); err != nil {
			return nil, err
		}
	}
	return trust.Reputation(st, ix)
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

// Resolve picks the best skill for intent that the policy trusts: among the
// skills scoring at least the policy's threshold, the first by rank that
// Judge trusts; as hive resolve (trust.Resolve) does, and refusing skills
// with an open dispute too. The chosen trace is re-read from main through
// the registry's strict parser and checked against the index. When none
// qualifies the error wraps trust.ErrNoSkill and counts the reasons.
func (v *View) Resolve(st *registry.Store, intent string) (*Choice, error) {
	if v.Index == nil {
		return nil, errors.New("resolve: the view has no search index")
	}
	results := v.Index.Search(search.Query{Text: intent, Threshold: v.Policy.Threshold})
	counts := map[string]int{}
	var order []string
	for _, r := range results {
		vd := v.Judge(r)
		if !vd.Trusted {
			if counts[vd.Reason] == 0 {
				order = append(order, vd.Reason)
			}
			counts[vd.Reason]++
			continue
		}
		e, err := st.Trace(r.ID)
		if err != nil {
			return nil, err
		}
		if e.Trace.InstanceID != r.InstanceID || e.Trace.Confidence != r.Confidence || e.Trace.VerificationScore != r.VerificationScore {
			return nil, fmt.Errorf("search index disagrees with trace %s: remove %s/hive/index and retry", r.ID, st.GitDir())
		}
		return &Choice{Result: r, Verdict: vd, Entry: e}, nil
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("%w for %s: no skill scores %g or more", trust.ErrNoSkill, schema.Quote(intent, 80), v.Policy.Threshold)
	}
	parts := make([]string, len(order))
	for i, r := range order {
		parts[i] = fmt.Sprintf("%d: %s", counts[r], r)
	}
	return nil, fmt.Errorf("%w for %s: %d skills score %g or more, none is trusted (%s)", trust.ErrNoSkill, schema.Quote(intent, 80),
		len(results), v.Policy.Threshold, strings.Join(parts, "; "))
}
