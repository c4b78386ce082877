package schema

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const (
	configJSON     = `{"format":"hive/v1","maintainers":["maint"],"name":"myhive","revoked":[],"thresholds":{"min_confidence":0.9,"min_steps":1,"min_verification":0.95},"version":1}`
	disputeJSON    = `{"created_at":"2026-11-25T20:08:53Z","instance_id":"instance_a","kind":"dispute","reason":"leaks the password in logs","trace":"sha256:3ee655bd9cba093accbcab01d7e5e3aedbe32e12ba9db231654146682c7c45f4"}`
	resolutionJSON = `{"created_at":"2026-11-25T20:08:53Z","decision":"remove","dispute":"sha256:7db5469e19c22a51d529cd6cd91c36a2ffe023c99749a9d36cdb1ae486521e25","instance_id":"maint","kind":"resolution","reason":"confirmed","trace":"sha256:3ee655bd9cba093accbcab01d7e5e3aedbe32e12ba9db231654146682c7c45f4"}`
	tombstoneJSON  = `{"dispute":"sha256:7db5469e19c22a51d529cd6cd91c36a2ffe023c99749a9d36cdb1ae486521e25","trace":"sha256:3ee655bd9cba093accbcab01d7e5e3aedbe32e12ba9db231654146682c7c45f4"}`
	bundleJSON     = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"8fpNOwFcvpZnjuaza4Y6o2V9CCRHlmjbcfP7achJ21A="},"signature":"fWC5EUHWpTzbKztDn7vQx559ByaDS3qe92q+4KtzwJSfUCFF1O6Ys+pyOnIi0A7pF/d0wbvND7KSyt8T0t4FDA=="},"verificationMaterial":{"publicKey":{"hint":"339e2ff917630507b6a423b5ce084e285d1fa65d93b3e27a6195d3bbebc9ae23"}}}`
	// envelopeJSON is the seed trace's envelope, as docs/format.md §10 shows it.
	envelopeJSON = `{"federation_trace_v1":{"confidence":0.98,"created_at":"2025-12-13T03:45:00Z","instance_id":"instance_a","intent":"Refactor auth to use env vars","lineage":[],"reasoning_path":[{"action":"analyze_auth_dependencies","step":1},{"action":"generate_env_var_code","step":2}],"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')","signature":` + bundleJSON + `,"trace_id":"sha256:f1fa4d3b015cbe96678ee6b36b863aa3657d0824479668db71f3fb69c849db50","verification_score":1}}`
)

func with(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("no " + old + " in " + s)
	}
	return strings.Replace(s, old, new, 1)
}

// recordCase is a record and the rule its parser must refuse it with ("" to
// accept it).
type recordCase struct {
	name string
	in   string
	rule Rule
}

func TestParseConfig(t *testing.T) {
	for _, tt := range []recordCase{
		{"valid", configJSON, ""},
		{"default", string(must(DefaultConfig("x").Marshal())), ""},
		{"not canonical", with(configJSON, `{"format"`, `{ "format"`), RuleConfigInvalid},
		{"duplicate key", with(configJSON, `"version":1`, `"version":1,"version":2`), RuleConfigInvalid},
		{"case variant", with(configJSON, `"name"`, `"Name"`), RuleConfigInvalid},
		{"unknown field", with(configJSON, `"name":"myhive"`, `"name":"myhive","owner":"x"`), RuleConfigInvalid},
		{"missing field", with(configJSON, `"revoked":[],`, ``), RuleConfigInvalid},
		{"null", with(configJSON, `"revoked":[]`, `"revoked":null`), RuleConfigInvalid},
		{"other format", with(configJSON, `hive/v1`, `hive/v2`), RuleConfigInvalid},
		{"version 0", with(configJSON, `"version":1`, `"version":0`), RuleConfigInvalid},
		{"threshold above 1", with(configJSON, `"min_confidence":0.9`, `"min_confidence":2`), RuleConfigInvalid},
		{"no steps", with(configJSON, `"min_steps":1`, `"min_steps":0`), RuleConfigInvalid},
		{"unsorted maintainers", with(configJSON, `["maint"]`, `["maint","a"]`), RuleConfigInvalid},
		{"bad instance", with(configJSON, `["maint"]`, `["Maint"]`), RuleConfigInvalid},
		{"empty name", with(configJSON, `"name":"myhive"`, `"name":""`), RuleConfigInvalid},
		{"too large", with(configJSON, `"name":"myhive"`, `"name":"`+strings.Repeat("x", MaxConfigSize)+`"`), RuleConfigInvalid},
		{"not JSON", `{`, RuleConfigInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.in))
			checkRecord(t, "ParseConfig", err, tt.rule)
			if err == nil {
				if b, err := c.Marshal(); err != nil || string(b) != tt.in {
					t.Errorf("Marshal(ParseConfig(x)) = %s, %v, want x", b, err)
				}
			}
		})
	}
}

func TestParseRecords(t *testing.T) {
	parsers := map[string]func([]byte) (any, error){
		"dispute":    func(b []byte) (any, error) { return ParseDispute(b) },
		"resolution": func(b []byte) (any, error) { return ParseResolution(b) },
		"tombstone":  func(b []byte) (any, error) { return ParseTombstone(b) },
	}
	for _, tt := range []struct {
		parser string
		recordCase
	}{
		{"dispute", recordCase{"valid", disputeJSON, ""}},
		{"dispute", recordCase{"multi-line reason", with(disputeJSON, `in logs`, `in logs\nand traces`), ""}},
		{"dispute", recordCase{"fractional seconds", with(disputeJSON, `53Z`, `53.25Z`), ""}},
		{"dispute", recordCase{"resolution's kind", with(disputeJSON, `"kind":"dispute"`, `"kind":"resolution"`), RuleDisputeInvalid}},
		{"dispute", recordCase{"upper-case id", with(disputeJSON, `sha256:3ee6`, `sha256:3EE6`), RuleDisputeInvalid}},
		{"dispute", recordCase{"empty reason", with(disputeJSON, `"leaks the password in logs"`, `""`), RuleDisputeInvalid}},
		{"dispute", recordCase{"tab in the reason", with(disputeJSON, `leaks the`, `leaks\tthe`), RuleDisputeInvalid}},
		{"dispute", recordCase{"bidi override", with(disputeJSON, `leaks the`, `leaks\u202ethe`), RuleDisputeInvalid}},
		{"dispute", recordCase{"reason too long", with(disputeJSON, `leaks the`, strings.Repeat("x", 4001)), RuleDisputeInvalid}},
		{"dispute", recordCase{"local time", with(disputeJSON, `53Z`, `53+01:00`), RuleDisputeInvalid}},
		{"dispute", recordCase{"bad instance", with(disputeJSON, `instance_a`, `Instance A`), RuleDisputeInvalid}},
		{"dispute", recordCase{"extra field", with(disputeJSON, `"kind"`, `"extra":1,"kind"`), RuleDisputeInvalid}},
		{"dispute", recordCase{"missing field", with(disputeJSON, `"instance_id":"instance_a",`, ``), RuleDisputeInvalid}},
		{"dispute", recordCase{"not canonical", with(disputeJSON, `{"created_at"`, `{"created_at" `), RuleDisputeInvalid}},
		{"dispute", recordCase{"too large", with(disputeJSON, `leaks the`, strings.Repeat(" ", MaxRecordSize)), RuleDisputeInvalid}},
		{"resolution", recordCase{"valid", resolutionJSON, ""}},
		{"resolution", recordCase{"dismiss", with(resolutionJSON, `"remove"`, `"dismiss"`), ""}},
		{"resolution", recordCase{"other decision", with(resolutionJSON, `"remove"`, `"delete"`), RuleDisputeInvalid}},
		{"resolution", recordCase{"bad dispute id", with(resolutionJSON, `sha256:7db5`, `sha256:7db`), RuleDisputeInvalid}},
		{"resolution", recordCase{"dispute's kind", with(resolutionJSON, `"kind":"resolution"`, `"kind":"dispute"`), RuleDisputeInvalid}},
		{"tombstone", recordCase{"valid", tombstoneJSON, ""}},
		{"tombstone", recordCase{"bad trace id", with(tombstoneJSON, `"trace":"sha256:`, `"trace":"sha1:`), RuleDisputeInvalid}},
		{"tombstone", recordCase{"extra field", with(tombstoneJSON, `"trace"`, `"reason":"x","trace"`), RuleDisputeInvalid}},
	} {
		t.Run(tt.parser+" "+tt.name, func(t *testing.T) {
			v, err := parsers[tt.parser]([]byte(tt.in))
			checkRecord(t, "Parse "+tt.parser, err, tt.rule)
			if err == nil {
				if b, err := MarshalRecord(v); err != nil || string(b) != tt.in {
					t.Errorf("MarshalRecord(Parse(x)) = %s, %v, want x", b, err)
				}
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	for _, tt := range []recordCase{
		{"valid", envelopeJSON, ""},
		{"not canonical", with(envelopeJSON, `{"federation_trace_v1":{`, "{\n  \"federation_trace_v1\": {\n"), ""},
		{"a second member", with(envelopeJSON, `{"federation_trace_v1"`, `{"x":1,"federation_trace_v1"`), ""},
		{"no trace_id", with(envelopeJSON, `,"trace_id":"sha256:f1fa4d3b015cbe96678ee6b36b863aa3657d0824479668db71f3fb69c849db50"`, ``), ""},
		{"no signature", with(envelopeJSON, `"signature":`+bundleJSON+`,`, ``), ""},
		{"other trace id", with(envelopeJSON, `"trace_id":"sha256:f1fa`, `"trace_id":"sha256:f1fb`), RuleTraceName},
		{"bad trace id", with(envelopeJSON, `"trace_id":"sha256:f1fa`, `"trace_id":"SHA256:f1fa`), ""},
		{"trace breaks a rule", with(envelopeJSON, `"confidence":0.98`, `"confidence":1.5`), RuleSchema},
		{"duplicate key", with(envelopeJSON, `"confidence":0.98`, `"confidence":0.98,"confidence":0.1`), RuleDuplicateKey},
		{"too large", with(envelopeJSON, `"result":"import`, `"result":"`+strings.Repeat(" ", MaxEnvelopeSize)), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tt.in))
			if tt.name == "valid" || tt.name == "not canonical" {
				if err != nil {
					t.Fatalf("ParseEnvelope = %v, want it accepted", err)
				}
				if env.ID != Digest(env.Trace) || string(env.Bundle) != bundleJSON || string(env.Trace) != seedCanonical {
					t.Errorf("ParseEnvelope = %s %s %s, want the seed trace and its bundle", env.ID, env.Trace, env.Bundle)
				}
				if b, err := MarshalEnvelope(env.Trace, env.Bundle); err != nil || string(b) != envelopeJSON {
					t.Errorf("MarshalEnvelope(ParseEnvelope(x)) = %s, %v, want the canonical envelope", b, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseEnvelope = %v, want an ErrInvalid", err)
			}
			if tt.rule != "" && (len(All(err)) == 0 || All(err)[0].Rule != tt.rule) {
				t.Errorf("ParseEnvelope = %v, want rule %s", err, tt.rule)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// checkRecord checks that err is nil when rule is "", and otherwise an
// *Error of that rule, which errors.Is reports as ErrInvalid.
func checkRecord(t *testing.T, what string, err error, rule Rule) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Fatalf("%s = %v, want it accepted", what, err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Rule != rule || !errors.Is(err, ErrInvalid) {
		t.Fatalf("%s = %v, want an error of rule %s", what, err, rule)
	}
}

// FuzzParseRecords checks that the record parsers never panic, that they
// refuse with their rule only, and that what they accept is canonical:
// marshalled again, it is the same bytes.
func FuzzParseRecords(f *testing.F) {
	for _, s := range []string{configJSON, disputeJSON, resolutionJSON, tombstoneJSON, "{}", `{"kind":"dispute"}`, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseConfig(b); err == nil {
			if again, err := c.Marshal(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("ParseConfig accepted %q, which marshals to %q, %v", b, again, err)
			}
		} else {
			checkRecord(t, "ParseConfig", err, RuleConfigInvalid)
		}
		for name, parse := range map[string]func([]byte) (any, error){
			"dispute":    func(b []byte) (any, error) { return ParseDispute(b) },
			"resolution": func(b []byte) (any, error) { return ParseResolution(b) },
			"tombstone":  func(b []byte) (any, error) { return ParseTombstone(b) },
		} {
			v, err := parse(b)
			if err != nil {
				checkRecord(t, "Parse "+name, err, RuleDisputeInvalid)
				continue
			}
			if again, err := MarshalRecord(v); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("Parse %s accepted %q, which marshals to %q, %v", name, b, again, err)
			}
		}
	})
}

// FuzzParseEnvelope checks that ParseEnvelope never panics, refuses with
// ErrInvalid only, and that what it accepts holds a canonical trace whose
// hash is its id and which marshals back into an envelope that parses to
// the same.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{envelopeJSON, with(envelopeJSON, `"trace_id":"sha256:f1fa`, `"trace_id":"sha256:f1fb`), "{}", `{"federation_trace_v1":{}}`, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := ParseEnvelope(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseEnvelope(%q) = %v, not an ErrInvalid", b, err)
			}
			return
		}
		if Digest(env.Trace) != env.ID {
			t.Fatalf("ParseEnvelope(%q): id %s is not the trace's hash", b, env.ID)
		}
		if _, err := ParseCanonical(env.Trace); err != nil {
			t.Fatalf("ParseEnvelope(%q) gave a trace that does not parse: %v", b, err)
		}
		again, err := MarshalEnvelope(env.Trace, env.Bundle)
		if err != nil {
			t.Fatalf("MarshalEnvelope: %v", err)
		}
		env2, err := ParseEnvelope(again)
		if err != nil || env2.ID != env.ID || !bytes.Equal(env2.Trace, env.Trace) || !bytes.Equal(env2.Bundle, env.Bundle) {
			t.Fatalf("ParseEnvelope(MarshalEnvelope(ParseEnvelope(%q))) = %v, %v", b, env2, err)
		}
	})
}
