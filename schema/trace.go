// Package schema defines the records of the Hive format and their strict
// parsers: the trace (its Go type, the embedded JSON Schema (2020-12), RFC
// 8785 canonical form and trace ids), hive.json (Config), the dispute
// records (Dispute, Resolution, Tombstone) and the federation_trace_v1
// envelope; and the format's rule codes (Rule), each broken rule an *Error
// that is ErrInvalid.
//
// A trace file holds exactly the RFC 8785 canonical bytes of a trace; its id
// is the sha256 of those bytes. The result field is code other agents run,
// so parsing is strict: where encoding/json would accept duplicate keys,
// case-folded keys, invalid UTF-8 or null, Parse refuses them, each with a
// stable rule code (the Rule* constants). The other records are parsed as
// strictly, each refusal an *Error with its rule.
//
// The package does no I/O and imports no other package of this module.
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Limits on a trace. The string limits count Unicode code points.
const (
	// MaxTraceSize is the largest trace file, 131072 bytes (128 KiB); it is
	// checked before anything is parsed.
	MaxTraceSize = 128 << 10
	// MaxDepth is the deepest JSON nesting, 8; the trace object is depth 1
	// and a valid trace is never deeper than 3.
	MaxDepth = 8
	// MaxIntent is the longest intent, 1000 code points.
	MaxIntent = 1000
	// MaxResult is the longest result, 65536 code points.
	MaxResult = 65536
	// MaxSteps is the most reasoning steps, 100.
	MaxSteps = 100
	// MaxAction is the longest step action, 200 code points.
	MaxAction = 200
	// MaxDetail is the longest step detail, 4000 code points.
	MaxDetail = 4000
	// MaxLineage is the most lineage parents, 64.
	MaxLineage = 64
	// MaxTags is the most tags, 32.
	MaxTags = 32
)

// Step is one step of a trace's reasoning path.
type Step struct {
	Step   int    `json:"step"`             // 1, 2, 3... in order
	Action string `json:"action"`           // 1 to MaxAction code points
	Detail string `json:"detail,omitempty"` // up to MaxDetail code points; omitted when empty
}

// Trace is a verified record of how an agent solved a task.
type Trace struct {
	Intent            string   `json:"intent"`             // 1 to MaxIntent code points
	ReasoningPath     []Step   `json:"reasoning_path"`     // 1 to MaxSteps steps
	Result            string   `json:"result"`             // up to MaxResult code points; may hold newlines and tabs
	Confidence        float64  `json:"confidence"`         // in [0, 1]
	VerificationScore float64  `json:"verification_score"` // in [0, 1]
	Lineage           []ID     `json:"lineage"`            // up to MaxLineage unique parent ids
	CreatedAt         string   `json:"created_at"`         // RFC 3339 in UTC with a Z
	InstanceID        string   `json:"instance_id"`        // ^[a-z0-9][a-z0-9_-]{0,62}$
	Tags              []string `json:"tags,omitempty"`     // up to MaxTags unique tags; omitted when empty
}

//go:embed trace.schema.json
var schemaJSON []byte

// SchemaJSON returns the embedded JSON Schema (draft 2020-12) of a trace.
// The caller gets its own copy.
func SchemaJSON() []byte {
	return bytes.Clone(schemaJSON)
}

const schemaURL = "https://github.com/hive-dev/hive/schema/trace.schema.json"

// compiled returns the compiled schema, compiling it once.
var compiled = sync.OnceValue(func() *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource(schemaURL, bytes.NewReader(schemaJSON)); err != nil {
		panic("schema: embedded trace schema: " + err.Error())
	}
	return c.MustCompile(schemaURL)
})

// Parse strictly parses and validates a trace in any JSON formatting. The
// error is a *Error, or an Errors listing the schema and text problems found
// when parsing got that far (at most 100). The checks, in order:
//
//  1. more than MaxTraceSize bytes: trace-too-large;
//  2. invalid UTF-8: trace-utf8;
//  3. one structural pass: syntax errors, empty input and trailing data
//     (trace-json); nesting deeper than MaxDepth (trace-too-deep); a key
//     repeated in an object (trace-duplicate-key); null (trace-null); a \u
//     escape of a lone surrogate (trace-utf8); numbers that are not finite
//     float64, negative zero, non-zero numbers that underflow to zero, and
//     magnitudes of 2^53 or more, where float64 cannot tell integers apart
//     (trace-number); keys of the trace and of its steps that are not
//     exactly field names, so "Intent" is refused too (trace-unknown-field).
//     An array of more than 100 items or an object (other than the trace
//     and its steps) of more than 9 keys, which no valid trace has, stops
//     the scan with a trace-schema error;
//     so does (after the scan) a top-level value that is not an object;
//  4. the embedded JSON Schema: trace-schema, one error per failed check;
//     strings in the text fields are checked at the same time (trace-text):
//     they must be NFC and hold no C0 or C1 control characters (tab and
//     newline are allowed in result and detail), DEL, bidi controls
//     (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), U+FEFF,
//     U+2028 or U+2029;
//  5. once the schema holds: steps numbered 1, 2, 3... (trace-steps) and
//     created_at a real time in UTC (trace-time).
func Parse(b []byte) (*Trace, error) {
	v, err := structural(b)
	if err != nil {
		return nil, err
	}
	return fromValue(v)
}

