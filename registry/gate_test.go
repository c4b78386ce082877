package registry

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestCheckUpdates: the gate of a push, for each kind of pusher. A writer
// that is not a maintainer pushes only its own branches and its own work.
func TestCheckUpdates(t *testing.T) {
	h, f := newFixture(t)
	trace := func(inst, intent string, parent plumbing.Hash) plumbing.Hash {
		return h.commit(parent, h.traceFiles(traceBytes(t, inst, intent), inst))
	}
	keyPath := func(inst string) string { return keysDir + "/" + inst + keyExt }
	ofA := trace(instA, "a's own skill", f.base)
	ofB := trace(instB, "b's skill", f.base)
	cKey := h.commit(f.base, map[string]*entry{keyPath(instC): h.file(testKey(t, instC).Public().MarshalPEM())})
	cSkill := h.commit(cKey, h.traceFiles(traceBytes(t, instC, "c's first skill"), instC))
	cfg := h.config(f.base)
	cfg.Version++
	cfg.Name = "renamed"
	policy := h.commit(f.base, h.configFiles(cfg, instM))
	merged := h.commitTree(h.treeOf(h.commit(ofA, h.traceFiles(traceBytes(t, instB, "b's skill"), instB))), ofA, ofB)
	otherRoot := h.commitTree(h.edit(plumbing.ZeroHash, h.configFiles(h.config(f.base), "")))
	unrelated := trace(instA, "on another root", otherRoot)

	a := &Writer{Instance: instA}
	c := &Writer{Instance: instC}
	m := &Writer{Instance: instM, Maintainer: true}
	upd := func(ref string, old, new plumbing.Hash) Update {
		return Update{Old: old, New: new, Ref: plumbing.ReferenceName(ref)}
	}
	main := func(new plumbing.Hash) Update { return upd(string(Branch), f.base, new) }
	branch := func(name string, new plumbing.Hash) Update { return upd(SubmitPrefix+name, plumbing.ZeroHash, new) }
	zero := plumbing.ZeroHash
	tests := []struct {
		name    string
		w       *Writer
		updates []Update
		wants   []want
	}{
		{"anyone with the files: another's skill on main", nil, []Update{main(ofB)}, nil},
		{"a's skill on main, by a", a, []Update{main(ofA)}, nil},
		{"b's skill on main, by a", a, []Update{main(ofB)}, []want{{ofB, "traces/", RulePushUnauthorised}}},
		{"b's skill on main, by a maintainer", m, []Update{main(ofB)}, nil},
		{"c registers its key and adds a skill", c, []Update{main(cSkill)}, nil},
		{"a registers c's key", a, []Update{main(cKey)}, []want{{cKey, keyPath(instC), RulePushUnauthorised}}},
		{"a changes the policy", a, []Update{main(policy)}, []want{{policy, ConfigPath, RulePushUnauthorised}}},
		{"a maintainer changes the policy", m, []Update{main(policy)}, nil},
		{"a merges b's work into main", a, []Update{main(merged)}, []want{{ofB, "traces/", RulePushUnauthorised}}},
		{"main from a value it no longer has", m, []Update{upd(string(Branch), ofA, cSkill)}, []want{{cSkill, string(Branch), RulePushStale}}},
		{"main deleted, by a maintainer", m, []Update{upd(string(Branch), f.base, zero)}, []want{{zero, string(Branch), RuleHistoryRewritten}}},
		{"a's own submission branch", a, []Update{branch(instA+"/x", ofA)}, nil},
		{"a pushes to b's branches", a, []Update{branch(instB+"/x", ofA)}, []want{{ofA, SubmitPrefix + instB + "/x", RulePushUnauthorised}}},
		{"a pushes to hive/ outside any instance", a, []Update{branch(instA, ofA)}, []want{{ofA, SubmitPrefix + instA, RulePushUnauthorised}}},
		{"a deletes b's branch", a, []Update{upd(SubmitPrefix+instB+"/x", ofB, zero)}, []want{{zero, SubmitPrefix + instB + "/x", RulePushUnauthorised}}},
		{"a maintainer deletes b's branch", m, []Update{upd(SubmitPrefix+instB+"/x", ofB, zero)}, nil},
		{"b's skill on a's branch", a, []Update{branch(instA+"/x", ofB)}, []want{{ofB, "traces/", RulePushUnauthorised}}},
		{"a tag", nil, []Update{upd("refs/tags/v1", zero, ofA)}, []want{{ofA, "refs/tags/v1", RulePathNotAllowed}}},
		{"a branch on another root", nil, []Update{branch(instA+"/x", unrelated)}, []want{{unrelated, "", RuleHistoryUnrelated}, {unrelated, "traces/", RuleSigKeyUnknown}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.s.CheckUpdates(tt.updates, f.base, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			got := found(r.Violations)
			for i := range got { // a trace's path names its hash; the test names the folder
				if len(got[i].path) > 7 && got[i].path[:7] == "traces/" {
					got[i].path = "traces/"
				}
			}
			sortWants(got)
			sortWants(tt.wants)
			if wantsString(got) != wantsString(tt.wants) {
				t.Errorf("CheckUpdates = %s\nwant %s\n%v", wantsString(got), wantsString(tt.wants), r.Violations)
			}
		})
	}
}

// TestCheckUpdatesUnion: a push of n branches on a chain of n commits
// checks each commit once, not once per branch that reaches it.
func TestCheckUpdatesUnion(t *testing.T) {
	h, f := newFixture(t)
	const n = 20
	var updates []Update
	tip := f.base
	for i := range n {
		tip = h.commit(tip, h.traceFiles(traceBytes(t, instA, fmt.Sprintf("step %d", i)), instA))
		updates = append(updates, Update{New: tip, Ref: plumbing.ReferenceName(fmt.Sprintf("%s%s/%d", SubmitPrefix, instA, i))})
	}
	r, err := h.s.CheckUpdates(updates, f.base, &Writer{Instance: instA})
	if err != nil || r.Err() != nil {
		t.Fatalf("CheckUpdates = %v, %v", r.Err(), err)
	}
	if r.Commits != n || r.Traces != n {
		t.Errorf("CheckUpdates of %d branches on a chain of %d checked %d commits and %d traces, want %d of each", n, n, r.Commits, r.Traces, n)
	}
}

// TestCheckUpdatesSameSecond: commits made in the same second (a script,
// a fast agent) give the walk no order to tell main's commits from the
// push's; the gate judges only what the push adds: B's merge of main into
// its work is B's, whatever A wrote on main in that second.
func TestCheckUpdatesSameSecond(t *testing.T) {
	h, f := newFixture(t)
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	commit := func(tree plumbing.Hash, parents ...plumbing.Hash) plumbing.Hash {
		c, err := h.w.commit(tree, parents, "x", at, "same second\n")
		if err == nil {
			err = h.w.sync()
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	onMain := f.base
	for i := range 3 { // A's skills on main, all in one second
		onMain = commit(h.edit(onMain, h.traceFiles(traceBytes(t, instA, fmt.Sprintf("a %d", i)), instA)), onMain)
	}
	mine := commit(h.edit(f.base, h.traceFiles(traceBytes(t, instB, "b's"), instB)), f.base)
	merged := merge(h.traceFiles(traceBytes(t, instB, "b's"), instB))
	for i := range 3 {
		merged = merge(merged, h.traceFiles(traceBytes(t, instA, fmt.Sprintf("a %d", i)), instA))
	}
	tip := commit(h.edit(f.base, merged), mine, onMain)
	for _, u := range []Update{
		{Old: onMain, New: tip, Ref: Branch},
		{New: tip, Ref: SubmitPrefix + instB + "/x"},
	} {
		r, err := h.s.CheckUpdates([]Update{u}, onMain, &Writer{Instance: instB})
		if err != nil {
			t.Fatal(err)
		}
		if r.Err() != nil {
			t.Errorf("CheckUpdates(%s) of B's merge = %v, want none", u.Ref, r.Err())
		}
	}
}

// TestCheckUpdatesPulledFirst: B imported A's skill (hive pull --intent
// makes it a commit of B's), then merged main, which has it too: B's push
// brings nothing of A's that main lacks, and passes; a skill of A's that
// main lacks does not.
func TestCheckUpdatesPulledFirst(t *testing.T) {
	h, f := newFixture(t)
	skillA := h.traceFiles(traceBytes(t, instA, "a's"), instA)
	onMain := h.commit(f.base, skillA)
	imported := h.commit(f.base, skillA) // the same files, in a commit of B's
	own := h.commit(imported, h.traceFiles(traceBytes(t, instB, "b's"), instB))
	tip := h.commitTree(h.treeOf(own), own, onMain)
	r, err := h.s.CheckUpdates([]Update{{Old: onMain, New: tip, Ref: Branch}}, onMain, &Writer{Instance: instB})
	if err != nil || r.Err() != nil {
		t.Errorf("CheckUpdates of B's merge of a skill main has = %v, %v; want no violation", r.Err(), err)
	}
	other := h.commit(own, h.traceFiles(traceBytes(t, instA, "a's other"), instA))
	r, err = h.s.CheckUpdates([]Update{{Old: f.base, New: other, Ref: SubmitPrefix + instB + "/x"}}, onMain, &Writer{Instance: instB})
	if err != nil || len(r.Violations) != 1 || r.Violations[0].Rule != RulePushUnauthorised || r.Violations[0].Commit != other {
		t.Errorf("CheckUpdates of a skill of A's that main lacks = %v, %v; want push-unauthorised at %s", r.Violations, err, short(other))
	}
}
