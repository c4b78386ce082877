package schema

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const (
	fpA = "1111111111111111111111111111111111111111111111111111111111111111"
	fpB = "2222222222222222222222222222222222222222222222222222222222222222"
)

var (
	outcomeOK  = `{"created_at":"2026-01-02T03:04:05Z","detail":"pytest: exit 0","instance_id":"instance_b","kind":"outcome","outcome":"success","trace":"sha256:` + hexA + `"}`
	rotationOK = `{"created_at":"2026-01-02T03:04:05Z","instance_id":"instance_a","key":"` + fpB + `","kind":"key-rotation","previous":"` + fpA + `","reason":"laptop replaced","sequence":1,"signer":"instance_a"}`
	approvalOK = `{"created_at":"2026-01-02T03:04:05Z","instance_id":"instance_a","key":"` + fpA + `","kind":"key-approval","signer":"maint"}`
)

// TestRecordParsers: each record parser accepts its canonical form and
// refuses every way of saying something else.
func TestRecordParsers(t *testing.T) {
	parsers := map[string]func([]byte) error{
		"outcome":  func(b []byte) error { _, err := ParseOutcome(b); return err },
		"rotation": func(b []byte) error { _, err := ParseKeyRotation(b); return err },
		"approval": func(b []byte) error { _, err := ParseKeyApproval(b); return err },
	}
	with := func(base, old, new string) string {
		if !strings.Contains(base, old) {
			t.Fatalf("%q not in %s", old, base)
		}
		return strings.Replace(base, old, new, 1)
	}
	for _, c := range []struct {
		name, kind, in, err string // "" accepts; "!" refuses with any message
	}{
		{"outcome", "outcome", outcomeOK, ""},
		{"outcome failure without detail", "outcome", with(with(outcomeOK, `"detail":"pytest: exit 0",`, ""), `"success"`, `"failure"`), ""},
		{"not canonical: space", "outcome", with(outcomeOK, `{"created_at"`, `{ "created_at"`), "canonical"},
		{"not canonical: key order", "outcome", with(outcomeOK, `"detail":"pytest: exit 0","instance_id":"instance_b"`, `"instance_id":"instance_b","detail":"pytest: exit 0"`), "canonical"},
		{"duplicate key", "outcome", with(outcomeOK, `"kind":"outcome",`, `"kind":"outcome","kind":"outcome",`), "duplicate"},
		{"case-folded key", "outcome", with(outcomeOK, `"kind":`, `"Kind":`), "!"},
		{"unknown field", "outcome", with(outcomeOK, `"outcome":"success",`, `"outcome":"success","score":1,`), "unknown field"},
		{"missing field", "outcome", with(outcomeOK, `"created_at":"2026-01-02T03:04:05Z",`, ""), "fields"},
		{"empty detail", "outcome", with(outcomeOK, `"detail":"pytest: exit 0"`, `"detail":""`), "fields"},
		{"null", "outcome", with(outcomeOK, `"detail":"pytest: exit 0"`, `"detail":null`), "null"},
		{"other kind", "outcome", with(outcomeOK, `"kind":"outcome"`, `"kind":"dispute"`), "kind"},
		{"other outcome", "outcome", with(outcomeOK, `"outcome":"success"`, `"outcome":"great"`), "want"},
		{"bad trace id", "outcome", with(outcomeOK, `"sha256:`+hexA, `"sha256:`+strings.ToUpper(hexA)), "trace"},
		{"bad instance", "outcome", with(outcomeOK, `"instance_b"`, `"Instance B"`), "instance id"},
		{"local time", "outcome", with(outcomeOK, `03:04:05Z`, `03:04:05+01:00`), "created_at"},
		{"impossible time", "outcome", with(outcomeOK, `2026-01-02T03`, `2026-02-30T03`), "created_at"},
		{"bidi in detail", "outcome", with(outcomeOK, `pytest: exit 0`, "pytest: exit 0\u202e1 tixe"), "bidirectional"},
		{"escape in detail", "outcome", with(outcomeOK, `pytest: exit 0`, `\u001b[2J`), "control"},
		{"newline in detail", "outcome", with(outcomeOK, `pytest: exit 0`, `pytest\nexit 0`), ""},
		{"detail too long", "outcome", with(outcomeOK, `pytest: exit 0`, strings.Repeat("x", MaxOutcomeDetail+1)), "code points"},
		{"oversize", "outcome", with(outcomeOK, `pytest: exit 0`, strings.Repeat("x", MaxOutcomeSize)), "over the limit"},
		{"not json", "outcome", `nope`, "invalid literal"},
		{"rotation", "rotation", rotationOK, ""},
		{"rotation to the same key", "rotation", with(rotationOK, fpB, fpA), "retires"},
		{"rotation sequence 0", "rotation", with(rotationOK, `"sequence":1`, `"sequence":0`), "sequence"},
		{"rotation sequence 1.5", "rotation", with(rotationOK, `"sequence":1`, `"sequence":1.5`), "!"},
		{"rotation bad fingerprint", "rotation", with(rotationOK, `"previous":"`+fpA, `"previous":"`+fpA[:63]), "fingerprint"},
		{"rotation empty reason", "rotation", with(rotationOK, `laptop replaced`, ``), "reason"},
		{"rotation reason on two lines", "rotation", with(rotationOK, `laptop replaced`, `laptop\nreplaced`), "control"},
		{"rotation bad signer", "rotation", with(rotationOK, `"signer":"instance_a"`, `"signer":"../m"`), "signer"},
		{"approval", "approval", approvalOK, ""},
		{"approval other kind", "approval", with(approvalOK, `"key-approval"`, `"key-rotation"`), "kind"},
		{"approval bad key", "approval", with(approvalOK, fpA, "xyz"), "fingerprint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := parsers[c.kind]([]byte(c.in))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.err == "!" && err == nil:
				t.Fatalf("accepted %s", c.in)
			case c.err != "" && c.err != "!" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("error %v, want one containing %q", err, c.err)
			}
			if want := map[string]Rule{"outcome": RuleOutcomeInvalid, "rotation": RuleKeyRotationInvalid, "approval": RuleKeyApprovalInvalid}[c.kind]; err != nil {
				if all := All(err); len(all) != 1 || all[0].Rule != want || !errors.Is(err, ErrInvalid) {
					t.Errorf("refusal %v: want one *Error of rule %s", err, want)
				}
			}
		})
	}
}

