package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// seedJSON is the seed trace file as given in the product brief. Its keys are
// not in RFC 8785 order, so it parses but is not canonical.
const seedJSON = `{"intent":"Refactor auth to use env vars","reasoning_path":[{"step":1,"action":"analyze_auth_dependencies"},{"step":2,"action":"generate_env_var_code"}],"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')","confidence":0.98,"verification_score":1,"lineage":[],"created_at":"2025-12-13T03:45:00Z","instance_id":"instance_a"}`

// seedCanonical is the RFC 8785 form of seedJSON, and seedID its id.
const (
	seedCanonical = `{"confidence":0.98,"created_at":"2025-12-13T03:45:00Z","instance_id":"instance_a","intent":"Refactor auth to use env vars","lineage":[],"reasoning_path":[{"action":"analyze_auth_dependencies","step":1},{"action":"generate_env_var_code","step":2}],"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')","verification_score":1}`
	seedID        = ID("sha256:f1fa4d3b015cbe96678ee6b36b863aa3657d0824479668db71f3fb69c849db50")
)

var seedTrace = &Trace{
	Intent: "Refactor auth to use env vars",
	ReasoningPath: []Step{
		{Step: 1, Action: "analyze_auth_dependencies"},
		{Step: 2, Action: "generate_env_var_code"},
	},
	Result:            "import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')",
	Confidence:        0.98,
	VerificationScore: 1,
	Lineage:           []ID{},
	CreatedAt:         "2025-12-13T03:45:00Z",
	InstanceID:        "instance_a",
}

const hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// seedWith returns seedCanonical with old replaced by new, exactly once.
func seedWith(old, new string) string {
	if strings.Count(seedCanonical, old) != 1 {
		panic(fmt.Sprintf("seedWith: %q is not in the seed exactly once", old))
	}
	return strings.Replace(seedCanonical, old, new, 1)
}

func pretty(s string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		panic(err)
	}
	return b.String()
}

// manyKeys returns n distinct members "k0":0, "k1":0...
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `"k%d":0,`, i)
	}
	return b.String()
}

// nested returns n nested arrays.
func nested(n int) string {
	return strings.Repeat("[", n) + strings.Repeat("]", n)
}

