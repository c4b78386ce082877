// Package trust decides which skills of a hive an instance may reuse: the
// reputation of each instance and the standing of each skill, computed
// from what the hive's main holds (traces, outcomes that other instances
// report, upheld disputes, the maintainers of hive.json); the instance's
// own trust policy (kept in its git config, never in the hive); and
// Resolve, which picks the best trusted skill for an intent.
//
// Reputation is a function of the set of records on main, never of the
// order of commits: a record counts once however many commits or branches
// bring it, and grinding commit hashes or messages changes nothing. The
// formula is in docs/search.md.
package trust

import (
	"math"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// The constants of the formula (docs/search.md, "Reputation").
const (
	// Prior is the weight of the neutral start on each side: every
	// instance starts at Prior/(2*Prior) = 0.5.
	Prior = 2.0
	// SelfWeight is the weight of an author's own claims (the mean
	// quality of its traces), however many traces it has.
	SelfWeight = 0.2
	// NewcomerWeight is the weight of all outcomes by reporters without
	// standing, together: one or a thousand of them count the same.
	NewcomerWeight = 0.5
	// UpheldWeight is the weight against an author of each of its traces
	// removed by an upheld dispute.
	UpheldWeight = 3.0
	// Decay is the share of a reporter's standing that passes to the
	// authors it vouches for; Rounds bounds how far standing travels from
	// the maintainers.
	Decay  = 0.5
	Rounds = 4
	// Vouched is the reputation from which an instance is called vouched
	// for: outcomes reported by instances with standing lifted it there
	// (an author's own claims never do). It is a label for people; the
	// local trust policy (Policy.MinReputation) decides what is trusted.
	Vouched = 0.8
	// Start is the reputation of an instance nothing is known of.
	Start = 0.5
)

// Quality is what one trace claims of itself: the mean of its confidence
// and its verification score, in [0,1].
func Quality(confidence, verification float64) float64 {
	return (confidence + verification) / 2
}

// Claims are an author's own traces on main.
type Claims struct {
	Traces  int     // how many
	Quality float64 // their mean Quality
}

// Report is one independent outcome: Reporter reused Author's Trace.
// Cluster names the near-duplicate class of Trace among the traces of
// Author that Reporter reported the same result on (the smallest id in it):
// reports in one cluster count once.
type Report struct {
	Trace    schema.ID
	Author   string
	Reporter string
	Success  bool
	Cluster  schema.ID
}

// Evidence is everything reputation is computed from.
type Evidence struct {
	Claims      map[string]Claims // author -> its traces on main
	Upheld      map[string]int    // author -> its traces removed by an upheld dispute
	Reports     []Report          // outcomes about traces on main
	Maintainers []string          // hive.json's maintainers: the pre-trusted seeds
	Revoked     []string          // hive.json's revoked instances
}

// Standing is an instance's reputation and what it is made of.
type Standing struct {
	Instance   string  `json:"instance_id"`
	Reputation float64 `json:"reputation"`
	Vouched    bool    `json:"vouched"` // reputation at least Vouched, and not revoked
	Traces     int     `json:"traces"`
	Quality    float64 `json:"claimed_quality"` // the mean quality its traces claim
	Successes  int     `json:"successes"`       // success reports by others on its traces
	Failures   int     `json:"failures"`        // failure reports by others on its traces
	Upheld     int     `json:"upheld_disputes"` // its traces removed by an upheld dispute
	Weight     float64 `json:"witness_weight"`  // how much its own reports count, in [0,1]
	Maintainer bool    `json:"maintainer"`
	Revoked    bool    `json:"revoked"`
}

// SkillStanding is what other instances reported of one skill.
type SkillStanding struct {
	Trace     schema.ID `json:"-"`
	Successes int       `json:"successes"` // success reports
	Failures  int       `json:"failures"`  // failure reports
	Standing  float64   `json:"standing"`  // (1+S)/(2+S+F) of the weighted reports; 0.5 with none
	// Proven: reporters with standing report more success than all
	// reporters report failure.
	Proven bool `json:"proven"`
	// Failed: failures weigh at least as much as successes, and there is
	// at least one.
	Failed bool `json:"failed"`
}

// Table is the standing of every instance and of every skill with
// reports.
type Table struct {
	commit    plumbing.Hash // the commit of main it reflects (zero when computed from bare evidence)
	instances map[string]*Standing
	skills    map[schema.ID]*SkillStanding
}

// Commit returns the commit of main the table reflects.
func (t *Table) Commit() plumbing.Hash { return t.commit }

// Of returns the standing of instance; one nothing is known of is neutral.
func (t *Table) Of(instance string) Standing {
	if st, ok := t.instances[instance]; ok {
		return *st
	}
	return Standing{Instance: instance, Reputation: Start, Quality: 0.5}
}

// Skill returns the standing of a skill; one without reports is neutral.
func (t *Table) Skill(id schema.ID) SkillStanding {
	if st, ok := t.skills[id]; ok {
		return *st
	}
	return SkillStanding{Trace: id, Standing: 0.5}
}

// All lists every instance the evidence names, by instance id.
func (t *Table) All() []Standing {
	out := make([]Standing, 0, len(t.instances))
	for _, st := range t.instances {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}

// pair is a reporter's reports on one author, counted by cluster.
type pair struct {
	reporter, author string
	succ, fail       int // distinct clusters
}

// Compute applies the formula of docs/search.md to the evidence. It is
// deterministic: the same evidence gives the same bits, in any order.
func Compute(ev Evidence) *Table {
	revoked := set(ev.Revoked)
	seeds := map[string]bool{}
	for _, m := range ev.Maintainers {
		if !revoked[m] {
			seeds[m] = true
		}
	}
	t := &Table{instances: map[string]*Standing{}, skills: map[schema.ID]*SkillStanding{}}
	get := func(inst string) *Standing {
		st := t.instances[inst]
		if st == nil {
			st = &Standing{Instance: inst, Quality: 0.5, Maintainer: contains(ev.Maintainers, inst), Revoked: revoked[inst]}
			t.instances[inst] = st
		}
		return st
	}
	for a, c := range ev.Claims {
		st := get(a)
		st.Traces, st.Quality = c.Traces, c.Quality
	}
	for a, n := range ev.Upheld {
		get(a).Upheld = n
	}
	for m := range seeds {
		get(m)
	}
	// Reports, once per (reporter, author, cluster, result), by pair.
	reports := make([]Report, 0, len(ev.Reports))
	for _, r := range ev.Reports {
		if r.Reporter == r.Author || revoked[r.Reporter] {
			continue
		}
		reports = append(reports, r)
		get(r.Reporter)
		st := get(r.Author)
		if r.Success {
			st.Successes++
		} else {
			st.Failures++
		}
	}
	sort.Slice(reports, func(i, j int) bool { return reportLess(reports[i], reports[j]) })
	var pairs []*pair
	byPair := map[[2]string]*pair{}
	seen := map[Report]bool{}
	for _, r := range reports {
		k := Report{Author: r.Author, Reporter: r.Reporter, Success: r.Success, Cluster: r.Cluster}
		p := byPair[[2]string{r.Reporter, r.Author}]
		if p == nil {
			p = &pair{reporter: r.Reporter, author: r.Author}
			byPair[[2]string{r.Reporter, r.Author}] = p
			pairs = append(pairs, p)
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		if r.Success {
			p.succ++
		} else {
			p.fail++
		}
	}
	names := make([]string, 0, len(t.instances))
	for n := range t.instances {
		names = append(names, n)
	}
	sort.Strings(names)

	// Witness weights flow from the seeds, Rounds times.
	w := map[string]float64{}
	for m := range seeds {
		w[m] = 1
	}
	rep := reputations(t, names, pairs, w)
	for range Rounds {
		next := map[string]float64{}
		for m := range seeds {
			next[m] = 1
		}
		out := map[string]float64{} // reporter -> total vouching
		for _, p := range pairs {
			if p.succ > 0 {
				out[p.reporter] += g(p.succ)
			}
		}
		for _, p := range pairs {
			ws := w[p.reporter]
			if ws == 0 || p.succ == 0 || seeds[p.author] || revoked[p.author] {
				continue
			}
			next[p.author] += Decay * ws * g(p.succ) / out[p.reporter]
		}
		for _, n := range names {
			if seeds[n] {
				continue
			}
			if next[n] > 1 {
				next[n] = 1
			}
			if rep[n] < Start {
				next[n] = 0 // an author in bad standing vouches for nobody
			}
		}
		w = next
		rep = reputations(t, names, pairs, w)
	}
	for _, n := range names {
		st := t.instances[n]
		st.Reputation = rep[n]
		st.Weight = w[n]
		st.Vouched = st.Reputation >= Vouched && !st.Revoked
	}
	// Skills: each report once, weighted by its reporter's standing.
	type acc struct{ s, f, vouched float64 }
	accs := map[schema.ID]*acc{}
	newSucc, newFail := map[schema.ID]bool{}, map[schema.ID]bool{}
	for _, r := range reports {
		sk := t.skills[r.Trace]
		if sk == nil {
			sk = &SkillStanding{Trace: r.Trace}
			t.skills[r.Trace] = sk
			accs[r.Trace] = &acc{}
		}
		a := accs[r.Trace]
		wr := w[r.Reporter]
		switch {
		case r.Success:
			sk.Successes++
			a.s += wr
			a.vouched += wr
			newSucc[r.Trace] = newSucc[r.Trace] || wr == 0
		default:
			sk.Failures++
			a.f += wr
			newFail[r.Trace] = newFail[r.Trace] || wr == 0
		}
	}
	for id, sk := range t.skills {
		a := accs[id]
		if newSucc[id] {
			a.s += NewcomerWeight
		}
		if newFail[id] {
			a.f += NewcomerWeight
		}
		sk.Standing = (1 + a.s) / (2 + a.s + a.f)
		sk.Proven = a.vouched > 0 && a.vouched > a.f
		sk.Failed = sk.Failures > 0 && a.f >= a.s
	}
	return t
}

// reputations computes every instance's reputation with witness weights w.
func reputations(t *Table, names []string, pairs []*pair, w map[string]float64) map[string]float64 {
	type side struct{ a, b float64 }
	ab := make(map[string]*side, len(names))
	newSucc, newFail := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		st := t.instances[n]
		q := st.Quality
		if st.Traces == 0 {
			q = 0.5
		}
		ab[n] = &side{Prior + SelfWeight*q, Prior + SelfWeight*(1-q) + UpheldWeight*float64(st.Upheld)}
	}
	for _, p := range pairs {
		s := ab[p.author]
		if wr := w[p.reporter]; wr > 0 {
			s.a += wr * g(p.succ)
			s.b += wr * float64(p.fail)
			continue
		}
		newSucc[p.author] = newSucc[p.author] || p.succ > 0
		newFail[p.author] = newFail[p.author] || p.fail > 0
	}
	out := make(map[string]float64, len(names))
	for _, n := range names {
		s := ab[n]
		if newSucc[n] {
			s.a += NewcomerWeight
		}
		if newFail[n] {
			s.b += NewcomerWeight
		}
		out[n] = s.a / (s.a + s.b)
	}
	return out
}

// g is the weight of n distinct successes of one reporter on one author:
// log2(1+n), so one reporter cannot make an author by volume alone.
func g(n int) float64 { return math.Log2(1 + float64(n)) }

func reportLess(a, b Report) bool {
	switch {
	case a.Author != b.Author:
		return a.Author < b.Author
	case a.Reporter != b.Reporter:
		return a.Reporter < b.Reporter
	case a.Trace != b.Trace:
		return a.Trace < b.Trace
	}
	return !a.Success && b.Success
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
