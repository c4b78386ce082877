package schema

import (
	"fmt"
	"strconv"

	"golang.org/x/text/unicode/norm"
)

// checkTextTree applies the text rules to the text fields of the value tree,
// wherever they are strings (wrong types are the schema's to report).
func checkTextTree(errs Errors, v any) Errors {
	m, ok := v.(map[string]any)
	if !ok {
		return errs
	}
	check := func(ptr string, x any, multiline bool) {
		if s, ok := x.(string); ok {
			errs = checkText(errs, ptr, s, multiline)
		}
	}
	check("/intent", m["intent"], false)
	if steps, ok := m["reasoning_path"].([]any); ok {
		for i, x := range steps {
			if sm, ok := x.(map[string]any); ok {
				p := "/reasoning_path/" + strconv.Itoa(i)
				check(p+"/action", sm["action"], false)
				check(p+"/detail", sm["detail"], true)
			}
		}
	}
	check("/result", m["result"], true)
	check("/instance_id", m["instance_id"], false)
	if tags, ok := m["tags"].([]any); ok {
		for i, x := range tags {
			check("/tags/"+strconv.Itoa(i), x, false)
		}
	}
	return errs
}

// checkText appends a trace-text error for the first forbidden code point of
// s, and one if s is not NFC. Tab and newline are allowed when multiline.
func checkText(errs Errors, ptr, s string, multiline bool) Errors {
	for _, r := range s {
		var what string
		switch {
		case r == '\n' || r == '\t':
			if !multiline {
				what = "control character"
			}
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			what = "control character"
		case r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			what = "bidirectional control"
		case r == 0xfeff:
			what = "byte order mark"
		case r == 0x2028 || r == 0x2029:
			what = "line or paragraph separator"
		}
		if what != "" {
			errs = append(errs, newError(RuleText, ptr, fmt.Sprintf("%s U+%04X is not allowed", what, r)))
			break
		}
	}
	if !norm.NFC.IsNormalString(s) {
		errs = append(errs, newError(RuleText, ptr, "text is not in Unicode normalization form NFC"))
	}
	return errs
}
