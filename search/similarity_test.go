package search

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/hive-dev/hive/schema"
)

var seedTrace = &schema.Trace{Intent: "Refactor auth to use env vars", ReasoningPath: []schema.Step{{Step: 1, Action: "analyze_auth_dependencies"}, {Step: 2, Action: "generate_env_var_code"}},
	Result: "import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')", InstanceID: "instance_a", Lineage: []schema.ID{}, CreatedAt: "2025-12-13T03:45:00Z", Confidence: 0.98, VerificationScore: 1}

// TestSimilarity: the corpus-free score of the seed's trace takes the
// seed's own wordings for the same task, and not other tasks.
func TestSimilarity(t *testing.T) {
	tests := []struct {
		query string
		same  bool
	}{
		{"Refactor auth to use env vars", true},
		{"use environment variables for auth", true},
		{"refactor authentication to use environment variables", true},
		{"use environment variables for database credentials in auth", true},
		{"Parse a CSV file", false},
		{"send an email", false},
		{"compile a kernel module", false},
		{"", false},
	}
	for _, tt := range tests {
		got := Similarity(tt.query, seedTrace)
		if (got >= DefaultThreshold) != tt.same {
			t.Errorf("Similarity(%q) = %.2f, want same task %v (threshold %.1f)", tt.query, got, tt.same, DefaultThreshold)
		}
		if got < 0 || got > 1 {
			t.Errorf("Similarity(%q) = %.2f, outside [0,1]", tt.query, got)
		}
	}
}

func TestTokens(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"Use ENV_VARS for the Database-Password", []string{"env", "var", "databas", "password"}},
		{"getLogger HTTPServer parseJSON2", []string{"logger", "http", "server", "pars", "json2"}},
		{"exit code 137, a 5 GB file", []string{"exit", "code", "137", "5", "gb", "file"}},
		{"naïve café", []string{"naïve", "café"}},
	} {
		if got := Tokens(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// wordsByRunes is eachWord written plainly over runes: the reference for
// its ASCII path.
func wordsByRunes(text string) []string {
	var out []string
	rs := []rune(text)
	start := -1
	for i := 0; i <= len(rs); i++ {
		if i == len(rs) || !unicode.IsLetter(rs[i]) && !unicode.IsDigit(rs[i]) {
			if start >= 0 {
				out = append(out, strings.ToLower(string(rs[start:i])))
			}
			start = -1
			continue
		}
		if start >= 0 && unicode.IsUpper(rs[i]) {
			p := rs[i-1]
			if unicode.IsLower(p) || unicode.IsDigit(p) || unicode.IsUpper(p) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) {
				out = append(out, strings.ToLower(string(rs[start:i])))
				start = i
			}
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// FuzzWords: the ASCII fast path splits every text as the plain rune walk.
func FuzzWords(f *testing.F) {
	for _, s := range []string{"Refactor auth to use env_vars", "parse-the CONFIG file!", "getLogger HTTPServer", "naïve café", "x\x00y", "ĲSSEL İstanbul", "", "  a  ", "ABc", "aB1C"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got []string
		eachWord(s, func(w string) { got = append(got, w) })
		if want := wordsByRunes(s); !slices.Equal(got, want) {
			t.Fatalf("eachWord(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestWordNetTable: the embedded table decodes, knows irregular forms and
// relates common words.
func TestWordNetTable(t *testing.T) {
	wn := loadWordNet()
	if len(wn.words) < 50000 {
		t.Fatalf("table of %d words, want WordNet's tens of thousands", len(wn.words))
	}
	base := func(w string) []string {
		var out []string
		for _, l := range wn.lemmas(w) {
			out = append(out, wn.words[l])
		}
		return out
	}
	for w, want := range map[string]string{"children": "child", "ran": "run", "indexes": "index", "rotating": "rotate"} {
		if !slices.Contains(base(w), want) {
			t.Errorf("lemmas(%q) = %v, want %q among them", w, base(w), want)
		}
	}
	i, ok := wn.lookup("photograph")
	if !ok {
		t.Fatal("no photograph in the table")
	}
	found := false
	for _, r := range wn.rels[i] {
		if wn.words[r.word] == "picture" && r.kind == wnSynonym {
			found = true
		}
	}
	if !found {
		t.Error("photograph is not a synonym of picture")
	}
	if _, err := decodeWordNet(wordnetTable[:len(wordnetTable)/2]); err == nil {
		t.Error("decodeWordNet of half the table: no error")
	}
}
