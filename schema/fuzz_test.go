package schema

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

var knownRules = map[Rule]bool{
	RuleTooLarge: true, RuleJSON: true, RuleUTF8: true, RuleDepth: true, RuleDuplicateKey: true,
	RuleUnknownField: true, RuleNull: true, RuleNumber: true, RuleSchema: true, RuleSteps: true,
	RuleText: true, RuleTime: true, RuleNoncanonical: true, RuleThreshold: true,
}

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		seedJSON,
		seedCanonical,
		pretty(seedJSON),
		seedWith(`"lineage":[]`, `"lineage":["sha256:`+hexA+`"],"tags":["go","a.b"]`),
		seedWith(`"step":1}`, `"step":1,"detail":"x\ny"}`),
		seedWith(`"intent":"Refactor`, `"intent":"\ud83d\ude00\u00e9e\u0301`),
		seedWith(`"confidence":0.98`, `"confidence":9.8e-1`),
		seedWith(`"confidence":0.98`, `"confidence":-0`),
		seedWith(`"step":1}`, `"step":1,"step":1}`),
		seedWith(`"intent":`, `"Intent":`),
		seedWith(`"result":"import`, `"result":"\u202e\ud800`),
		`{"a":[[[[[[[[[[]]]]]]]]]]}`,
		`[1e400,null,"\u0000"]`,
		"",
		"{}",
	} {
		f.Add([]byte(s))
	}
}

// checkErr checks that a refusal is made of known rules.
func checkErr(t *testing.T, err error) {
	t.Helper()
	all := All(err)
	if len(all) == 0 {
		t.Fatalf("error %v (%T) holds no *Error", err, err)
	}
	for _, e := range all {
		if !knownRules[e.Rule] {
			t.Fatalf("unknown rule in %v", e)
		}
	}
}

// FuzzParse checks that Parse never panics, that what it accepts marshals
// to canonical bytes that parse back to the same trace, and that a canonical
// input is exactly what Marshal makes of it (one file per trace).
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Parse(b)
		if err != nil {
			if tr != nil {
				t.Fatalf("Parse returned a trace and %v", err)
			}
			checkErr(t, err)
			return
		}
		m, err := tr.Marshal()
		if err != nil {
			t.Fatalf("Parse(%q) accepted, Marshal() = %v", b, err)
		}
		back, err := ParseCanonical(m)
		if err != nil {
			t.Fatalf("ParseCanonical(Marshal()) = %v, want nil; Marshal() = %q", err, m)
		}
		if !reflect.DeepEqual(back, tr) {
			t.Fatalf("ParseCanonical(Marshal()) = %+v, want %+v", back, tr)
		}
		if _, err := ParseCanonical(b); err == nil && !bytes.Equal(m, b) {
			t.Fatalf("canonical input %q, Marshal() = %q", b, m)
		}
		c, err := Canonical(b)
		if err != nil || !bytes.Equal(c, m) {
			t.Fatalf("Canonical(%q) = %q, %v, want %q", b, c, err, m)
		}
	})
}

// FuzzCanonical checks that Canonical never panics, is idempotent, and does
// not change whether Parse accepts.
func FuzzCanonical(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Canonical(b)
		if err != nil {
			checkErr(t, err)
			return
		}
		if len(c) > MaxTraceSize { // numbers such as 1e20 grow when written out
			return
		}
		c2, err := Canonical(c)
		if err != nil || !bytes.Equal(c, c2) {
			t.Fatalf("Canonical(Canonical(%q)) = %q, %v, want %q", b, c2, err, c)
		}
		_, errB := Parse(b)
		_, errC := ParseCanonical(c)
		if (errB == nil) != (errC == nil) {
			t.Fatalf("Parse(%q) = %v but ParseCanonical(Canonical()) = %v", b, errB, errC)
		}
		if errB != nil && strings.Contains(errB.Error(), string(RuleNoncanonical)) {
			t.Fatalf("Parse reported %v", errB)
		}
	})
}

func BenchmarkParseCanonical(b *testing.B) {
	in := []byte(seedCanonical)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCanonical(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	in := []byte(seedCanonical)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	in := []byte(pretty(seedJSON))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonical(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseDeep measures refusing a document nested as deep as the size
// limit allows.
func BenchmarkParseDeep(b *testing.B) {
	in := []byte(strings.Repeat("[", MaxTraceSize))
	for b.Loop() {
		if _, err := Parse(in); err == nil {
			b.Fatal("accepted")
		}
	}
}
