package schema

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is the structural pass (steps 1-3 of Parse): one scan over the
// bytes that refuses what encoding/json would let through (duplicate keys,
// case-folded keys, null, lone surrogates, numbers float64 cannot hold) and
// builds the generic value tree that the JSON Schema validator reads. Objects
// are map[string]any, arrays []any, numbers float64, strings string and
// booleans bool; there is never a nil.

// context tells the scanner which keys an object at this place may hold.
type context uint8

const (
	ctxOther context = iota // keys not checked here (a wrong type, reported by the schema)
	ctxTop                  // the trace object
	ctxSteps                // the reasoning_path array
	ctxStep                 // one reasoning step object
	ctxFree                 // any JSON document (CanonicalJSON): no key names, wider bounds
)

// traceKeys and stepKeys are the exact field names (the json tags of Trace and Step).
var (
	traceKeys = []string{"intent", "reasoning_path", "result", "confidence", "verification_score", "lineage", "created_at", "instance_id", "tags"}
	stepKeys  = []string{"step", "action", "detail"}
)

// maxItems and maxKeys bound arrays and objects during the scan: no valid
// trace has a longer array (reasoning_path, MaxSteps) or an object with more
// keys (the trace). The keys of the trace and of its steps are not counted:
// every extra one there is an unknown field, and reported as one. Refusing early keeps the schema validator from listing
// tens of thousands of item errors for a hostile file.
var (
	maxItems = max(MaxSteps, MaxLineage, MaxTags)
	maxKeys  = len(traceKeys)
)

// maxErrors bounds the problems reported for one trace.
const maxErrors = 100

// maxSafeInt is 2^53: from here on float64 cannot tell neighbouring integers apart.
const maxSafeInt = 1 << 53

// scanner holds the state of one structural pass.
type scanner struct {
	b       []byte
	i       int
	depth   int
	path    []pathElem // to the value being scanned, for pointers
	unknown Errors     // unknown fields, reported once the scan completes
}

// pathElem is one step of a JSON pointer: an object key or an array index.
type pathElem struct {
	key   string
	index int // -1 for a key
}

// structural runs steps 1-3 of Parse on b and returns the value tree.
func structural(b []byte) (any, error) {
	return scan(b, MaxTraceSize, ctxTop)
}

// scan runs the structural pass with a size limit, from context top.
func scan(b []byte, maxSize int, top context) (any, error) {
	if len(b) > maxSize {
		return nil, newError(RuleTooLarge, "", fmt.Sprintf("document is %d bytes, more than the limit of %d", len(b), maxSize))
	}
	if !utf8.Valid(b) {
		return nil, newError(RuleUTF8, "", fmt.Sprintf("invalid UTF-8 at byte %d", invalidUTF8At(b)))
	}
	s := scanner{b: b, path: make([]pathElem, 0, MaxDepth+1)}
	s.skipWS()
	if s.i == len(b) {
		return nil, newError(RuleJSON, "", "empty input")
	}
	v, err := s.value(top)
	if err != nil {
		return nil, err
	}
	s.skipWS()
	if s.i < len(b) {
		return nil, newError(RuleJSON, "", fmt.Sprintf("trailing data after the top-level value at byte %d", s.i))
	}
	if len(s.unknown) > 0 {
		return nil, s.unknown
	}
	return v, nil
}

// pointer returns the JSON pointer of the value being scanned.
func (s *scanner) pointer() string {
	if len(s.path) == 0 {
		return ""
	}
	var b strings.Builder
	for _, p := range s.path {
		b.WriteByte('/')
		if p.index >= 0 {
			b.WriteString(strconv.Itoa(p.index))
			continue
		}
		b.WriteString(escapePointer(p.key))
	}
	return b.String()
}