func TestParseRefused(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		canonical bool   // use ParseCanonical
		rule      Rule   // the rule of the first error
		pointer   string // its pointer, checked when not "-"
	}{
		{"empty", "", false, RuleJSON, ""},
		{"only whitespace", " \n\t", false, RuleJSON, ""},
		{"broken", `{"intent":`, false, RuleJSON, "/intent"},
		{"missing comma", `{"intent":"a" "result":"b"}`, false, RuleJSON, ""},
		{"single quotes", `{'intent':1}`, false, RuleJSON, ""},
		{"trailing comma", seedWith(`"lineage":[]`, `"lineage":["sha256:`+hexA+`",]`), false, RuleJSON, "/lineage/1"},
		{"trailing data", seedCanonical + "x", false, RuleJSON, ""},
		{"trailing object", seedCanonical + "{}", false, RuleJSON, ""},
		{"leading zero", seedWith(`"step":1`, `"step":01`), false, RuleJSON, "/reasoning_path/0"},
		{"raw control in string", seedWith(`"intent":"Refactor`, "\"intent\":\"Re\x01factor"), false, RuleJSON, "/intent"},
		{"bad escape", seedWith(`"intent":"Refactor`, `"intent":"\xRefactor`), false, RuleJSON, "/intent"},
		{"top-level array", `[]`, false, RuleSchema, ""},
		{"top-level string", `"x"`, false, RuleSchema, ""},

		{"pretty", pretty(seedCanonical), true, RuleNoncanonical, ""},
		{"trailing newline", seedCanonical + "\n", true, RuleNoncanonical, ""},
		{"key order", seedJSON, true, RuleNoncanonical, ""},
		{"1.0 for 1", seedWith(`"verification_score":1`, `"verification_score":1.0`), true, RuleNoncanonical, ""},
		{"exponent", seedWith(`"confidence":0.98`, `"confidence":9.8e-1`), true, RuleNoncanonical, ""},
		{"escaped letter", seedWith(`"intent":"Refactor`, `"intent":"\u0052efactor`), true, RuleNoncanonical, ""},
		{"escaped slash", seedWith(`"intent":"Refactor`, `"intent":"\/Refactor`), true, RuleNoncanonical, ""},

		{"duplicate top-level key", seedWith(`{"confidence":0.98,`, `{"confidence":0.98,"confidence":0.98,`), false, RuleDuplicateKey, "/confidence"},
		{"duplicate key after escape", seedWith(`"intent":"Refactor`, `"int\u0065nt":"x","intent":"Refactor`), false, RuleDuplicateKey, "/intent"},
		{"duplicate key in step", seedWith(`"step":1}`, `"step":1,"step":1}`), false, RuleDuplicateKey, "/reasoning_path/0/step"},
		{"case variant Intent", seedWith(`"intent":`, `"Intent":`), false, RuleUnknownField, "/Intent"},
		{"case variant Step", seedWith(`"step":2`, `"Step":2`), false, RuleUnknownField, "/reasoning_path/1/Step"},
		{"unknown field", seedWith(`{"confidence"`, `{"admin":true,"confidence"`), false, RuleUnknownField, "/admin"},
		{"unknown field in step", seedWith(`"step":1}`, `"step":1,"run":"rm -rf /"}`), false, RuleUnknownField, "/reasoning_path/0/run"},
		{"trace_id field", seedWith(`{"confidence"`, `{"trace_id":"x","confidence"`), false, RuleUnknownField, "/trace_id"},

		{"invalid UTF-8", seedWith(`"intent":"Refactor`, "\"intent\":\"Re\xfffactor"), false, RuleUTF8, ""},
		{"overlong UTF-8", seedWith(`"intent":"Refactor`, "\"intent\":\"\xc0\xafRefactor"), false, RuleUTF8, ""},
		{"UTF-8 surrogate bytes", seedWith(`"intent":"Refactor`, "\"intent\":\"\xed\xa0\x80Refactor"), false, RuleUTF8, ""},
		{"lone high surrogate", seedWith(`"intent":"Refactor`, `"intent":"\ud800Refactor`), false, RuleUTF8, "/intent"},
		{"lone low surrogate", seedWith(`"intent":"Refactor`, `"intent":"\udc00Refactor`), false, RuleUTF8, "/intent"},
		{"high surrogate then letter", seedWith(`"intent":"Refactor`, `"intent":"\ud800\u0041Refactor`), false, RuleUTF8, "/intent"},
		{"high surrogate at end", seedWith(`"intent":"Refactor auth to use env vars"`, `"intent":"\ud800"`), false, RuleUTF8, "/intent"},

		{"null field", seedWith(`"result":"import`, `"result":null,"x":"import`), false, RuleNull, "/result"},
		{"null in lineage", seedWith(`"lineage":[]`, `"lineage":[null]`), false, RuleNull, "/lineage/0"},
		{"null in tags", seedWith(`"lineage":[]`, `"lineage":[],"tags":["a",null]`), false, RuleNull, "/tags/1"},
		{"null detail", seedWith(`"step":1}`, `"step":1,"detail":null}`), false, RuleNull, "/reasoning_path/0/detail"},

		{"negative zero", seedWith(`"confidence":0.98`, `"confidence":-0`), false, RuleNumber, "/confidence"},
		{"negative zero float", seedWith(`"confidence":0.98`, `"confidence":-0.0`), false, RuleNumber, "/confidence"},
		{"integer beyond 2^53", seedWith(`"confidence":0.98`, `"confidence":9007199254740993`), false, RuleNumber, "/confidence"},
		{"negative integer beyond 2^53", seedWith(`"step":1}`, `"step":-9007199254740993}`), false, RuleNumber, "/reasoning_path/0/step"},
		{"overflow", seedWith(`"confidence":0.98`, `"confidence":1e400`), false, RuleNumber, "/confidence"},
		{"underflow", seedWith(`"confidence":0.98`, `"confidence":1e-400`), false, RuleNumber, "/confidence"},

		{"string confidence", seedWith(`"confidence":0.98`, `"confidence":"0.98"`), false, RuleSchema, "/confidence"},
		{"bool confidence", seedWith(`"confidence":0.98`, `"confidence":true`), false, RuleSchema, "/confidence"},
		{"float step", seedWith(`"step":1}`, `"step":1.5}`), false, RuleSchema, "/reasoning_path/0/step"},
		{"step zero", seedWith(`"step":1}`, `"step":0}`), false, RuleSchema, "/reasoning_path/0/step"},
		{"confidence 1.5", seedWith(`"confidence":0.98`, `"confidence":1.5`), false, RuleSchema, "/confidence"},
		{"confidence -0.1", seedWith(`"confidence":0.98`, `"confidence":-0.1`), false, RuleSchema, "/confidence"},
		{"verification 2", seedWith(`"verification_score":1`, `"verification_score":2`), false, RuleSchema, "/verification_score"},
		{"missing intent", seedWith(`"intent":"Refactor auth to use env vars",`, ``), false, RuleSchema, ""},
		{"empty intent", seedWith(`"intent":"Refactor auth to use env vars"`, `"intent":""`), false, RuleSchema, "/intent"},
		{"long intent", seedWith(`"intent":"Refactor auth to use env vars"`, `"intent":"`+strings.Repeat("é", MaxIntent+1)+`"`), false, RuleSchema, "/intent"},
		{"no steps", seedWith(`"reasoning_path":[{"action":"analyze_auth_dependencies","step":1},{"action":"generate_env_var_code","step":2}]`, `"reasoning_path":[]`), false, RuleSchema, "/reasoning_path"},
		{"step not an object", seedWith(`{"action":"generate_env_var_code","step":2}`, `"step 2"`), false, RuleSchema, "/reasoning_path/1"},
		{"empty action", seedWith(`"action":"analyze_auth_dependencies"`, `"action":""`), false, RuleSchema, "/reasoning_path/0/action"},
		{"empty detail", seedWith(`"step":1}`, `"step":1,"detail":""}`), false, RuleSchema, "/reasoning_path/0/detail"},
		{"empty tags", seedWith(`"lineage":[]`, `"lineage":[],"tags":[]`), false, RuleSchema, "/tags"},
		{"duplicate tags", seedWith(`"lineage":[]`, `"lineage":[],"tags":["go","go"]`), false, RuleSchema, "/tags"},
		{"upper-case tag", seedWith(`"lineage":[]`, `"lineage":[],"tags":["Go"]`), false, RuleSchema, "/tags/0"},
		{"lineage duplicates", seedWith(`"lineage":[]`, `"lineage":["sha256:`+hexA+`","sha256:`+hexA+`"]`), false, RuleSchema, "/lineage"},
		{"bad lineage id", seedWith(`"lineage":[]`, `"lineage":["sha256:`+strings.ToUpper(hexA)+`"]`), false, RuleSchema, "/lineage/0"},
		{"short lineage id", seedWith(`"lineage":[]`, `"lineage":["sha256:abc"]`), false, RuleSchema, "/lineage/0"},
		{"lineage id with newline", seedWith(`"lineage":[]`, `"lineage":["sha256:`+hexA+`\n"]`), false, RuleSchema, "/lineage/0"},
		{"upper-case instance_id", seedWith(`"instance_a"`, `"Instance_a"`), false, RuleSchema, "/instance_id"},
		{"dot-dot instance_id", seedWith(`"instance_a"`, `"../x"`), false, RuleSchema, "/instance_id"},
		{"slash instance_id", seedWith(`"instance_a"`, `"a/b"`), false, RuleSchema, "/instance_id"},
		{"empty instance_id", seedWith(`"instance_a"`, `""`), false, RuleSchema, "/instance_id"},
		{"created_at without Z", seedWith(`03:45:00Z`, `03:45:00`), false, RuleSchema, "/created_at"},
		{"created_at with offset", seedWith(`03:45:00Z`, `03:45:00+01:00`), false, RuleSchema, "/created_at"},
		{"created_at lower-case z", seedWith(`03:45:00Z`, `03:45:00z`), false, RuleSchema, "/created_at"},
		{"created_at date only", seedWith(`2025-12-13T03:45:00Z`, `2025-12-13`), false, RuleSchema, "/created_at"},

		{"long array", seedWith(`"lineage":[]`, `"lineage":[`+strings.Repeat(`"x",`, 25000)+`"x"]`), false, RuleSchema, "/lineage"},
		{"long array of arrays", seedWith(`"lineage":[]`, `"lineage":[],"tags":[`+strings.Repeat(`[],`, 25000)+`[]]`), false, RuleSchema, "/tags"},
		{"big object", seedWith(`"lineage":[]`, `"lineage":{`+manyKeys(10)+`"b":1}`), false, RuleSchema, "/lineage"},
		{"many unknown fields", seedWith(`{"confidence"`, `{`+manyKeys(10000)+`"confidence"`), false, RuleUnknownField, "/k0"},
		{"deep nesting", seedWith(`"lineage":[]`, `"lineage":[],"tags":`+nested(1000)), false, RuleDepth, "/tags/0/0/0/0/0/0/0"},
		{"deep open arrays", seedWith(`"lineage":[]`, `"lineage":`+strings.Repeat("[", 100000)), false, RuleDepth, "-"},
		{"deep objects", strings.Repeat(`{"a":`, 20), false, RuleDepth, "-"},
		{"oversize", seedCanonical + strings.Repeat(" ", MaxTraceSize+1-len(seedCanonical)), false, RuleTooLarge, ""},
		{"oversize garbage", strings.Repeat("\xff", MaxTraceSize+1), false, RuleTooLarge, ""},

		{"steps 1,3", seedWith(`"step":2`, `"step":3`), false, RuleSteps, "/reasoning_path/1/step"},
		{"steps 2,1", seedWith(`"step":1}`, `"step":9}`), false, RuleSteps, "/reasoning_path/0/step"},
		{"February 30", seedWith(`2025-12-13`, `2025-02-30`), false, RuleTime, "/created_at"},
		{"hour 24", seedWith(`03:45:00Z`, `24:00:00Z`), false, RuleTime, "/created_at"},
		{"leap second", seedWith(`03:45:00Z`, `23:59:60Z`), false, RuleTime, "/created_at"},

		{"non-NFC intent", seedWith(`"intent":"Refactor`, `"intent":"e\u0301 Refactor`), false, RuleText, "/intent"},
		{"bidi override in result", seedWith(`"result":"import os`, `"result":"import os \u202e`), false, RuleText, "/result"},
		{"bidi isolate in action", seedWith(`"action":"analyze`, `"action":"\u2066analyze`), false, RuleText, "/reasoning_path/0/action"},
		{"CR in intent", seedWith(`"intent":"Refactor`, `"intent":"\rRefactor`), false, RuleText, "/intent"},
		{"newline in intent", seedWith(`"intent":"Refactor`, `"intent":"\nRefactor`), false, RuleText, "/intent"},
		{"tab in action", seedWith(`"action":"analyze`, `"action":"\tanalyze`), false, RuleText, "/reasoning_path/0/action"},
		{"CR in result", seedWith(`"result":"import os`, `"result":"import os\r`), false, RuleText, "/result"},
		{"NUL in result", seedWith(`"result":"import os`, `"result":"import os\u0000`), false, RuleText, "/result"},
		{"DEL in result", seedWith(`"result":"import os`, "\"result\":\"import os\x7f"), false, RuleText, "/result"},
		{"C1 in result", seedWith(`"result":"import os`, `"result":"import os`+"\u0085"), false, RuleText, "/result"},
		{"BOM in intent", seedWith(`"intent":"Refactor`, `"intent":"`+"\ufeff"+`Refactor`), false, RuleText, "/intent"},
		{"line separator in result", seedWith(`"result":"import os`, `"result":"import os`+"\u2028"), false, RuleText, "/result"},
		{"LRM in tag", seedWith(`"lineage":[]`, `"lineage":[],"tags":["ok","`+"\u200e"+`"]`), false, RuleSchema, "/tags/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse, name := Parse, "Parse"
			if tt.canonical {
				parse, name = ParseCanonical, "ParseCanonical"
			}
			got, err := parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("%s(%.60q) = %+v, want error %s", name, tt.in, got, tt.rule)
			}
			if got != nil {
				t.Errorf("%s(%.60q) returned a trace with error %v", name, tt.in, err)
			}
			all := All(err)
			if len(all) == 0 {
				t.Fatalf("%s(%.60q) error %v (%T) holds no *Error", name, tt.in, err, err)
			}
			if all[0].Rule != tt.rule || (tt.pointer != "-" && all[0].Pointer != tt.pointer) {
				t.Errorf("%s(%.60q) = %v, want rule %s at %q", name, tt.in, err, tt.rule, tt.pointer)
			}
			for _, e := range all {
				checkMessage(t, e)
			}
		})
	}
}

