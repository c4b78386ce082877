package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// outcomeRecord returns the canonical bytes of reporter's outcome about
// trace.
func outcomeRecord(t testing.TB, trace schema.ID, reporter, outcome string) []byte {
	t.Helper()
	o := &schema.Outcome{Kind: "outcome", Trace: trace, Outcome: outcome, InstanceID: reporter, CreatedAt: "2026-01-02T03:04:05Z"}
	b, err := o.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// outcomeFiles returns the files of an outcome record filed at path,
// signed by signer.
func (h *testHive) outcomeFiles(path string, record []byte, signer string) map[string]*entry {
	return map[string]*entry{path: h.file(record), recordBundlePath(path): h.file(h.sign(signer, record))}
}

// TestOutcomes: an outcome is a record signed by its reporter about a trace
// of the parent state, never by the trace's author, one per reporter and
// trace, deleted only with its trace; each shortcut is refused with its
// rule, and ReportOutcome refuses them before writing anything.
func TestOutcomes(t *testing.T) {
	h := newTestHive(t, nil)
	tr := h.add(traceBytes(t, instA, "parse a csv file"))[0]
	base := h.head()
	ok := outcomeRecord(t, tr, instB, schema.OutcomeSuccess)
	good := h.commit(base, h.outcomeFiles(OutcomePath(tr, instB), ok, instB))
	checkViolations(t, "a valid outcome", h.verify(good, VerifyOptions{Base: base}), nil)

	other := traceBytes(t, instA, "read a yaml file")
	otherID := schema.Digest(other)
	cases := []struct {
		name  string
		build func() (plumbing.Hash, []want)
	}{
		{"by the trace's author", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instA)
			c := h.commit(base, h.outcomeFiles(p, outcomeRecord(t, tr, instA, schema.OutcomeSuccess), instA))
			return c, []want{{c, p, RuleOutcomeSelf}}
		}},
		{"about a trace added in the same commit", func() (plumbing.Hash, []want) {
			p := OutcomePath(otherID, instB)
			c := h.commit(base, merge(h.traceFiles(other, instA), h.outcomeFiles(p, outcomeRecord(t, otherID, instB, schema.OutcomeSuccess), instB)))
			return c, []want{{c, p, RuleOutcomeUnknownTrace}}
		}},
		{"about a trace nowhere", func() (plumbing.Hash, []want) {
			p := OutcomePath(otherID, instB)
			c := h.commit(base, h.outcomeFiles(p, outcomeRecord(t, otherID, instB, schema.OutcomeFailure), instB))
			return c, []want{{c, p, RuleOutcomeUnknownTrace}}
		}},
		{"signed by another instance", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instB)
			c := h.commit(base, h.outcomeFiles(p, ok, instM))
			return c, []want{{c, recordBundlePath(p), RuleSigInvalid}}
		}},
		{"reporter without a key", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instC)
			c := h.commit(base, h.outcomeFiles(p, outcomeRecord(t, tr, instC, schema.OutcomeSuccess), instC))
			return c, []want{{c, recordBundlePath(p), RuleSigKeyUnknown}}
		}},
		{"filed under another reporter", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instM)
			c := h.commit(base, h.outcomeFiles(p, ok, instB))
			return c, []want{{c, p, RuleOutcomeInvalid}}
		}},
		{"filed under another trace", func() (plumbing.Hash, []want) {
			p := OutcomePath(otherID, instB)
			c := h.commit(base, h.outcomeFiles(p, ok, instB))
			return c, []want{{c, p, RuleOutcomeInvalid}}
		}},
		{"not canonical", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instB)
			c := h.commit(base, h.outcomeFiles(p, append([]byte(" "), ok...), instB))
			return c, []want{{c, p, RuleOutcomeInvalid}}
		}},
		{"over the size limit", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instB)
			big := replace(t, string(ok), `"instance_id"`, `"detail":"`+strings.Repeat("x", schema.MaxOutcomeSize)+`","instance_id"`)
			c := h.commit(base, h.outcomeFiles(p, big, instB))
			return c, []want{{c, p, RuleOutcomeInvalid}}
		}},
		{"without its signature", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instB)
			c := h.commit(base, map[string]*entry{p: h.file(ok)})
			return c, []want{{c, p, RuleBundleMissing}}
		}},
		{"a signature alone", func() (plumbing.Hash, []want) {
			p := recordBundlePath(OutcomePath(tr, instB))
			c := h.commit(base, map[string]*entry{p: h.file(h.sign(instB, ok))})
			return c, []want{{c, p, RuleBundleOrphan}}
		}},
		{"outside the layout", func() (plumbing.Hash, []want) {
			p := "outcomes/" + tr.Hex()[:2] + "/" + tr.Hex() + "/Instance_B.json"
			c := h.commit(base, map[string]*entry{p: h.file(ok)})
			return c, []want{{c, quotePath(p), RulePathNotAllowed}}
		}},
		{"changed afterwards", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instB)
			c := h.commit(good, h.outcomeFiles(p, outcomeRecord(t, tr, instB, schema.OutcomeFailure), instB))
			return c, []want{{c, p, RulePathModified}, {c, recordBundlePath(p), RulePathModified}}
		}},
		{"deleted", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instB)
			c := h.commit(good, map[string]*entry{p: nil, recordBundlePath(p): nil})
			return c, []want{{c, p, RuleRemovalUnresolved}, {c, recordBundlePath(p), RuleRemovalUnresolved}}
		}},
		{"two different outcomes merged", func() (plumbing.Hash, []want) {
			p := OutcomePath(tr, instB)
			bad := h.commit(base, h.outcomeFiles(p, outcomeRecord(t, tr, instB, schema.OutcomeFailure), instB))
			m := h.commitTree(h.treeOf(good), good, bad)
			return m, []want{{m, p, RuleMergeEvil}} // two signatures of one record may differ; of two records, not
		}},
		{"one outcome on two branches, merged", func() (plumbing.Hash, []want) {
			again := h.commit(base, h.outcomeFiles(OutcomePath(tr, instB), ok, instB))
			more := h.commit(again, h.traceFiles(other, instA))
			m := h.commitTree(h.treeOf(more), good, more)
			return m, nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head, wants := c.build()
			checkViolations(t, "Verify", h.verify(head, VerifyOptions{Base: base}), wants)
		})
	}

	// A revoked reporter: judged by the parent's hive.json.
	t.Run("revoked reporter", func(t *testing.T) {
		h := newTestHive(t, nil)
		tr := h.add(traceBytes(t, instA, "parse a csv file"))[0]
		rev, err := h.s.Revoke(instB, "compromised", instM, testKey(t, instM))
		if err != nil {
			t.Fatal(err)
		}
		p := OutcomePath(tr, instB)
		c := h.commit(rev, h.outcomeFiles(p, outcomeRecord(t, tr, instB, schema.OutcomeSuccess), instB))
		checkViolations(t, "Verify", h.verify(c, VerifyOptions{Base: rev}), []want{{c, recordBundlePath(p), RuleSigKeyRevoked}})
		if _, err := h.s.ReportOutcome(tr, true, "", instB, testKey(t, instB)); !errors.Is(err, ErrUnauthorised) {
			t.Errorf("ReportOutcome by a revoked instance = %v, want ErrUnauthorised", err)
		}
	})
}

