package trust

import (
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"testing"

	"github.com/hive-dev/hive/schema"
)

func id(name string) schema.ID { return schema.Digest([]byte(name)) }

// report is a success (ok) or failure of reporter on author's trace named
// trace, in a cluster of its own.
func report(reporter, author, trace string, ok bool) Report {
	return Report{Trace: id(trace), Author: author, Reporter: reporter, Success: ok, Cluster: id(trace)}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// TestComputeFormula: the numbers docs/search.md gives.
func TestComputeFormula(t *testing.T) {
	one := Evidence{Claims: map[string]Claims{"a": {Traces: 1, Quality: 0.99}}}
	base := Compute(one).Of("a").Reputation
	for _, c := range []struct {
		name string
		ev   Evidence
		inst string
		want float64
	}{
		{"nothing known", Evidence{}, "z", 0.5},
		{"one trace of quality 0.99", one, "a", (2 + 0.2*0.99) / 4.2},
		{"a newcomer's success", Evidence{Claims: one.Claims, Reports: []Report{report("b", "a", "t", true)}}, "a", (2 + 0.198 + 0.5) / 4.7},
		{"a maintainer's success", Evidence{Claims: one.Claims, Maintainers: []string{"m"}, Reports: []Report{report("m", "a", "t", true)}}, "a", (2 + 0.198 + 1) / 5.2},
		{"a maintainer's failure", Evidence{Claims: one.Claims, Maintainers: []string{"m"}, Reports: []Report{report("m", "a", "t", false)}}, "a", (2 + 0.198) / 5.2},
		{"an upheld dispute", Evidence{Claims: one.Claims, Upheld: map[string]int{"a": 1}}, "a", (2 + 0.198) / 7.2},
		{"three successes of one maintainer", Evidence{Claims: one.Claims, Maintainers: []string{"m"}, Reports: []Report{
			report("m", "a", "t1", true), report("m", "a", "t2", true), report("m", "a", "t3", true)}}, "a", (2 + 0.198 + 2) / 6.2},
		{"a revoked maintainer counts for nothing", Evidence{Claims: one.Claims, Maintainers: []string{"m"}, Revoked: []string{"m"},
			Reports: []Report{report("m", "a", "t", true)}}, "a", base},
	} {
		if got := Compute(c.ev).Of(c.inst).Reputation; !near(got, c.want) {
			t.Errorf("%s: reputation %v, want %v", c.name, got, c.want)
		}
	}
}

// TestOwnClaimsMoveLittle: however many traces, and however good they say
// they are, an author's own claims keep it near the start, and near
// duplicate reports count once.
func TestOwnClaimsMoveLittle(t *testing.T) {
	for _, n := range []int{1, 10, 1000} {
		r := Compute(Evidence{Claims: map[string]Claims{"a": {Traces: n, Quality: 1}}}).Of("a")
		if r.Reputation > 0.53 || r.Vouched {
			t.Errorf("%d traces of quality 1: reputation %v, vouched %v", n, r.Reputation, r.Vouched)
		}
	}
	// One maintainer reports success on ten near-duplicate traces of a: one
	// cluster, counted once.
	var dup, single []Report
	for i := range 10 {
		r := report("m", "a", fmt.Sprint("t", i), true)
		r.Cluster = id("t0")
		dup = append(dup, r)
	}
	single = append(single, report("m", "a", "t0", true))
	claims := map[string]Claims{"a": {Traces: 10, Quality: 0.99}}
	got := Compute(Evidence{Claims: claims, Maintainers: []string{"m"}, Reports: dup}).Of("a").Reputation
	want := Compute(Evidence{Claims: claims, Maintainers: []string{"m"}, Reports: single}).Of("a").Reputation
	if !near(got, want) {
		t.Errorf("ten near-duplicates reported: %v, one: %v; want equal", got, want)
	}
}

// TestSybilRing: twenty fresh instances that publish and vouch for each
// other and for an attacker earn little: no more than one honest newcomer
// earns, far below an author a maintainer vouched for, never trusted.
func TestSybilRing(t *testing.T) {
	ev := Evidence{Claims: map[string]Claims{"attacker": {Traces: 10, Quality: 1}, "honest": {Traces: 1, Quality: 0.97}},
		Maintainers: []string{"maint"}}
	var ring []string
	for i := range 20 {
		ring = append(ring, fmt.Sprintf("sybil%02d", i))
	}
	for _, s := range ring {
		ev.Claims[s] = Claims{Traces: 1, Quality: 1}
		for k := range 10 {
			ev.Reports = append(ev.Reports, report(s, "attacker", fmt.Sprint("attack", k), true))
		}
		for _, o := range ring {
			if o != s {
				ev.Reports = append(ev.Reports, report(s, o, "skill of "+o, true))
			}
		}
	}
	ev.Reports = append(ev.Reports, report("maint", "honest", "useful", true))
	tab := Compute(ev)
	attacker, honest := tab.Of("attacker"), tab.Of("honest")
	newcomer := Compute(Evidence{Claims: map[string]Claims{"a": {Traces: 10, Quality: 1}}, Reports: []Report{report("b", "a", "x", true)}}).Of("a")
	if attacker.Vouched || attacker.Reputation > newcomer.Reputation+1e-12 {
		t.Errorf("attacker with a 20-instance ring: %+v; one honest newcomer's success gives %v", attacker, newcomer.Reputation)
	}
	if attacker.Reputation-0.5 > 0.08 {
		t.Errorf("the ring earned the attacker %.3f above the start; want little", attacker.Reputation-0.5)
	}
	if honest.Reputation <= attacker.Reputation {
		t.Errorf("honest author with one maintainer's success: %v, attacker: %v", honest.Reputation, attacker.Reputation)
	}
	for _, s := range ring {
		if w := tab.Of(s).Weight; w != 0 {
			t.Fatalf("ring member %s has witness weight %v", s, w)
		}
	}
	if sk := tab.Skill(id("attack0")); sk.Proven {
		t.Errorf("a skill vouched for by the ring only is proven: %+v", sk)
	}
	if sk := tab.Skill(id("useful")); !sk.Proven || sk.Failed {
		t.Errorf("the honest skill a maintainer vouched for: %+v, want proven", sk)
	}

	// One ring member infiltrated: the maintainer found its skill useful.
	// Its standing is bounded by the maintainer's, and does not multiply
	// through the ring.
	ev.Reports = append(ev.Reports, report("maint", ring[0], "skill of "+ring[0], true))
	tab = Compute(ev)
	if w := tab.Of(ring[0]).Weight; w <= 0 || w > Decay {
		t.Errorf("infiltrated member's weight %v, want in (0, %v]", w, Decay)
	}
	sum := 0.0
	for _, s := range ring[1:] {
		sum += tab.Of(s).Weight
	}
	if sum > tab.Of(ring[0]).Weight {
		t.Errorf("the ring's weights sum to %v, more than the member that vouched for them (%v)", sum, tab.Of(ring[0]).Weight)
	}
	if a := tab.Of("attacker"); a.Vouched || a.Reputation >= honest.Reputation+0.05 {
		t.Errorf("attacker with one infiltrated member: %v (honest %v)", a.Reputation, honest.Reputation)
	}
}

// TestWitnessFlow: standing flows from maintainers, halving at each hop,
// and an author in bad standing vouches for nobody.
func TestWitnessFlow(t *testing.T) {
	ev := Evidence{Maintainers: []string{"m"}, Reports: []Report{
		report("m", "x", "x1", true),
		report("x", "y", "y1", true),
		report("y", "z", "z1", true),
	}}
	tab := Compute(ev)
	for _, c := range []struct {
		inst string
		want float64
	}{{"m", 1}, {"x", 0.5}, {"y", 0.25}, {"z", 0.125}} {
		if w := tab.Of(c.inst).Weight; !near(w, c.want) {
			t.Errorf("weight of %s = %v, want %v", c.inst, w, c.want)
		}
	}
	ev.Upheld = map[string]int{"x": 1}
	tab = Compute(ev)
	if w := tab.Of("x").Weight; w != 0 {
		t.Errorf("an author with an upheld dispute has weight %v, want 0", w)
	}
	if w := tab.Of("y").Weight; w != 0 {
		t.Errorf("vouched for by an author in bad standing only: weight %v, want 0", w)
	}
}

// TestSkillStanding: a skill's standing is its own reports, weighted.
func TestSkillStanding(t *testing.T) {
	ev := Evidence{Maintainers: []string{"m"}, Reports: []Report{
		report("b", "a", "newcomer only", true),
		report("b", "a", "failed", false),
		report("m", "a", "proven", true),
		report("m", "a", "outweighed", true),
		report("b", "a", "outweighed", false),
		report("b", "a", "disputed", true),
		report("c", "a", "disputed", false),
	}}
	tab := Compute(ev)
	for _, c := range []struct {
		name           string
		standing       float64
		proven, failed bool
	}{
		{"none", 0.5, false, false},
		{"newcomer only", 1.5 / 2.5, false, false},
		{"failed", 1 / 2.5, false, true},
		{"proven", 2.0 / 3, true, false},
		{"outweighed", 2 / 3.5, true, false},
		{"disputed", 1.5 / 3, false, true},
	} {
		sk := tab.Skill(id(c.name))
		if !near(sk.Standing, c.standing) || sk.Proven != c.proven || sk.Failed != c.failed {
			t.Errorf("%s: %+v, want standing %v proven %v failed %v", c.name, sk, c.standing, c.proven, c.failed)
		}
	}
}

// TestComputeIgnoresOrder: the same evidence in any order gives the same
// table, bit for bit.
func TestComputeIgnoresOrder(t *testing.T) {
	ev := Evidence{Claims: map[string]Claims{}, Maintainers: []string{"m1", "m2"}, Upheld: map[string]int{"i3": 1}}
	r := rand.New(rand.NewSource(1))
	for i := range 12 {
		ev.Claims[fmt.Sprint("i", i)] = Claims{Traces: 1 + i, Quality: 0.9 + float64(i)/200}
	}
	for range 200 {
		a, b := fmt.Sprint("i", r.Intn(12)), fmt.Sprint("i", r.Intn(12))
		if r.Intn(4) == 0 {
			b = fmt.Sprint("m", 1+r.Intn(2))
		}
		ev.Reports = append(ev.Reports, report(b, a, fmt.Sprint("t", r.Intn(40)), r.Intn(5) != 0))
	}
	want := Compute(ev).All()
	for range 5 {
		r.Shuffle(len(ev.Reports), func(i, j int) { ev.Reports[i], ev.Reports[j] = ev.Reports[j], ev.Reports[i] })
		if got := Compute(ev).All(); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffled reports gave another table")
		}
	}
}