// checkMessage checks the house style of an error message.
func checkMessage(t *testing.T, e *Error) {
	t.Helper()
	if e.Msg == "" || strings.HasSuffix(e.Msg, ".") || strings.ToLower(e.Msg[:1]) != e.Msg[:1] {
		t.Errorf("message %q: want lower case, no final period", e.Msg)
	}
	if len(e.Error()) > 400 {
		t.Errorf("message of %d bytes, too long: %.100q", len(e.Error()), e.Error())
	}
}

func TestParseAccepted(t *testing.T) {
	withTags := seedWith(`"lineage":[]`, `"lineage":["sha256:`+hexA+`"],"tags":["go","auth.env"]`)
	tests := []struct {
		name string
		in   string
		want func(*Trace)
	}{
		{"seed as given", seedJSON, nil},
		{"seed canonical", seedCanonical, nil},
		{"pretty", pretty(seedCanonical), nil},
		{"padded to the limit", seedCanonical + strings.Repeat(" ", MaxTraceSize-len(seedCanonical)), nil},
		{"step written 1.0", seedWith(`"step":1}`, `"step":1.0}`), nil},
		{"exponent", seedWith(`"confidence":0.98`, `"confidence":9.8E-1`), nil},
		{"escaped key", seedWith(`"intent":`, `"\u0069ntent":`), nil},
		{"surrogate pair", seedWith(`"intent":"Refactor`, `"intent":"\ud83d\ude00 Refactor`), func(tr *Trace) {
			tr.Intent = "😀 " + tr.Intent
		}},
		{"newline and tab in result", seedWith(`"result":"import os`, `"result":"import os\n\t`), func(tr *Trace) {
			tr.Result = strings.Replace(tr.Result, "import os", "import os\n\t", 1)
		}},
		{"tags, detail and lineage", strings.Replace(withTags, `"step":1}`, `"step":1,"detail":"line 1\n\tline 2"}`, 1), func(tr *Trace) {
			tr.Lineage = []ID{"sha256:" + hexA}
			tr.Tags = []string{"go", "auth.env"}
			tr.ReasoningPath[0].Detail = "line 1\n\tline 2"
		}},
		{"fractional seconds", seedWith(`03:45:00Z`, `03:45:00.123456789Z`), func(tr *Trace) {
			tr.CreatedAt = "2025-12-13T03:45:00.123456789Z"
		}},
		{"bounds", seedWith(`"confidence":0.98`, `"confidence":0`), func(tr *Trace) { tr.Confidence = 0 }},
		{"empty result", seedWith(`"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')"`, `"result":""`), func(tr *Trace) {
			tr.Result = ""
		}},
		{"long result", seedWith(`"result":"import os`, `"result":"`+strings.Repeat("x", MaxResult-60)), func(tr *Trace) {
			tr.Result = strings.Repeat("x", MaxResult-60) + tr.Result[len("import os"):]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse(%.60q) = %v, want nil", tt.in, err)
			}
			want := cloneTrace(seedTrace)
			if tt.want != nil {
				tt.want(want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%.60q) = %+v, want %+v", tt.in, got, want)
			}
			// Its canonical bytes parse back to the same trace.
			b, err := got.Marshal()
			if err != nil {
				t.Fatalf("Marshal() = %v", err)
			}
			back, err := ParseCanonical(b)
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Errorf("ParseCanonical(Marshal()) = %+v, %v, want %+v", back, err, got)
			}
		})
	}
}

