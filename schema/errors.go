package schema

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is one problem with a trace or a record, with a stable rule code:
// a rule violation (errors.Is(err, ErrInvalid) holds).
type Error struct {
	Rule    Rule   // one of the Rule* constants
	Pointer string // RFC 6901 JSON pointer of the offending value, "" for the whole document
	Msg     string // lower case, no final period; attacker text is quoted with Quote
}

// Error returns "<rule>: <pointer>: <msg>", without the pointer part when
// Pointer is empty.
func (e *Error) Error() string {
	if e.Pointer == "" {
		return string(e.Rule) + ": " + e.Msg
	}
	return string(e.Rule) + ": " + e.Pointer + ": " + e.Msg
}

// Is reports that every Error is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors is a list of problems, reported together. A nil or empty Errors is
// never returned as an error.
type Errors []*Error

// Error returns the messages of all errors joined by "; ".
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// All returns every *Error inside err, in order: err itself if it is an
// *Error, the members of an Errors, and the same found through Unwrap
// (single or multiple) of wrapping errors. It returns nil for nil.
func All(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *Error:
			if e != nil {
				out = append(out, e)
			}
		case Errors:
			for _, x := range e {
				if x != nil {
					out = append(out, x)
				}
			}
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// Quote quotes attacker-controlled text for messages: s is cut to max runes
// with "…" appended when cut (no cut when max <= 0), then quoted with
// strconv.Quote, so control characters, bidi controls and invalid UTF-8 are
// escaped.
func Quote(s string, max int) string {
	if max > 0 && len(s) > max {
		n := 0
		for i := range s {
			if n == max {
				return strconv.Quote(s[:i] + "…")
			}
			n++
		}
	}
	return strconv.Quote(s)
}

// newError is a shorthand for a single *Error.
func newError(rule Rule, pointer, msg string) *Error {
	return &Error{Rule: rule, Pointer: pointer, Msg: msg}
}

// err returns es as an error, nil when empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// invalidUTF8At returns the offset of the first invalid UTF-8 byte in b, or -1.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
