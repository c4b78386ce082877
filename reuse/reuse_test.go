package reuse_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/reuse"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

func open(t *testing.T, st *registry.Store, prev *reuse.View) *reuse.View {
	t.Helper()
	ix, err := search.OpenIndex(st)
	if err != nil {
		t.Fatal(err)
	}
	v, err := reuse.Open(st, ix, prev)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// setPolicy writes hive.trust.* options into the store's git config.
func setPolicy(t *testing.T, st *registry.Store, opts map[string][]string) {
	t.Helper()
	cfg, err := st.Storer().Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Raw.RemoveSection("hive")
	sub := cfg.Raw.Section("hive").Subsection("trust")
	for k, vs := range opts {
		sub.SetOption(k, vs[0])
		for _, v := range vs[1:] {
			sub.AddOption(k, v)
		}
	}
	if err := st.Storer().SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
}

func TestJudge(t *testing.T) {
	sp := fixtures.Spec{Instances: 3, Traces: 60}
	st, err := fixtures.Memory(sp)
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := search.OpenIndex(st)
	// A skill of instance_1 whose scores are both under 1, so that a policy
	// can ask for more.
	g := fixtures.NewGenerator(sp)
	var skill search.Result
	for i := 1; i < sp.Traces && skill.ID == ""; i += 3 {
		tr, _ := g.Trace(i)
		if id, _ := g.ID(i); tr.Confidence < 1 && tr.VerificationScore < 1 {
			skill, _ = ix.Skill(id)
		}
	}
	if skill.ID == "" || skill.InstanceID != "instance_1" {
		t.Fatalf("no skill of instance_1 with scores under 1: %+v", skill)
	}
	tests := []struct {
		name   string
		policy map[string][]string
		reason string // "" for trusted
	}{
		{"a bar over the author's reputation", map[string][]string{"min-reputation": {"0.99"}}, reuse.LowReputation},
		{"the default policy, under it", nil, ""},
		{"another author allowed", map[string][]string{"min-reputation": {"0"}, "instance": {"instance_0", "instance_2"}}, reuse.NotAllowed},
		{"this author allowed", map[string][]string{"min-reputation": {"0"}, "instance": {"instance_0", "instance_1"}}, ""},
		{"confidence over the skill's", map[string][]string{"min-reputation": {"0"}, "min-confidence": {"1"}}, reuse.LowConfidence},
		{"verification over the skill's", map[string][]string{"min-reputation": {"0"}, "min-verification": {"1"}}, reuse.LowVerification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setPolicy(t, st, tt.policy)
			vd := open(t, st, nil).Judge(skill)
			if vd.Trusted != (tt.reason == "") || vd.Reason != tt.reason || vd.Why == "" {
				t.Errorf("Judge = %+v, want reason %q", vd, tt.reason)
			}
			if vd.Trusted && !strings.Contains(vd.Why, "instance_1 has reputation") {
				t.Errorf("why trusted: %q", vd.Why)
			}
		})
	}
}

func TestJudgeDisputedAndResolve(t *testing.T) {
	st, err := fixtures.Memory(fixtures.Spec{Instances: 2, Traces: 20})
	if err != nil {
		t.Fatal(err)
	}
	setPolicy(t, st, map[string][]string{"min-reputation": {"0"}})
	ix, _ := search.OpenIndex(st)
	g := fixtures.NewGenerator(fixtures.Spec{Instances: 2, Traces: 20})
	tr, _ := g.Trace(3)
	id, _ := g.ID(3)
	c, err := open(t, st, nil).Resolve(st, tr.Intent)
	if err != nil || c.ID != id || c.Entry.Trace.Intent != tr.Intent || !c.Trusted {
		t.Fatalf("Resolve(trace 3's intent) = %+v, %v", c, err)
	}
	if _, _, err := st.OpenDispute(id, "wrong", "instance_0", fixtures.Key("instance_0")); err != nil {
		t.Fatal(err)
	}
	v := open(t, st, nil)
	r, _ := ix.Skill(id)
	if vd := v.Judge(r); vd.Trusted || vd.Reason != reuse.Disputed || len(vd.Disputes) != 1 ||
		!strings.Contains(vd.Why, `disputed: 1 open dispute, sha256:`) || !strings.Contains(vd.Why, `by instance_0: "wrong"`) {
		t.Errorf("Judge of a disputed skill = %+v", vd)
	}
	// Refused for another reason first, the dispute is still said.
	setPolicy(t, st, map[string][]string{"min-reputation": {"0"}, "instance": {"instance_9"}})
	if vd := open(t, st, nil).Judge(r); vd.Reason != reuse.NotAllowed || !strings.Contains(vd.Why, `; also disputed: 1 open dispute`) {
		t.Errorf("Judge of a disputed skill under a policy it fails = %+v", vd)
	}
	setPolicy(t, st, map[string][]string{"min-reputation": {"0"}})
	if c, err := v.Resolve(st, tr.Intent); err == nil && c.ID == id {
		t.Errorf("Resolve chose the disputed skill")
	}
	_, err = v.Resolve(st, "compile a kernel for a toaster")
	if !errors.Is(err, trust.ErrNoSkill) || !strings.Contains(err.Error(), "no skill matches it") {
		t.Errorf("Resolve of an unknown task = %v", err)
	}
	setPolicy(t, st, map[string][]string{"min-reputation": {"1"}})
	_, err = open(t, st, nil).Resolve(st, tr.Intent)
	if !errors.Is(err, trust.ErrNoSkill) || !strings.Contains(err.Error(), "none is trusted") || !strings.Contains(err.Error(), "author's reputation below 1") {
		t.Errorf("Resolve with a bar nobody meets = %v", err)
	}
}