// escapePointer escapes one RFC 6901 reference token.
func escapePointer(k string) string {
	if !strings.ContainsAny(k, "~/") {
		return k
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

// syntax returns a trace-json error at the current position.
func (s *scanner) syntax(what string) *Error {
	if s.i >= len(s.b) {
		return newError(RuleJSON, s.pointer(), "unexpected end of input")
	}
	r, _ := utf8.DecodeRune(s.b[s.i:])
	return newError(RuleJSON, s.pointer(), fmt.Sprintf("%s at byte %d, found %s", what, s.i, strconv.QuoteRune(r)))
}

func (s *scanner) skipWS() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value starting at s.i (whitespace already skipped).
func (s *scanner) value(c context) (any, error) {
	if s.i >= len(s.b) {
		return nil, s.syntax("")
	}
	switch ch := s.b[s.i]; ch {
	case '{':
		return s.object(c)
	case '[':
		return s.array(c)
	case '"':
		return s.str()
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		if err := s.literal("null"); err != nil {
			return nil, err
		}
		return nil, newError(RuleNull, s.pointer(), "null is not allowed")
	default:
		if ch == '-' || (ch >= '0' && ch <= '9') {
			return s.number()
		}
		return nil, s.syntax("expected a value")
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.syntax("invalid literal")
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > MaxDepth {
		return newError(RuleDepth, s.pointer(), fmt.Sprintf("nesting deeper than %d", MaxDepth))
	}
	return nil
}

func (s *scanner) object(c context) (any, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.i++ // '{'
	m := make(map[string]any, 8)
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return m, nil
	}
	for {
		s.skipWS()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return nil, s.syntax("expected a string key")
		}
		key, err := s.str()
		if err != nil {
			return nil, err
		}
		s.skipWS()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return nil, s.syntax("expected ':'")
		}
		s.i++
		s.skipWS()
		s.path = append(s.path, pathElem{key: key, index: -1})
		if _, dup := m[key]; dup {
			return nil, newError(RuleDuplicateKey, s.pointer(), "duplicate key "+Quote(key, 64))
		}
		if c == ctxFree && len(m) == maxFreeItems {
			s.path = s.path[:len(s.path)-1]
			return nil, newError(RuleSchema, s.pointer(), fmt.Sprintf("object has more than %d keys", maxFreeItems))
		}
		if len(m) == maxKeys && c != ctxTop && c != ctxStep && c != ctxFree { // there, unknown-field errors say more
			s.path = s.path[:len(s.path)-1]
			return nil, newError(RuleSchema, s.pointer(), fmt.Sprintf("object has more than %d keys", maxKeys))
		}
		child := ctxOther
		switch c {
		case ctxTop:
			if key == "reasoning_path" {
				child = ctxSteps
			}
			s.checkKey(key, traceKeys)
		case ctxStep:
			s.checkKey(key, stepKeys)
		case ctxFree:
			child = ctxFree
		}
		v, err := s.value(child)
		if err != nil {
			return nil, err
		}
		s.path = s.path[:len(s.path)-1]
		m[key] = v
		s.skipWS()
		if s.i < len(s.b) {
			switch s.b[s.i] {
			case ',':
				s.i++
				continue
			case '}':
				s.i++
				s.depth--
				return m, nil
			}
		}
		return nil, s.syntax("expected ',' or '}'")
	}
}

// checkKey records an unknown-field error unless key is one of known, exactly.
func (s *scanner) checkKey(key string, known []string) {
	for _, k := range known {
		if k == key {
			return
		}
	}
	msg := "unknown field " + Quote(key, 64)
	for _, k := range known {
		if strings.EqualFold(k, key) {
			msg += fmt.Sprintf(" (keys are case-sensitive, want %q)", k)
			break
		}
	}
	if len(s.unknown) < maxErrors {
		s.unknown = append(s.unknown, newError(RuleUnknownField, s.pointer(), msg))
	}
}