func cloneTrace(t *Trace) *Trace {
	c := *t
	c.ReasoningPath = append([]Step(nil), t.ReasoningPath...)
	c.Lineage = append([]ID{}, t.Lineage...)
	if t.Tags != nil {
		c.Tags = append([]string(nil), t.Tags...)
	}
	return &c
}

func TestSeed(t *testing.T) {
	for _, in := range []string{seedJSON, pretty(seedJSON), pretty(seedCanonical), seedCanonical} {
		got, err := Canonical([]byte(in))
		if err != nil || string(got) != seedCanonical {
			t.Errorf("Canonical(%.40q) = %s, %v, want %s", in, got, err, seedCanonical)
		}
	}
	tr, err := ParseCanonical([]byte(seedCanonical))
	if err != nil {
		t.Fatalf("ParseCanonical(seed) = %v, want nil", err)
	}
	if !reflect.DeepEqual(tr, seedTrace) {
		t.Errorf("ParseCanonical(seed) = %+v, want %+v", tr, seedTrace)
	}
	b, err := tr.Marshal()
	if err != nil || string(b) != seedCanonical {
		t.Errorf("Marshal() = %s, %v, want %s", b, err, seedCanonical)
	}
	if got := Digest([]byte(seedCanonical)); got != seedID {
		t.Errorf("Digest(seed) = %s, want %s", got, seedID)
	}
	if err := DefaultThresholds.Check(tr); err != nil {
		t.Errorf("DefaultThresholds.Check(seed) = %v, want nil", err)
	}
}

