package search

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/hive-dev/hive/schema"
)

func TestScore(t *testing.T) {
	seed := &schema.Trace{Intent: "Refactor auth to use env vars", ReasoningPath: []schema.Step{{Step: 1, Action: "analyze_auth_dependencies"}, {Step: 2, Action: "generate_env_var_code"}}}
	tests := []struct {
		query string
		same  bool
	}{
		{"Refactor auth to use env vars", true},
		{"use environment variables for auth", true},
		{"refactor authentication to read environment variables", true},
		{"move the database password into an env var", false},
		{"Parse a CSV file", false},
		{"send an email", false},
		{"", false},
	}
	d := NewDoc(seed)
	for _, tt := range tests {
		got := Score(Tokens(tt.query), d)
		if (got >= DefaultThreshold) != tt.same {
			t.Errorf("Score(%q) = %.2f, want same task %v (threshold %.1f)", tt.query, got, tt.same, DefaultThreshold)
		}
		if got < 0 || got > 1 {
			t.Errorf("Score(%q) = %.2f, outside [0,1]", tt.query, got)
		}
	}
}

func TestTokens(t *testing.T) {
	got := Tokens("Use ENV_VARS for the Database-Password")
	want := []string{"environ", "variabl", "databas", "password"}
	if len(got) != len(want) {
		t.Fatalf("Tokens = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Tokens = %v, want %v", got, want)
		}
	}
}

// tokensByFields is Tokens as first written, splitting every text with
// strings.FieldsFunc: the reference for Tokens' ASCII path.
func tokensByFields(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		out = appendToken(out, f)
	}
	return out
}

// FuzzTokens: Tokens splits every text as strings.FieldsFunc does.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{"Refactor auth to use env_vars", "parse-the CONFIG file!", "naïve café", "x\x00y", "ĲSSEL İstanbul", "", "  a  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Tokens(s), tokensByFields(s); !slices.Equal(got, want) {
			t.Fatalf("Tokens(%q) = %q, strings.FieldsFunc gives %q", s, got, want)
		}
	})
}
