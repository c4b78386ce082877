package registry

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// TestCheckUpdatesKeysAndOutcomes: through a server's gate, an instance's
// token pushes its own approved registration (the approval names it, the
// maintainer's signature is the validator's to check), its own rotation
// and its own outcomes; it cannot push another instance's registration,
// rotation or outcome, and an unapproved key in a closed hive is refused
// by the validator whoever pushes it.
func TestCheckUpdatesKeysAndOutcomes(t *testing.T) {
	h := newTestHive(t, nil)
	tr := h.add(traceBytes(t, instA, "parse a csv file"))[0]
	closed, err := h.s.SetRegistration(RegistrationMaintainers, instM, testKey(t, instM))
	if err != nil {
		t.Fatal(err)
	}
	d := "instance_d"
	kd := testKey(t, d)
	ap := &schema.KeyApproval{Kind: "key-approval", InstanceID: d, Key: kd.Public().Fingerprint(), Signer: instM, CreatedAt: "2026-01-02T03:04:05Z"}
	apb, err := ap.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	approved := h.commit(closed, map[string]*entry{KeyPath(d): h.file(kd.Public().MarshalPEM()), ApprovalPath(d): h.file(apb),
		recordBundlePath(ApprovalPath(d)): h.file(mustSign(t, testKey(t, instM), apb))})
	unapproved := h.commit(closed, map[string]*entry{KeyPath(d): h.file(kd.Public().MarshalPEM())})
	rotated := h.commit(closed, h.rotationFiles(instA, 1, testKey(t, instA).Public(), newKey(t, instA).Public(), instA, testKey(t, instA)))
	recovered := h.commit(closed, h.rotationFiles(instA, 1, testKey(t, instA).Public(), newKey(t, instA).Public(), instM, testKey(t, instM)))
	op := OutcomePath(tr, instB)
	outcome := h.commit(closed, h.outcomeFiles(op, outcomeRecord(t, tr, instB, schema.OutcomeSuccess), instB))

	main := func(new plumbing.Hash) []Update { return []Update{{Old: closed, New: new, Ref: Branch}} }
	tests := []struct {
		name  string
		w     *Writer
		head  plumbing.Hash
		wants []want
	}{
		{"d pushes its approved registration", &Writer{Instance: d}, approved, nil},
		{"a maintainer pushes d's approved registration", &Writer{Instance: instM, Maintainer: true}, approved, nil},
		{"a pushes d's approved registration", &Writer{Instance: instA}, approved,
			[]want{{approved, KeyPath(d), RulePushUnauthorised}, {approved, ApprovalPath(d), RulePushUnauthorised}}},
		{"d pushes its key without approval", &Writer{Instance: d}, unapproved, []want{{unapproved, KeyPath(d), RuleKeyUnauthorised}}},
		{"a pushes its own rotation", &Writer{Instance: instA}, rotated, nil},
		{"b pushes a's rotation", &Writer{Instance: instB}, rotated,
			[]want{{rotated, KeyPath(instA), RulePushUnauthorised}, {rotated, RotationPath(instA, 1), RulePushUnauthorised}}},
		{"a pushes the maintainer's recovery of its key", &Writer{Instance: instA}, recovered, nil},
		{"b pushes its outcome", &Writer{Instance: instB}, outcome, nil},
		{"a pushes b's outcome", &Writer{Instance: instA}, outcome, []want{{outcome, op, RulePushUnauthorised}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.s.CheckUpdates(main(tt.head), closed, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			got := found(r.Violations)
			sortWants(got)
			sortWants(tt.wants)
			if wantsString(got) != wantsString(tt.wants) {
				t.Errorf("CheckUpdates = %s\nwant %s\n%v", wantsString(got), wantsString(tt.wants), r.Violations)
			}
		})
	}
}