func (s *scanner) array(c context) (any, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.i++ // '['
	a := []any{}
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return a, nil
	}
	child := ctxOther
	limit := maxItems
	switch c {
	case ctxSteps:
		child = ctxStep
	case ctxFree:
		child, limit = ctxFree, maxFreeItems
	}
	for {
		if len(a) == limit {
			return nil, newError(RuleSchema, s.pointer(), fmt.Sprintf("array has more than %d items", limit))
		}
		s.skipWS()
		s.path = append(s.path, pathElem{index: len(a)})
		v, err := s.value(child)
		if err != nil {
			return nil, err
		}
		s.path = s.path[:len(s.path)-1]
		a = append(a, v)
		s.skipWS()
		if s.i < len(s.b) {
			switch s.b[s.i] {
			case ',':
				s.i++
				continue
			case ']':
				s.i++
				s.depth--
				return a, nil
			}
		}
		return nil, s.syntax("expected ',' or ']'")
	}
}

// str scans a string at s.i (on the opening quote) and returns it decoded.
// The input is already known to be valid UTF-8.
func (s *scanner) str() (string, error) {
	start := s.i + 1
	i := start
	for i < len(s.b) {
		c := s.b[i]
		if c == '"' {
			s.i = i + 1
			return string(s.b[start:i]), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			s.i = i
			return "", s.syntax("control character in string")
		}
		i++
	}
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, s.b[start:i]...)
	for {
		if i >= len(s.b) {
			s.i = i
			return "", s.syntax("unterminated string")
		}
		c := s.b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return string(buf), nil
		case c < 0x20:
			s.i = i
			return "", s.syntax("control character in string")
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		// An escape.
		if i+1 >= len(s.b) {
			s.i = i + 1
			return "", s.syntax("unterminated string")
		}
		e := s.b[i+1]
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(s.b, i+2)
			if !ok {
				s.i = i
				return "", s.syntax("invalid \\u escape")
			}
			i += 6
			switch {
			case r >= 0xD800 && r < 0xDC00:
				lo, ok := hex4(s.b, i+2)
				if !ok || s.b[i] != '\\' || s.b[i+1] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
					return "", newError(RuleUTF8, s.pointer(), fmt.Sprintf("lone surrogate \\u%04X in string", r))
				}
				r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
				i += 6
			case r >= 0xDC00 && r <= 0xDFFF:
				return "", newError(RuleUTF8, s.pointer(), fmt.Sprintf("lone surrogate \\u%04X in string", r))
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			s.i = i
			return "", s.syntax("invalid escape")
		}
		i += 2
	}
}

// hex4 decodes the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number scans a number (RFC 8259 grammar) and checks that float64 holds it:
// finite, not negative zero, not a non-zero that underflows to zero, and of
// magnitude below 2^53.
func (s *scanner) number() (any, error) {
	b := s.b
	start := s.i
	i := s.i
	if b[i] == '-' {
		i++
	}
	nonzero := false
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if b[i] != '0' {
				nonzero = true
			}
			i++
		}
		return i > j
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		s.i = i
		return nil, s.syntax("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			s.i = i
			return nil, s.syntax("invalid number")
		}
	}
	mantissaNonzero := nonzero
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			s.i = i
			return nil, s.syntax("invalid number")
		}
	}
	s.i = i
	lit := string(b[start:i])
	f, err := strconv.ParseFloat(lit, 64)
	switch {
	case err != nil || math.IsInf(f, 0):
		return nil, newError(RuleNumber, s.pointer(), "number "+Quote(lit, 32)+" overflows float64")
	case f == 0 && math.Signbit(f):
		return nil, newError(RuleNumber, s.pointer(), "negative zero is not allowed")
	case f == 0 && mantissaNonzero:
		return nil, newError(RuleNumber, s.pointer(), "number "+Quote(lit, 32)+" underflows float64")
	case math.Abs(f) >= maxSafeInt:
		return nil, newError(RuleNumber, s.pointer(), "number "+Quote(lit, 32)+" has magnitude 2^53 or more")
	}
	return f, nil
}