func TestParseReportsAll(t *testing.T) {
	in := seedWith(`"confidence":0.98`, `"confidence":1.5`)
	in = strings.Replace(in, `"instance_a"`, `"Instance A"`, 1)
	in = strings.Replace(in, `"intent":"Refactor`, `"intent":"\u202eRefactor`, 1)
	_, err := Parse([]byte(in))
	var got []string
	for _, e := range All(err) {
		got = append(got, string(e.Rule)+" "+e.Pointer)
	}
	want := []string{"trace-schema /confidence", "trace-schema /instance_id", "trace-text /intent"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(three problems) = %q, want %q", got, want)
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Errorf("Parse(three problems) = %T %v, want Errors of 3", err, err)
	}

	// Many unknown fields are reported, up to maxErrors.
	_, err = Parse([]byte(seedWith(`{"confidence"`, `{`+manyKeys(5000)+`"confidence"`)))
	if n := len(All(err)); n != maxErrors {
		t.Errorf("Parse(5000 unknown fields) reported %d errors, want %d", n, maxErrors)
	}

	// Every unknown field is reported.
	in = seedWith(`{"confidence"`, `{"b":1,"a":2,"confidence"`)
	_, err = Parse([]byte(in))
	if all := All(err); len(all) != 2 || all[0].Pointer != "/b" || all[1].Pointer != "/a" {
		t.Errorf("Parse(two unknown fields) = %v, want /b and /a", err)
	}
}

