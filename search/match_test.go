package search

import (
	"errors"
	"testing"

	"github.com/hive-dev/hive/schema"
)

func TestMatcher(t *testing.T) {
	// A skill is judged by all it says: its steps and result bear out its
	// intent (one whose body says nothing scores low, see TestGaming).
	skill := &schema.Trace{Intent: "Refactor auth to use env vars", InstanceID: "instance_a", Confidence: 0.95,
		ReasoningPath: []schema.Step{{Step: 1, Action: "analyze_auth_dependencies"}, {Step: 2, Action: "generate_env_var_code"}},
		Result:        "import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')"}
	for _, tc := range []struct {
		name   string
		sub    Subscription
		ok     bool
		reason string
	}{
		{"same words", Subscription{Intent: "refactor auth to use env vars", Threshold: DefaultThreshold}, true, ""},
		{"other task", Subscription{Intent: "parse a csv file", Threshold: DefaultThreshold}, false, "similarity 0.00 below 0.70"},
		{"other instance", Subscription{Intent: "refactor auth", Instance: "instance_b"}, false, "another instance"},
		{"low confidence", Subscription{Intent: "refactor auth", MinConfidence: 0.99}, false, "confidence 0.95 below 0.99"},
		{"any skill at threshold 0", Subscription{Intent: "parse a csv file"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Matcher(tc.sub)
			if err != nil {
				t.Fatal(err)
			}
			if ok, reason := m(skill); ok != tc.ok || reason != tc.reason {
				t.Errorf("Matcher(%+v)(skill) = %v, %q, want %v, %q", tc.sub, ok, reason, tc.ok, tc.reason)
			}
		})
	}
	if _, err := Matcher(Subscription{Intent: "?!"}); !errors.Is(err, ErrNoWords) {
		t.Errorf("Matcher of no words = %v, want ErrNoWords", err)
	}
	if _, err := Matcher(Subscription{Intent: "auth", Threshold: 2}); err == nil {
		t.Errorf("Matcher of threshold 2 = nil error")
	}
}
