package schema

import (
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// MaxOutcomeSize bounds an outcome record file, checked before parsing.
const MaxOutcomeSize = 16 << 10

// MaxOutcomeDetail bounds an outcome's detail, in code points.
const MaxOutcomeDetail = 4000

// The results an outcome reports.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Outcome is an instance's signed report that it reused a trace, and
// whether it worked. It is stored as RFC 8785 canonical JSON at
// outcomes/<hh>/<hex>/<instance_id>.json, where <hex> names the trace.
type Outcome struct {
	Kind       string `json:"kind"`             // "outcome"
	Trace      ID     `json:"trace"`            // the trace reused
	Outcome    string `json:"outcome"`          // OutcomeSuccess or OutcomeFailure
	Detail     string `json:"detail,omitempty"` // what was checked and how it ended; omitted when empty
	InstanceID string `json:"instance_id"`      // the reporter
	CreatedAt  string `json:"created_at"`       // RFC 3339 in UTC with a Z
}

// Success reports whether the outcome says the trace worked.
func (o *Outcome) Success() bool { return o.Outcome == OutcomeSuccess }

// Marshal returns the canonical bytes of o, after checking it as
// ParseOutcome would.
func (o *Outcome) Marshal() ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return MarshalRecord(o)
}

// ParseOutcome parses an outcome record strictly: at most MaxOutcomeSize
// bytes, RFC 8785 canonical, exactly the fields of Outcome (names compared
// exactly, no null), every value within its bounds.
func ParseOutcome(b []byte) (*Outcome, error) {
	var o Outcome
	if err := decodeRecord(b, MaxOutcomeSize, &o); err != nil {
		return nil, newError(RuleOutcomeInvalid, "", "outcome: "+err.Error())
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	return &o, nil
}

// check refuses an outcome that breaks a bound, as an *Error of rule
// outcome-invalid.
func (o *Outcome) check() error {
	if err := o.bounds(); err != nil {
		return newError(RuleOutcomeInvalid, "", err.Error())
	}
	return nil
}

func (o *Outcome) bounds() error {
	if o.Kind != "outcome" {
		return fmt.Errorf("outcome: kind %s, want \"outcome\"", Quote(o.Kind, 20))
	}
	if _, err := ParseID(string(o.Trace)); err != nil {
		return fmt.Errorf("outcome: trace: %v", err)
	}
	if o.Outcome != OutcomeSuccess && o.Outcome != OutcomeFailure {
		return fmt.Errorf("outcome: outcome %s, want %q or %q", Quote(o.Outcome, 20), OutcomeSuccess, OutcomeFailure)
	}
	if o.Detail != "" {
		if err := recordText("detail", o.Detail, MaxOutcomeDetail, true); err != nil {
			return fmt.Errorf("outcome: %w", err)
		}
	}
	if !ValidInstanceID(o.InstanceID) {
		return fmt.Errorf("outcome: instance_id %s is not an instance id", Quote(o.InstanceID, 70))
	}
	if err := recordTime(o.CreatedAt); err != nil {
		return fmt.Errorf("outcome: %w", err)
	}
	return nil
}

// decodeRecord decodes a small signed record strictly into v: size first,
// then canonical JSON (which also refuses duplicate keys, bad UTF-8, null
// and unsafe numbers), and exactly v's fields (decodeExact).
func decodeRecord(b []byte, max int, v any) error {
	if len(b) > max {
		return fmt.Errorf("%d bytes, over the limit of %d", len(b), max)
	}
	if err := strictCanonical(b); err != nil {
		return err
	}
	return decodeExact(b, v)
}

// recordText checks free text of a record: 1 to max code points, the text
// rules of traces (NFC; no control characters but, when multiline, tab and
// newline; no bidirectional controls, byte order mark or separators).
func recordText(field, s string, max int, multiline bool) error {
	if n := utf8.RuneCountInString(s); n == 0 || n > max {
		return fmt.Errorf("%s must be 1 to %d code points", field, max)
	}
	if errs := checkText(nil, "/"+field, s, multiline); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// timeRe is the form of created_at in every record: RFC 3339 in UTC with a Z.
var timeRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$`)

func recordTime(s string) error {
	if !timeRe.MatchString(s) {
		return fmt.Errorf("created_at %s is not an RFC 3339 time in UTC", Quote(s, 40))
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return fmt.Errorf("created_at %s is not a valid time", Quote(s, 40))
	}
	return nil
}

// fingerprintRe is a key's fingerprint: lower-case hex SHA-256 of its DER.
var fingerprintRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkFingerprint(field, s string) error {
	if !fingerprintRe.MatchString(s) {
		return fmt.Errorf("%s %s is not a key fingerprint (64 lower-case hex digits)", field, Quote(s, 70))
	}
	return nil
}
