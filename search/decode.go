package search

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/hive-dev/hive/schema"
)

// decodeIndexed decodes the fields of a trace the index reads, as
// json.Unmarshal(data, t) would. A trace on main is canonical JSON
// (RFC 8785), which a small scanner reads several times faster than
// encoding/json's reflection; the scanner takes only what it fully
// understands (strings without escapes, numbers, the expected types) and
// hands anything else (escapes, nulls, other types, bad syntax) to
// json.Unmarshal, so the result is always json.Unmarshal's.
func decodeIndexed(data []byte, t *indexed) error {
	var d indexed
	if (&scan{b: data}).trace(&d) {
		*t = d
		return nil
	}
	*t = indexed{}
	return json.Unmarshal(data, t)
}

// scan reads JSON from b at i; each method reports false for anything
// decodeIndexed leaves to encoding/json.
type scan struct {
	b []byte
	i int
}

func (s *scan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c.
func (s *scan) next(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads a string: valid UTF-8 without control characters, with the
// escapes \" \\ \/ \b \f \n \r \t (\u escapes are encoding/json's).
func (s *scan) str() (string, bool) {
	if !s.next('"') {
		return "", false
	}
	var buf []byte // only when the string has escapes
	from, ascii := s.i, true
	for j := s.i; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(s.b[from:j]) {
				return "", false // json.Unmarshal replaces invalid UTF-8
			}
			var v string
			if buf != nil {
				v = string(append(buf, s.b[from:j]...))
			} else {
				v = string(s.b[from:j])
			}
			s.i = j + 1
			return v, true
		case c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		case c == '\\':
			if j+1 >= len(s.b) {
				return "", false
			}
			var r byte
			switch s.b[j+1] {
			case '"', '\\', '/':
				r = s.b[j+1]
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			default:
				return "", false
			}
			if !ascii && !utf8.Valid(s.b[from:j]) {
				return "", false
			}
			buf = append(append(buf, s.b[from:j]...), r)
			j++
			from, ascii = j+1, true
		}
	}
	return "", false
}

// skipStr reads any valid string, escapes and all, without decoding it.
func (s *scan) skipStr() bool {
	if !s.next('"') {
		return false
	}
	for j := s.i; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if j+1 >= len(s.b) {
				return false
			}
			switch s.b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+6 > len(s.b) {
					return false
				}
				for _, h := range s.b[j+2 : j+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				j += 5
			default:
				return false
			}
		}
	}
	return false
}

// num reads a number with JSON's grammar.
func (s *scan) num() (float64, bool) {
	s.ws()
	j := s.i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(s.b) && '0' <= s.b[j] && s.b[j] <= '9' {
			j++
		}
		return j - k
	}
	if j < len(s.b) && s.b[j] == '0' {
		j++
	} else if digits() == 0 {
		return 0, false
	}
	if j < len(s.b) && s.b[j] == '.' {
		j++
		if digits() == 0 {
			return 0, false
		}
	}
	if j < len(s.b) && (s.b[j] == 'e' || s.b[j] == 'E') {
		j++
		if j < len(s.b) && (s.b[j] == '+' || s.b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(s.b[s.i:j]), 64)
	if err != nil {
		return 0, false
	}
	s.i = j
	return f, true
}

// skip reads any value of the kinds str and num read, true/false, or
// arrays and objects of them, to a bounded depth.
func (s *scan) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		return s.skipStr()
	case c == '-' || '0' <= c && c <= '9':
		_, ok := s.num()
		return ok
	case c == 't' || c == 'f':
		for _, lit := range []string{"true", "false"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				s.i += len(lit)
				return true
			}
		}
		return false
	case c == '[':
		return s.array(func() bool { return s.skip(depth + 1) })
	case c == '{':
		return s.object(func(string) bool { return s.skip(depth + 1) })
	}
	return false
}

// array reads [v, ...], calling elem for each value.
func (s *scan) array(elem func() bool) bool {
	if !s.next('[') {
		return false
	}
	if s.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.next(']') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// object reads {"k": v, ...}, calling member for each key with the scan at
// its value.
func (s *scan) object(member func(key string) bool) bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		k, ok := s.str()
		if !ok || !s.next(':') || !member(k) {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// trace reads a whole document: one object and nothing after it. A key
// given twice is left to encoding/json, which decodes the second into what
// the first left.
func (s *scan) trace(t *indexed) bool {
	var seen [8]bool
	ok := s.object(func(k string) bool {
		var ok bool
		for i, name := range [...]string{"intent", "instance_id", "confidence", "verification_score", "tags", "reasoning_path", "result", "lineage"} {
			if k == name {
				if seen[i] {
					return false
				}
				seen[i] = true
			}
		}
		switch k {
		case "intent":
			t.Intent, ok = s.str()
		case "instance_id":
			t.InstanceID, ok = s.str()
		case "result":
			t.Result, ok = s.str()
		case "confidence":
			t.Confidence, ok = s.num()
		case "verification_score":
			t.VerificationScore, ok = s.num()
		case "lineage":
			t.Lineage = []schema.ID{}
			ok = s.array(func() bool {
				v, ok := s.str()
				t.Lineage = append(t.Lineage, schema.ID(v))
				return ok
			})
		case "tags":
			t.Tags = []string{}
			ok = s.array(func() bool {
				v, ok := s.str()
				t.Tags = append(t.Tags, v)
				return ok
			})
		case "reasoning_path":
			t.ReasoningPath = []step{}
			ok = s.array(func() bool {
				var st step
				var seen [2]bool
				ok := s.object(func(k string) bool {
					var ok bool
					switch k {
					case "action":
						if seen[0] {
							return false
						}
						seen[0] = true
						st.Action, ok = s.str()
						return ok
					case "detail":
						if seen[1] {
							return false
						}
						seen[1] = true
						st.Detail, ok = s.str()
						return ok
					}
					if folds(k) {
						return false
					}
					return s.skip(2)
				})
				t.ReasoningPath = append(t.ReasoningPath, st)
				return ok
			})
		default:
			// encoding/json matches keys case-insensitively: a key that
			// folds to a field's name is left to it.
			if folds(k) {
				return false
			}
			ok = s.skip(1)
		}
		return ok
	})
	s.ws()
	return ok && s.i == len(s.b)
}

// folds reports whether k matches one of indexed's keys without regard to
// case but is not that key exactly.
func folds(k string) bool {
	for _, name := range [...]string{"intent", "instance_id", "confidence", "verification_score", "tags", "reasoning_path", "result", "lineage", "action", "detail"} {
		if len(k) == len(name) && k != name && equalFold(k, name) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