func TestCanonicalRefused(t *testing.T) {
	tests := []struct {
		in   string
		rule Rule
	}{
		{`{"intent":"a","intent":"b"}`, RuleDuplicateKey},
		{`{"Intent":"a"}`, RuleUnknownField},
		{`{"intent":null}`, RuleNull},
		{`{"intent":"a"} x`, RuleJSON},
		{`{"confidence":1e999}`, RuleNumber},
		{"", RuleJSON},
	}
	for _, tt := range tests {
		got, err := Canonical([]byte(tt.in))
		if all := All(err); len(all) == 0 || all[0].Rule != tt.rule {
			t.Errorf("Canonical(%q) = %s, %v, want %s", tt.in, got, err, tt.rule)
		}
	}
	// Canonical checks structure only: a schema-invalid object is canonicalized.
	got, err := Canonical([]byte(`{ "result" : "\u0041", "intent" : 1.50 }`))
	if err != nil || string(got) != `{"intent":1.5,"result":"A"}` {
		t.Errorf("Canonical(partial trace) = %s, %v", got, err)
	}
}

func TestMarshal(t *testing.T) {
	tr := cloneTrace(seedTrace)
	tr.Lineage = nil
	if b, err := tr.Marshal(); err != nil || string(b) != seedCanonical {
		t.Errorf("Marshal(nil lineage) = %s, %v, want %s", b, err, seedCanonical)
	}
	tr = cloneTrace(seedTrace)
	tr.Result = "<script>&" // encoding/json escapes these; the canonical form does not
	if b, err := tr.Marshal(); err != nil || !bytes.Contains(b, []byte(`"result":"<script>&"`)) {
		t.Errorf("Marshal(html) = %s, %v", b, err)
	}
	tests := []struct {
		name    string
		mod     func(*Trace)
		rule    Rule
		pointer string
	}{
		{"invalid UTF-8", func(tr *Trace) { tr.Intent = "a\xffb" }, RuleUTF8, "/intent"},
		{"NaN", func(tr *Trace) { tr.Confidence = math.NaN() }, RuleNumber, "/confidence"},
		{"infinity", func(tr *Trace) { tr.VerificationScore = math.Inf(1) }, RuleNumber, "/verification_score"},
		{"bad instance", func(tr *Trace) { tr.InstanceID = "../x" }, RuleSchema, "/instance_id"},
		{"no steps", func(tr *Trace) { tr.ReasoningPath = nil }, RuleSchema, "/reasoning_path"},
		{"bad steps", func(tr *Trace) { tr.ReasoningPath[1].Step = 1 }, RuleSteps, "/reasoning_path/1/step"},
		{"bidi", func(tr *Trace) { tr.Result += "\u2067" }, RuleText, "/result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := cloneTrace(seedTrace)
			tt.mod(tr)
			b, err := tr.Marshal()
			if all := All(err); len(all) == 0 || all[0].Rule != tt.rule || all[0].Pointer != tt.pointer {
				t.Errorf("Marshal() = %s, %v, want %s at %s", b, err, tt.rule, tt.pointer)
			}
		})
	}
	if _, err := (*Trace)(nil).Marshal(); err == nil {
		t.Errorf("nil.Marshal() = nil error, want error")
	}
}

