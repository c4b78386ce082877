package agentskills_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hive-dev/hive/agentskills"
	"github.com/hive-dev/hive/schema"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // an error's text, or "" for success
	}{
		{"minimal", "---\nname: a-skill\ndescription: Does a thing. Use when a thing.\n---\nbody\n", ""},
		{"every field", "---\nname: a-skill\ndescription: d\nlicense: MIT\ncompatibility: needs git\nmetadata:\n  author: me\n  version: \"1.0\"\nallowed-tools: Bash(git:*) Read\n---\n# body\n", ""},
		{"CRLF line ends", "---\r\nname: a-skill\r\ndescription: d\r\n---\r\nbody\r\n", ""},
		{"a folded description", "---\nname: a-skill\ndescription: >\n  two\n  lines\n---\n", ""},
		{"no front matter", "# just markdown\n", "does not start with a line ---"},
		{"a BOM", "\ufeff---\nname: a\ndescription: d\n---\n", "does not start with a line ---"},
		{"not closed", "---\nname: a-skill\ndescription: d\n", "no line --- closes"},
		{"a list", "---\n- name\n---\n", "not a YAML mapping"},
		{"empty", "---\n---\n", "not a YAML mapping"},
		{"an unknown field", "---\nname: a\ndescription: d\nversion: 2\n---\n", `line 4: unknown field "version"`},
		{"a field twice", "---\nname: a\ndescription: d\nname: b\n---\n", "line 4: name: given twice (first on line 2)"},
		{"a number for a name", "---\nname: 42\ndescription: d\n---\n", `line 2: name: want a string, found int "42" (quote it)`},
		{"a date for a description", "---\nname: a\ndescription: 2024-01-01\n---\n", "description: want a string, found timestamp"},
		{"null description", "---\nname: a\ndescription:\n---\n", "description: want a string, found null"},
		{"a list for a name", "---\nname: [a]\ndescription: d\n---\n", "name: want a string, found a list"},
		{"no description", "---\nname: a\n---\n", "description: missing"},
		{"no name", "---\ndescription: d\n---\n", "name: missing"},
		{"metadata not a mapping", "---\nname: a\ndescription: d\nmetadata: x\n---\n", "metadata: want a mapping of strings to strings"},
		{"a metadata number", "---\nname: a\ndescription: d\nmetadata:\n  version: 1.0\n---\n", `metadata.version: want a string, found float "1.0" (quote it)`},
		{"nested metadata", "---\nname: a\ndescription: d\nmetadata:\n  a:\n    b: c\n---\n", "metadata.a: want a string, found a mapping"},
		{"a metadata key twice", "---\nname: a\ndescription: d\nmetadata:\n  k: a\n  k: b\n---\n", "metadata.k: given twice"},
		{"an alias", "---\nname: &n a\ndescription: *n\n---\n", "anchors and aliases are not allowed"},
		{"an explicit tag", "---\nname: !!str a\ndescription: d\n---\n", "explicit tags are not allowed"},
		{"bad YAML", "---\nname: a\ndescription: [unclosed\n---\n", "front matter: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm, _, err := agentskills.Parse([]byte(tt.in))
			if tt.want == "" {
				if err != nil || fm.Name == "" || fm.Description == "" {
					t.Fatalf("Parse = %+v, %v, want success", fm, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, agentskills.ErrInvalid) {
				t.Fatalf("Parse = %v, want an ErrInvalid saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
}

func TestParseBody(t *testing.T) {
	fm, body, err := agentskills.Parse([]byte("---\nname: a\ndescription: d\n---\n# Title\n---\nmore\n"))
	if err != nil || string(body) != "# Title\n---\nmore\n" || fm.Name != "a" {
		t.Errorf("Parse = %+v, %q, %v", fm, body, err)
	}
}

func TestCheck(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		fm     agentskills.FrontMatter
		folder string
		want   string
	}{
		{agentskills.FrontMatter{Name: "pdf-processing", Description: "d"}, "pdf-processing", ""},
		{agentskills.FrontMatter{Name: "a1-b2-c3", Description: "d"}, "", ""},
		{agentskills.FrontMatter{Name: long, Description: "d"}, long, ""},
		{agentskills.FrontMatter{Name: long + "a", Description: "d"}, "", "65 characters, over 64"},
		{agentskills.FrontMatter{Name: "", Description: "d"}, "", "name: empty"},
		{agentskills.FrontMatter{Name: "PDF-Processing", Description: "d"}, "", "only lower-case letters"},
		{agentskills.FrontMatter{Name: "-pdf", Description: "d"}, "", "only lower-case letters"},
		{agentskills.FrontMatter{Name: "pdf-", Description: "d"}, "", "only lower-case letters"},
		{agentskills.FrontMatter{Name: "pdf--processing", Description: "d"}, "", "only lower-case letters"},
		{agentskills.FrontMatter{Name: "pdf_processing", Description: "d"}, "", "only lower-case letters"},
		{agentskills.FrontMatter{Name: "café", Description: "d"}, "", "only lower-case letters"},
		{agentskills.FrontMatter{Name: "pdf", Description: "d"}, "docx", `not the folder's name "docx"`},
		{agentskills.FrontMatter{Name: "pdf", Description: " \n\t"}, "", "description: empty"},
		{agentskills.FrontMatter{Name: "pdf", Description: strings.Repeat("é", 1024)}, "", ""},
		{agentskills.FrontMatter{Name: "pdf", Description: strings.Repeat("é", 1025)}, "", "1025 characters, over 1024"},
		{agentskills.FrontMatter{Name: "pdf", Description: "d", Compatibility: strings.Repeat("x", 501)}, "", "compatibility: 501 characters"},
	}
	for _, tt := range tests {
		err := tt.fm.Check(tt.folder)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Check(%q in %q) = %v, want %q", tt.fm.Name, tt.folder, err, tt.want)
		}
	}
}

func TestName(t *testing.T) {
	id := schema.ID("sha256:" + strings.Repeat("ab", 32))
	tests := []struct{ intent, want string }{
		{"Refactor auth to use env vars", "refactor-auth-to-use-env-vars"},
		{"  Parse JSON → YAML, quickly!  ", "parse-json-yaml-quickly"},
		{"Café: déjà vu", "cafe-deja-vu"},
		{"日本語のタスク", "skill-abababababab"},
		{"---", "skill-abababababab"},
		{strings.Repeat("word ", 20), "word-word-word-word-word-word-word-word-word-word-word-word-word"},
		{strings.Repeat("x", 100), strings.Repeat("x", 64)},
	}
	for _, tt := range tests {
		got := agentskills.Name(tt.intent, id)
		if got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.intent, got, tt.want)
		}
		if err := agentskills.CheckName(got); err != nil {
			t.Errorf("Name(%q) = %q, which is not a valid name: %v", tt.intent, got, err)
		}
	}
}

// TestMarshalRoundTrip: what Marshal writes, Parse reads back the same,
// whatever the text holds.
func TestMarshalRoundTrip(t *testing.T) {
	for _, d := range []string{"plain", "a: colon", "# hash", "'quotes' and \"quotes\"", "yes", "null", "1.0", "multi\nline", "- dash", "{braces}", "é ü ✓", "trailing space "} {
		fm := agentskills.FrontMatter{Name: "x", Description: d, Metadata: map[string]string{"k": d, "version": "1.0"}}
		b, err := fm.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := agentskills.Parse([]byte("---\n" + string(b) + "---\n"))
		if err != nil || got.Description != d || got.Metadata["k"] != d || got.Metadata["version"] != "1.0" {
			t.Errorf("round trip of %q: %+v, %v\n%s", d, got, err, b)
		}
	}
}