// TestLineageIncremental: the lineage read from an earlier view and the
// changes since is the lineage read from scratch, after adds and after a
// removal by a resolved dispute.
func TestLineageIncremental(t *testing.T) {
	sp := fixtures.Spec{Instances: 2, Traces: 60, LineageEvery: 3}
	st, err := fixtures.Memory(sp)
	if err != nil {
		t.Fatal(err)
	}
	g := fixtures.NewGenerator(fixtures.Spec{Instances: 2, Traces: 120, LineageEvery: 3})
	v1 := open(t, st, nil)
	if err := v1.Prepare(st); err != nil {
		t.Fatal(err)
	}
	in, _ := g.Inputs(60, 90)
	if _, err := st.AddBatch(in, sp.KeyFunc(), 7); err != nil {
		t.Fatal(err)
	}
	v2 := open(t, st, v1)
	same(t, st, v2, open(t, st, nil))
	in, _ = g.Inputs(90, 120)
	if _, err := st.AddBatch(in, sp.KeyFunc(), 1); err != nil {
		t.Fatal(err)
	}
	v3 := open(t, st, v2)
	same(t, st, v3, open(t, st, nil))
	// From an unrelated hive's view, everything is read again.
	other, err := fixtures.Memory(fixtures.Spec{Instances: 2, Traces: 30, LineageEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	same(t, st, open(t, st, open(t, other, nil)), v3)
}

// same compares two views' lineage of every skill on main.
func same(t *testing.T, st *registry.Store, a, b *reuse.View) {
	t.Helper()
	ids, err := st.TraceIDs()
	if err != nil {
		t.Fatal(err)
	}
	related := 0
	for _, id := range ids {
		ga, err1 := a.Lineage(st, id)
		gb, err2 := b.Lineage(st, id)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(ga, gb) {
			t.Fatalf("lineage of %s: %+v, %v; want %+v, %v", id, ga, err1, gb, err2)
		}
		if len(ga.Ancestors)+len(ga.Descendants) > 0 {
			related++
		}
	}
	if related == 0 {
		t.Fatal("no skill has a lineage: the test compares nothing")
	}
}

func TestLineageAfterRemoval(t *testing.T) {
	mem := registryWithMaintainer(t)
	v1 := open(t, mem.st, nil)
	if n, err := v1.LineageSize(mem.st, mem.parent); err != nil || n != 1 {
		t.Fatalf("lineage size of the parent = %d, %v, want 1", n, err)
	}
	d, _, err := mem.st.OpenDispute(mem.parent, "bad", "instance_1", fixtures.Key("instance_1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.st.ResolveDispute(d, registry.DecisionRemove, "confirmed", "maint", fixtures.Key("maint")); err != nil {
		t.Fatal(err)
	}
	v2 := open(t, mem.st, v1)
	g, err := v2.Lineage(mem.st, mem.child)
	if err != nil || len(g.Ancestors) != 1 || !g.Nodes[mem.parent].Missing {
		t.Errorf("the child's lineage after its parent's removal = %+v, %v, want the parent missing", g, err)
	}
	same(t, mem.st, v2, open(t, mem.st, nil))
}

type removable struct {
	st            *registry.Store
	parent, child schema.ID
}

func registryWithMaintainer(t *testing.T) removable {
	t.Helper()
	st := registry.NewMemory(registry.WithClock(fixtures.Clock()))
	if err := registry.InitStorage(st, "test", []string{"maint"}); err != nil {
		t.Fatal(err)
	}
	for _, inst := range []string{"instance_0", "instance_1", "maint"} {
		if _, err := st.AddKey(inst, fixtures.Key(inst).Public().MarshalPEM()); err != nil {
			t.Fatal(err)
		}
	}
	parent := fixtures.Trace("instance_0", 1)
	pb, _ := parent.Marshal()
	child := fixtures.Trace("instance_1", 2, schema.Digest(pb))
	cb, _ := child.Marshal()
	keys := fixtures.KeyFunc("instance_0", "instance_1")
	if _, err := st.Add([]registry.Input{{Name: "p", Data: pb}, {Name: "c", Data: cb}}, keys); err != nil {
		t.Fatal(err)
	}
	return removable{st, schema.Digest(pb), schema.Digest(cb)}
}

// TestResolveAgreesWithTrust: on a hive without disputes, View.Resolve (on
// the index and reputation the view holds) picks what trust.Resolve (which
// reads them again) picks, under several policies; the tools and hive
// resolve do not disagree.
func TestResolveAgreesWithTrust(t *testing.T) {
	sp := fixtures.Spec{Instances: 3, Traces: 90, LineageEvery: 4}
	st, err := fixtures.Memory(sp)
	if err != nil {
		t.Fatal(err)
	}
	g := fixtures.NewGenerator(sp)
	var queries []string
	for i := 0; i < sp.Traces; i += 7 {
		tr, _ := g.Trace(i)
		queries = append(queries, tr.Intent, strings.Join(strings.Fields(tr.Intent)[:3], " "))
	}
	queries = append(queries, "compile a kernel for a toaster")
	agreed, found := 0, 0
	for _, policy := range []map[string][]string{nil, {"min-reputation": {"0"}}, {"min-reputation": {"0"}, "instance": {"instance_1"}}, {"min-confidence": {"0.95"}, "min-reputation": {"0"}}} {
		setPolicy(t, st, policy)
		v := open(t, st, nil)
		p, err := trust.LoadPolicy(st)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range queries {
			mine, err1 := v.Resolve(st, q)
			theirs, err2 := trust.Resolve(st, q, p)
			switch {
			case err1 != nil && err2 != nil:
				if errors.Is(err1, trust.ErrNoSkill) != errors.Is(err2, trust.ErrNoSkill) {
					t.Errorf("policy %v, %q: errors %v and %v", policy, q, err1, err2)
				}
			case err1 != nil || err2 != nil:
				t.Errorf("policy %v, %q: reuse %v, trust %v", policy, q, err1, err2)
			case mine.ID != theirs.ID:
				t.Errorf("policy %v, %q: reuse chose %s, trust %s", policy, q, mine.ID, theirs.ID)
			default:
				found++
			}
			agreed++
		}
	}
	if found == 0 || found == agreed {
		t.Errorf("%d of %d resolutions found a skill: the policies do not test both outcomes", found, agreed)
	}
}

// TestResolveAgreesWithOutcomes: with outcomes reported, the view's
// Resolve (use_skill, hive install) chooses what hive resolve
// (trust.Resolve) chooses under the default policy, proven and failed
// skills included, and refuses what it refuses.
func TestResolveAgreesWithOutcomes(t *testing.T) {
	sp := fixtures.Spec{Instances: 3, Traces: 30}
	st, err := fixtures.Memory(sp)
	if err != nil {
		t.Fatal(err)
	}
	g := fixtures.NewGenerator(sp)
	var intents []string
	for i := range sp.Traces {
		tr, _ := g.Trace(i)
		intents = append(intents, tr.Intent, tr.Intent[:len(tr.Intent)/2])
		id, _ := g.ID(i)
		reporter := fixtures.Instance((i + 1) % sp.Instances)
		switch i % 5 { // some proven, some failed, most unreported
		case 1:
			_, err = st.ReportOutcome(id, true, "", reporter, fixtures.Key(reporter))
		case 2:
			_, err = st.ReportOutcome(id, false, "exit 1", reporter, fixtures.Key(reporter))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	intents = append(intents, "compile a kernel for a toaster")
	v := open(t, st, nil)
	agreed := 0
	for _, q := range intents {
		want, werr := trust.Resolve(st, q, trust.DefaultPolicy())
		got, gerr := v.Resolve(st, q)
		switch {
		case werr != nil || gerr != nil:
			if !errors.Is(werr, trust.ErrNoSkill) || !errors.Is(gerr, trust.ErrNoSkill) || werr.Error() != gerr.Error() {
				t.Errorf("Resolve(%q): view %v, hive resolve %v", q, gerr, werr)
			}
		case got.ID != want.ID || got.Standing != want.Skill || !got.Trusted:
			t.Errorf("Resolve(%q): view %s %+v, hive resolve %s %+v", q, got.ID, got.Verdict, want.ID, want.Skill)
		default:
			agreed++
		}
	}
	if agreed == 0 {
		t.Error("no intent resolved to a skill: the test compares only refusals")
	}
}