func TestThresholds(t *testing.T) {
	tests := []struct {
		name   string
		conf   float64
		verif  float64
		steps  int
		th     Thresholds
		failed []string // pointers of the thresholds missed
	}{
		{"seed", 0.98, 1, 2, DefaultThresholds, nil},
		{"confidence 0.9 is not above 0.9", 0.9, 1, 1, DefaultThresholds, []string{"/confidence"}},
		{"confidence just above", 0.9000000000000001, 1, 1, DefaultThresholds, nil},
		{"verification 0.95 is enough", 0.98, 0.95, 1, DefaultThresholds, nil},
		{"verification below", 0.98, 0.9499999, 1, DefaultThresholds, []string{"/verification_score"}},
		{"all missed", 0.5, 0.5, 1, Thresholds{MinConfidence: 0.9, MinVerification: 0.95, MinSteps: 3}, []string{"/confidence", "/verification_score", "/reasoning_path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := cloneTrace(seedTrace)
			tr.Confidence, tr.VerificationScore = tt.conf, tt.verif
			tr.ReasoningPath = tr.ReasoningPath[:0]
			for i := range tt.steps {
				tr.ReasoningPath = append(tr.ReasoningPath, Step{Step: i + 1, Action: "a"})
			}
			err := tt.th.Check(tr)
			var got []string
			for _, e := range All(err) {
				if e.Rule != RuleThreshold {
					t.Errorf("Check() rule = %s, want %s", e.Rule, RuleThreshold)
				}
				checkMessage(t, e)
				got = append(got, e.Pointer)
			}
			if !reflect.DeepEqual(got, tt.failed) {
				t.Errorf("Check() = %v, want failures at %q", err, tt.failed)
			}
		})
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{string(seedID), true},
		{"sha256:" + hexA, true},
		{"sha256:" + strings.ToUpper(hexA), false},
		{"SHA256:" + hexA, false},
		{"sha256:" + hexA[1:], false},
		{"sha256:" + hexA + "a", false},
		{"sha256:" + hexA + "\n", false},
		{" sha256:" + hexA[1:], false},
		{"sha512:" + hexA, false},
		{hexA + "abcdefg", false},
		{"sha256:" + hexA[1:] + "g", false},
		{"", false},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if (err == nil) != tt.ok || (tt.ok && string(got) != tt.in) {
			t.Errorf("ParseID(%q) = %q, %v, want ok %v", tt.in, got, err, tt.ok)
		}
		if err != nil {
			checkMessage(t, &Error{Msg: err.Error()})
		}
	}
}

