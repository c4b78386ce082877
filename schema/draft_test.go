package schema

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestComplete(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 678, time.FixedZone("x", 3600))
	draft := `{"intent":"Refactor auth to use env vars","reasoning_path":[{"step":1,"action":"a"}],"result":"r","confidence":0.98,"verification_score":1}`
	tests := []struct {
		name     string
		draft    string
		instance string
		want     string // canonical output, or "" when refused
		rule     Rule
	}{
		{"fills instance, time and lineage", draft, "instance_b",
			`{"confidence":0.98,"created_at":"2026-01-02T02:04:05Z","instance_id":"instance_b","intent":"Refactor auth to use env vars","lineage":[],"reasoning_path":[{"action":"a","step":1}],"result":"r","verification_score":1}`, ""},
		{"keeps what the draft says", seedJSON, "instance_a", seedCanonical, ""},
		{"keeps its own instance without one given", seedJSON, "", seedCanonical, ""},
		{"refuses another instance", seedJSON, "instance_b", "", RuleSchema},
		{"refuses a missing instance with none given", draft, "", "", RuleSchema},
		{"refuses duplicate keys", `{"intent":"a","intent":"b"}`, "i", "", RuleDuplicateKey},
		{"refuses null", `{"intent":null}`, "i", "", RuleNull},
		{"refuses unknown fields", `{"intent":"a","Intent":"b"}`, "i", "", RuleUnknownField},
		{"refuses an array", `[1]`, "i", "", RuleSchema},
		{"refuses garbage", `{`, "i", "", RuleJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Complete([]byte(tt.draft), tt.instance, now)
			if tt.want != "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Complete = %s, %v, want %s", got, err, tt.want)
				}
				if _, err := ParseCanonical(got); err != nil {
					t.Errorf("the completed trace does not parse: %v", err)
				}
				return
			}
			var e *Error
			if err == nil || !errors.As(err, &e) || e.Rule != tt.rule {
				t.Fatalf("Complete = %s, %v, want a %s error", got, err, tt.rule)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
}