// TestReportOutcome: the writer commits what the validator accepts and
// refuses the rest before writing.
func TestReportOutcome(t *testing.T) {
	h := newTestHive(t, nil)
	ids := h.add(traceBytes(t, instA, "parse a csv file"), traceBytes(t, instB, "read a yaml file"))
	tr := ids[0]
	c, err := h.s.ReportOutcome(tr, true, "pytest: exit 0", instB, testKey(t, instB))
	if err != nil {
		t.Fatal(err)
	}
	checkViolations(t, "full verification", h.verify(c, VerifyOptions{Full: true}), nil)
	got, err := h.s.Outcomes(tr)
	if err != nil || len(got) != 1 || got[0].InstanceID != instB || !got[0].Success() || got[0].Detail != "pytest: exit 0" {
		t.Fatalf("Outcomes = %+v, %v", got, err)
	}
	before := h.head()
	for _, r := range []struct {
		name     string
		trace    schema.ID
		instance string
		key      string
		want     error
	}{
		{"by the author", tr, instA, instA, ErrInvalid},
		{"a second time", tr, instB, instB, ErrExists},
		{"about a trace nowhere", schema.Digest([]byte("none")), instB, instB, ErrNotFound},
		{"with another instance's key", tr, instM, instB, ErrInvalid},
		{"by an instance without a key", tr, instC, instC, ErrUnauthorised},
	} {
		if _, err := h.s.ReportOutcome(r.trace, false, "", r.instance, testKey(t, r.key)); !errors.Is(err, r.want) {
			t.Errorf("ReportOutcome %s = %v, want %v", r.name, err, r.want)
		}
	}
	if h.head() != before {
		t.Fatalf("a refused outcome moved main")
	}
	added, removed, err := h.s.OutcomeChanges(plumbing.ZeroHash, c)
	if err != nil || len(added) != 1 || len(removed) != 0 || added[0].Trace != tr {
		t.Errorf("OutcomeChanges(0, c) = %v, %v, %v", added, removed, err)
	}

	// The envelope carries the signature: imported as is, refused when
	// anything in it changed.
	env, err := h.s.SignOutcome(ids[1], false, "exit 2", instM, testKey(t, instM))
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseOutcomeEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	tampered, err := ParseOutcomeEnvelope(replace(t, string(env), `"exit 2"`, `"exit 0"`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.ImportOutcome(tampered); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), string(RuleSigInvalid)) {
		t.Errorf("ImportOutcome(tampered) = %v, want %s", err, RuleSigInvalid)
	}
	if _, err := h.s.ImportOutcome(e); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"outcome":{}}`,
		strings.Replace(string(env), `{"outcome":`, `{"extra":1,"outcome":`, 1),
		strings.Replace(string(env), `"outcome":"failure"`, `"outcome":"fine"`, 1),
		`nope`,
	} {
		if _, err := ParseOutcomeEnvelope([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseOutcomeEnvelope(%.60s) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestOutcomeLeavesWithItsTrace: a maintainer's removal of a trace may
// delete the outcomes about it in the same commit, and only then.
func TestOutcomeLeavesWithItsTrace(t *testing.T) {
	h := newTestHive(t, nil)
	tr := h.add(traceBytes(t, instA, "parse a csv file"))[0]
	if _, err := h.s.ReportOutcome(tr, false, "deleted my input", instB, testKey(t, instB)); err != nil {
		t.Fatal(err)
	}
	d, _, err := h.s.OpenDispute(tr, "deletes the input", instB, testKey(t, instB))
	if err != nil {
		t.Fatal(err)
	}
	before := h.head()
	removal, err := h.s.ResolveDispute(d, DecisionRemove, "upheld", instM, testKey(t, instM))
	if err != nil {
		t.Fatal(err)
	}
	p := OutcomePath(tr, instB)
	tree := h.edit(removal, map[string]*entry{p: nil, recordBundlePath(p): nil})
	c := h.commitTree(tree, before)
	checkViolations(t, "removal with its outcomes", h.verify(c, VerifyOptions{Base: before}), nil)
	gone, err := h.s.RemovalChanges(before, c)
	if err != nil || len(gone) != 1 || gone[0] != tr {
		t.Errorf("RemovalChanges = %v, %v; want [%s]", gone, err, tr)
	}
}

// FuzzParseOutcomeEnvelope: the body of POST /skills/{id}/outcomes never
// panics the parser, and what it accepts is a strict record with a bundle.
func FuzzParseOutcomeEnvelope(f *testing.F) {
	rec := `{"created_at":"2026-01-02T03:04:05Z","instance_id":"instance_b","kind":"outcome","outcome":"success","trace":"sha256:` + strings.Repeat("ab", 32) + `"}`
	bundle := `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"8fpNOwFcvpZnjuaza4Y6o2V9CCRHlmjbcfP7achJ21A="},"signature":"fWC5EUHWpTzbKztDn7vQx559ByaDS3qe92q+4KtzwJSfUCFF1O6Ys+pyOnIi0A7pF/d0wbvND7KSyt8T0t4FDA=="},"verificationMaterial":{"publicKey":{"hint":"339e"}}}`
	for _, s := range []string{`{"outcome":` + rec + `,"signature":` + bundle + `}`, `{"outcome":{},"signature":{}}`, `{}`, `[`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseOutcomeEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal %v is not ErrInvalid", err)
			}
			return
		}
		if o, err := schema.ParseOutcome(env.Record); err != nil || *o != *env.Outcome {
			t.Fatalf("accepted a record that does not parse back: %v", err)
		}
	})
}