// ParseCanonical is Parse, and also requires b to be exactly its RFC 8785
// canonical form (trace-noncanonical). The validator calls it on stored
// trace files.
func ParseCanonical(b []byte) (*Trace, error) {
	t, err := Parse(b)
	if err != nil {
		return nil, err
	}
	c, err := jcs.Transform(b)
	if err != nil {
		return nil, newError(RuleJSON, "", "canonicalize: "+err.Error())
	}
	if !bytes.Equal(b, c) {
		return nil, newError(RuleNoncanonical, "", fmt.Sprintf("not in RFC 8785 canonical form (first difference at byte %d)", firstDiff(b, c)))
	}
	return t, nil
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// Canonical returns the RFC 8785 canonical form of the trace JSON b, after
// the structural checks of Parse (steps 1-3: size, UTF-8, syntax, depth,
// duplicate keys, null, numbers, unknown fields). It does not check the
// schema; `hive add` canonicalizes user input with it and then parses.
func Canonical(b []byte) ([]byte, error) {
	if _, err := structural(b); err != nil {
		return nil, err
	}
	c, err := jcs.Transform(b)
	if err != nil {
		return nil, newError(RuleJSON, "", "canonicalize: "+err.Error())
	}
	return c, nil
}

// Marshal returns the canonical bytes of t: encoding/json, then RFC 8785.
// A nil Lineage is written as []. The bytes are checked with Parse, so a
// trace that Parse would refuse is refused here with the same errors.
func (t *Trace) Marshal() ([]byte, error) {
	if t == nil {
		return nil, newError(RuleSchema, "", "nil trace")
	}
	c := *t
	if c.Lineage == nil {
		c.Lineage = []ID{}
	}
	if c.ReasoningPath == nil {
		c.ReasoningPath = []Step{}
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD and NaN into an
	// opaque error: report both precisely instead.
	var errs Errors
	utf := func(ptr, s string) {
		if !utf8.ValidString(s) {
			errs = append(errs, newError(RuleUTF8, ptr, "invalid UTF-8"))
		}
	}
	utf("/intent", c.Intent)
	for i, s := range c.ReasoningPath {
		utf(fmt.Sprintf("/reasoning_path/%d/action", i), s.Action)
		utf(fmt.Sprintf("/reasoning_path/%d/detail", i), s.Detail)
	}
	utf("/result", c.Result)
	for i, id := range c.Lineage {
		utf(fmt.Sprintf("/lineage/%d", i), string(id))
	}
	utf("/created_at", c.CreatedAt)
	utf("/instance_id", c.InstanceID)
	for i, s := range c.Tags {
		utf(fmt.Sprintf("/tags/%d", i), s)
	}
	for _, f := range []struct {
		ptr string
		v   float64
	}{{"/confidence", c.Confidence}, {"/verification_score", c.VerificationScore}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			errs = append(errs, newError(RuleNumber, f.ptr, "not a finite number"))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	j, err := json.Marshal(&c)
	if err != nil {
		return nil, newError(RuleJSON, "", "encode: "+err.Error())
	}
	out, err := jcs.Transform(j)
	if err != nil {
		return nil, newError(RuleJSON, "", "canonicalize: "+err.Error())
	}
	if _, err := Parse(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Thresholds are the federation thresholds a trace must meet to enter a hive.
type Thresholds struct {
	MinConfidence   float64 `json:"min_confidence"`   // confidence must be strictly greater
	MinVerification float64 `json:"min_verification"` // verification_score must be greater or equal
	MinSteps        int     `json:"min_steps"`        // len(reasoning_path) must be greater or equal
}

// DefaultThresholds are the seed's thresholds: confidence > 0.9,
// verification_score >= 0.95, at least 1 reasoning step.
var DefaultThresholds = Thresholds{MinConfidence: 0.9, MinVerification: 0.95, MinSteps: 1}

// Check reports every threshold t misses as an Errors of rule
// trace-threshold, or nil if t meets them all.
func (th Thresholds) Check(t *Trace) error {
	var errs Errors
	if !(t.Confidence > th.MinConfidence) {
		errs = append(errs, newError(RuleThreshold, "/confidence",
			fmt.Sprintf("confidence %s is not above %s", fmtFloat(t.Confidence), fmtFloat(th.MinConfidence))))
	}
	if !(t.VerificationScore >= th.MinVerification) {
		errs = append(errs, newError(RuleThreshold, "/verification_score",
			fmt.Sprintf("verification score %s is below %s", fmtFloat(t.VerificationScore), fmtFloat(th.MinVerification))))
	}
	if len(t.ReasoningPath) < th.MinSteps {
		errs = append(errs, newError(RuleThreshold, "/reasoning_path",
			fmt.Sprintf("%d reasoning steps, fewer than %d", len(t.ReasoningPath), th.MinSteps)))
	}
	return errs.err()
}

func fmtFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// fromValue runs the schema, text, step and time checks on the value tree
// and builds the Trace.
func fromValue(v any) (*Trace, error) {
	var errs Errors
	if err := compiled().Validate(v); err != nil {
		ve, ok := err.(*jsonschema.ValidationError)
		if !ok {
			return nil, newError(RuleSchema, "", err.Error())
		}
		errs = appendLeaves(errs, ve)
	}
	errs = checkTextTree(errs, v)
	// The validator's order follows map iteration: sort into document order.
	slices.SortStableFunc(errs, func(a, b *Error) int { return comparePointers(a.Pointer, b.Pointer) })
	if len(errs) > maxErrors {
		errs = errs[:maxErrors]
	}
	if len(errs) > 0 {
		return nil, errs
	}
	t := build(v.(map[string]any))
	for i, s := range t.ReasoningPath {
		if s.Step != i+1 {
			errs = append(errs, newError(RuleSteps, fmt.Sprintf("/reasoning_path/%d/step", i),
				fmt.Sprintf("step numbered %d, want %d", s.Step, i+1)))
		}
	}
	if ct, err := time.Parse(time.RFC3339Nano, t.CreatedAt); err != nil {
		errs = append(errs, newError(RuleTime, "/created_at", "not a valid time: "+Quote(t.CreatedAt, 40)))
	} else if ct.Location() != time.UTC {
		errs = append(errs, newError(RuleTime, "/created_at", "not in UTC"))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return t, nil
}

// appendLeaves appends one trace-schema error per leaf cause of ve.
func appendLeaves(errs Errors, ve *jsonschema.ValidationError) Errors {
	if len(ve.Causes) == 0 {
		return append(errs, newError(RuleSchema, ve.InstanceLocation, ve.Message))
	}
	for _, c := range ve.Causes {
		errs = appendLeaves(errs, c)
	}
	return errs
}

// build makes the Trace from a value tree the schema accepted, so every type
// assertion holds. (encoding/json is not needed: the tree already has exact,
// unique keys; and it would refuse a step written 1.0.)
func build(m map[string]any) *Trace {
	t := &Trace{
		Intent:            m["intent"].(string),
		Result:            m["result"].(string),
		Confidence:        m["confidence"].(float64),
		VerificationScore: m["verification_score"].(float64),
		CreatedAt:         m["created_at"].(string),
		InstanceID:        m["instance_id"].(string),
	}
	steps := m["reasoning_path"].([]any)
	t.ReasoningPath = make([]Step, len(steps))
	for i, x := range steps {
		sm := x.(map[string]any)
		t.ReasoningPath[i].Step = int(sm["step"].(float64))
		t.ReasoningPath[i].Action = sm["action"].(string)
		if d, ok := sm["detail"]; ok {
			t.ReasoningPath[i].Detail = d.(string)
		}
	}
	lineage := m["lineage"].([]any)
	t.Lineage = make([]ID, len(lineage))
	for i, x := range lineage {
		t.Lineage[i] = ID(x.(string))
	}
	if tags, ok := m["tags"].([]any); ok {
		t.Tags = make([]string, len(tags))
		for i, x := range tags {
			t.Tags[i] = x.(string)
		}
	}
	return t
}

// comparePointers orders JSON pointers token by token, array indexes
// numerically, so "/a/2" comes before "/a/10".
func comparePointers(a, b string) int {
	for a != "" && b != "" {
		var ta, tb string
		ta, a = nextToken(a)
		tb, b = nextToken(b)
		if ta == tb {
			continue
		}
		na, ea := strconv.Atoi(ta)
		nb, eb := strconv.Atoi(tb)
		if ea == nil && eb == nil {
			return na - nb
		}
		return strings.Compare(ta, tb)
	}
	return len(a) - len(b)
}

// nextToken splits the first token off a non-empty pointer.
func nextToken(p string) (tok, rest string) {
	p = p[1:]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}
