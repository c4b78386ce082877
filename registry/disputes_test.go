package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// TestDisputes: a removal goes through a maintainer's resolution in the
// same commit as the deletion and its tombstone; every shortcut is refused.
func TestDisputes(t *testing.T) {
	h := newTestHive(t, nil)
	ids := h.add(traceBytes(t, instA, "parse a csv file"), traceBytes(t, instA, "read a yaml file"))
	victim := ids[0]
	d, _, err := h.s.OpenDispute(victim, "it deletes the input file", instB, testKey(t, instB))
	if err != nil {
		t.Fatal(err)
	}
	before := h.head()

	// The tombstone alone: refused, whatever dispute it names.
	tomb, _ := schema.MarshalRecord(Tombstone{Dispute: d, Trace: victim})
	c := h.commit(before, map[string]*entry{recordPath(disputesRemoved, victim): h.file(tomb)})
	checkViolations(t, "tombstone without resolution", h.verify(c, VerifyOptions{Base: before}),
		[]want{{c, recordPath(disputesRemoved, victim), RuleRemovalUnresolved}})

	// A resolution signed by a non-maintainer.
	if _, err := h.s.ResolveDispute(d, DecisionRemove, "no", instB, testKey(t, instB)); err == nil {
		t.Errorf("ResolveDispute by a non-maintainer succeeded")
	}
	if h.head() != before {
		t.Fatalf("a refused resolution moved main")
	}

	// The maintainer's removal: the trace goes, the tombstone stays.
	removal, err := h.s.ResolveDispute(d, DecisionRemove, "upheld", instM, testKey(t, instM))
	if err != nil {
		t.Fatal(err)
	}
	checkViolations(t, "maintainer's removal", h.verify(removal, VerifyOptions{Full: true}), nil)
	if _, err := h.s.Trace(victim); err == nil {
		t.Errorf("the removed trace is still on main")
	}
	if _, err := h.s.ResolveID(victim.Hex()[:10]); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "removed from main by dispute "+d.Short()) {
		t.Errorf("ResolveID(the removed trace) = %v; want ErrNotFound saying which dispute removed it", err)
	}
	if r, err := h.s.Removed(victim); err != nil || r == nil || r.Dispute != d {
		t.Errorf("Removed(victim) = %+v, %v; want dispute %s", r, err, d)
	}

	// Adding it back: directly, and through a merge of a side that added it
	// on its own before the removal was known.
	again := h.commit(removal, h.traceFiles(traceBytes(t, instA, "parse a csv file"), instA))
	checkViolations(t, "re-added trace", h.verify(again, VerifyOptions{Base: removal}),
		[]want{{again, TracePath(victim), RuleTraceRemoved}})

	// A side that forked before the victim was added, and added it on its
	// own (pull --intent, an import): its merge may not bring it back.
	intro, err := h.s.Introduced([]schema.ID{victim})
	if err != nil || intro[victim] == nil {
		t.Fatalf("Introduced(victim) = %v, %v", intro, err)
	}
	fork := h.parents(intro[victim].Hash)[0]
	side := h.commit(fork, h.traceFiles(traceBytes(t, instA, "parse a csv file"), instA))
	checkViolations(t, "the side alone", h.verify(side, VerifyOptions{Base: fork}), nil)
	merged := h.edit(removal, map[string]*entry{
		TracePath(victim):  h.lookupEntry(side, TracePath(victim)),
		BundlePath(victim): h.lookupEntry(side, BundlePath(victim)),
	})
	evil := h.commitTree(merged, removal, side)
	checkViolations(t, "merge bringing a removed trace back", h.verify(evil, VerifyOptions{Base: removal}),
		[]want{{evil, TracePath(victim), RuleTraceRemoved}})
}

// lookupEntry returns the entry at path in commit c's tree.
func (h *testHive) lookupEntry(c plumbing.Hash, path string) *entry {
	h.t.Helper()
	e, ok, err := h.s.trees.lookup(h.treeOf(c), path)
	if err != nil || !ok {
		h.t.Fatalf("lookup %s in %s: %v %v", path, c, ok, err)
	}
	return &e
}

// TestEnvelopeLimit: schema cannot see signing's bundle limit, so it spells
// the envelope's out; the two must agree.
func TestEnvelopeLimit(t *testing.T) {
	if want := schema.MaxTraceSize + signing.MaxBundleSize + 1024; MaxEnvelopeSize != want {
		t.Errorf("MaxEnvelopeSize = %d, want MaxTraceSize + signing.MaxBundleSize + 1024 = %d", MaxEnvelopeSize, want)
	}
}

// TestResolveDisputeID: a dispute is named by a prefix of its id, or by
// its trace's id when that trace has one open dispute; when a name fits
// several, the error names them.
func TestResolveDisputeID(t *testing.T) {
	h := newTestHive(t, nil)
	ids := h.add(traceBytes(t, instA, "parse a csv file"), traceBytes(t, instA, "read a yaml file"))
	one, _, err := h.s.OpenDispute(ids[0], "it deletes the input file", instB, testKey(t, instB))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := h.s.ResolveDisputeID(one.Hex()[:8]); err != nil || got != one {
		t.Errorf("ResolveDisputeID(its prefix) = %s, %v; want %s", got, err, one)
	}
	if got, err := h.s.ResolveDisputeID(ids[0].Hex()[:8]); err != nil || got != one {
		t.Errorf("ResolveDisputeID(its trace, one open dispute) = %s, %v; want %s", got, err, one)
	}
	two, _, err := h.s.OpenDispute(ids[0], "it also leaks the password", instM, testKey(t, instM))
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.s.ResolveDisputeID(ids[0].Hex()[:8])
	if err == nil || !strings.Contains(err.Error(), one.Hex()[:12]) || !strings.Contains(err.Error(), two.Hex()[:12]) || !strings.Contains(err.Error(), "open disputes") {
		t.Errorf("ResolveDisputeID(a trace with two open disputes) = %v; want an error naming both", err)
	}
	if _, err := h.s.ResolveDisputeID(ids[1].Hex()[:8]); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveDisputeID(an undisputed trace) = %v; want ErrNotFound", err)
	}
}