func TestDigest(t *testing.T) {
	const empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got := Digest(nil); got != empty {
		t.Errorf("Digest(nil) = %s, want %s", got, empty)
	}
	id := Digest([]byte(seedCanonical))
	if _, err := ParseID(string(id)); err != nil {
		t.Errorf("ParseID(Digest()) = %v", err)
	}
	if got, want := id.Hex(), string(seedID)[7:]; got != want {
		t.Errorf("Hex() = %s, want %s", got, want)
	}
	if got, want := id.Short(), "sha256:f1fa4d3b015c"; got != want {
		t.Errorf("Short() = %s, want %s", got, want)
	}
	if got := ID("md5:x").Hex(); got != "" {
		t.Errorf(`ID("md5:x").Hex() = %q, want ""`, got)
	}
	if got := ID("sha256:ab").Short(); got != "sha256:ab" {
		t.Errorf(`ID("sha256:ab").Short() = %q, want "sha256:ab"`, got)
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"abc", 10, `"abc"`},
		{"abc", 3, `"abc"`},
		{"abcdef", 3, `"abc…"`},
		{"ééééé", 2, `"éé…"`},
		{"evil\u202etxt.exe", 20, `"evil\u202etxt.exe"`},
		{"a\nb\x00", 10, `"a\nb\x00"`},
		{"a\xffb", 10, `"a\xffb"`},
		{"abc", 0, `"abc"`},
	}
	for _, tt := range tests {
		if got := Quote(tt.s, tt.max); got != tt.want {
			t.Errorf("Quote(%q, %d) = %s, want %s", tt.s, tt.max, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	a := &Error{Rule: RuleSchema, Pointer: "/intent", Msg: "too long"}
	b := &Error{Rule: RuleJSON, Msg: "empty input"}
	if got, want := a.Error(), "trace-schema: /intent: too long"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := b.Error(), "trace-json: empty input"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	es := Errors{a, b}
	if got, want := es.Error(), "trace-schema: /intent: too long; trace-json: empty input"; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("read trace: %w", es)
	if got := All(wrapped); !reflect.DeepEqual(got, []*Error{a, b}) {
		t.Errorf("All(wrapped) = %v, want [a b]", got)
	}
	if got := All(errors.Join(fmt.Errorf("x: %w", a), errors.New("other"), b)); !reflect.DeepEqual(got, []*Error{a, b}) {
		t.Errorf("All(joined) = %v, want [a b]", got)
	}
	var e *Error
	if !errors.As(wrapped, &e) || e != a {
		t.Errorf("errors.As(wrapped) = %v, want a", e)
	}
	if All(nil) != nil {
		t.Errorf("All(nil) != nil")
	}
}

// TestSchemaLimits keeps the embedded schema and the Go constants in step.
func TestSchemaLimits(t *testing.T) {
	var s struct {
		Schema     string `json:"$schema"`
		Properties map[string]struct {
			MaxLength  int
			MaxItems   int
			Properties map[string]struct{ MaxLength, Maximum int }
			Items      struct {
				Properties map[string]struct{ MaxLength, Maximum int }
			}
		}
	}
	if err := json.Unmarshal(SchemaJSON(), &s); err != nil {
		t.Fatal(err)
	}
	p := s.Properties
	step := p["reasoning_path"].Items.Properties
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"intent maxLength", p["intent"].MaxLength, MaxIntent},
		{"result maxLength", p["result"].MaxLength, MaxResult},
		{"reasoning_path maxItems", p["reasoning_path"].MaxItems, MaxSteps},
		{"step maximum", step["step"].Maximum, MaxSteps},
		{"action maxLength", step["action"].MaxLength, MaxAction},
		{"detail maxLength", step["detail"].MaxLength, MaxDetail},
		{"lineage maxItems", p["lineage"].MaxItems, MaxLineage},
		{"tags maxItems", p["tags"].MaxItems, MaxTags},
	} {
		if c.got != c.want {
			t.Errorf("schema %s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q", s.Schema)
	}
	// The field names the scanner allows are the json names of the types.
	if got := jsonNames(reflect.TypeFor[Trace]()); !reflect.DeepEqual(got, traceKeys) {
		t.Errorf("Trace json names = %q, want %q", got, traceKeys)
	}
	if got := jsonNames(reflect.TypeFor[Step]()); !reflect.DeepEqual(got, stepKeys) {
		t.Errorf("Step json names = %q, want %q", got, stepKeys)
	}
	if got := len(p); got != len(traceKeys) {
		t.Errorf("schema has %d properties, want %d", got, len(traceKeys))
	}
}

func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// TestSchemaJSONCopy checks callers cannot change the embedded schema.
func TestSchemaJSONCopy(t *testing.T) {
	b := SchemaJSON()
	b[0] = 'x'
	if SchemaJSON()[0] != '{' {
		t.Errorf("SchemaJSON() returned the embedded slice")
	}
}