// TestRecordMarshal: Marshal makes exactly the bytes the parsers accept,
// and refuses what they would refuse.
func TestRecordMarshal(t *testing.T) {
	o, err := ParseOutcome([]byte(outcomeOK))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := o.Marshal(); err != nil || !bytes.Equal(b, []byte(outcomeOK)) {
		t.Errorf("Outcome.Marshal = %s, %v; want %s", b, err, outcomeOK)
	}
	if !o.Success() {
		t.Errorf("Success() = false for %s", outcomeOK)
	}
	r, err := ParseKeyRotation([]byte(rotationOK))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := r.Marshal(); err != nil || !bytes.Equal(b, []byte(rotationOK)) {
		t.Errorf("KeyRotation.Marshal = %s, %v", b, err)
	}
	a, err := ParseKeyApproval([]byte(approvalOK))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := a.Marshal(); err != nil || !bytes.Equal(b, []byte(approvalOK)) {
		t.Errorf("KeyApproval.Marshal = %s, %v", b, err)
	}
	o.Outcome = "maybe"
	if _, err := o.Marshal(); err == nil {
		t.Errorf("Marshal of an outcome %q succeeded", o.Outcome)
	}
}

// FuzzParseOutcome checks that the record parsers never panic and that what
// they accept is canonical: it marshals back to the same bytes.
func FuzzParseOutcome(f *testing.F) {
	for _, s := range []string{outcomeOK, rotationOK, approvalOK, "{}", "", `{"kind":"outcome"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if o, err := ParseOutcome(b); err == nil {
			if again, err := o.Marshal(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("accepted %q, but it marshals to %q (%v)", b, again, err)
			}
		}
		if r, err := ParseKeyRotation(b); err == nil {
			if again, err := r.Marshal(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("accepted %q, but it marshals to %q (%v)", b, again, err)
			}
		}
		if a, err := ParseKeyApproval(b); err == nil {
			if again, err := a.Marshal(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("accepted %q, but it marshals to %q (%v)", b, again, err)
			}
		}
	})
}
