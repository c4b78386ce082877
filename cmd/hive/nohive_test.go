package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every command that needs a hive exits 2 (a usage error, as README.md
// says) when --repo names none, with one error line naming the folder and
// a hint, and prints nothing on stdout.
func TestNoHiveIsUsageError(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HIVE_KEY_DIR", filepath.Join(dir, "keys"))
	missing := filepath.Join(dir, "nowhere")
	trace := filepath.Join(dir, "t.json")
	if err := os.WriteFile(trace, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"add", trace},
		{"import", trace},
		{"show", "abcdef"},
		{"verify"},
		{"lineage", "abcdef"},
		{"export", "abcdef"},
		{"instances"},
		{"pull"},
		{"push"},
		{"submit"},
		{"hooks", "install"},
		{"serve"},
		{"serve", "token", "list"},
		{"serve", "token", "add", "--instance", "alice"},
		{"dispute", "list"},
		{"dispute", "open", "abcdef", "--reason", "x", "--instance", "alice"},
		{"search", "csv"},
		{"resolve", "csv"},
		{"outcome", "abcdef", "--success", "--instance", "alice"},
		{"outcomes", "abcdef"},
		{"reputation"},
		{"diff", "abcdef", "abcdef"},
		{"mcp"},
		{"skill", "export", "abcdef", dir},
		{"skill", "verify", dir},
		{"skill", "import", dir, "--instance", "alice", "--confidence", "1", "--verification-score", "1"},
		{"install", "csv", "--to", dir},
		{"key", "rotate", "--instance", "alice"},
		{"key", "registration", "open", "--by", "alice"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"hive", "--repo", missing}, args...), strings.NewReader(""), &stdout, &stderr)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if code != exitUsage || len(lines) != 2 || !strings.HasPrefix(lines[0], "hive: error: open hive "+missing+": ") ||
				!strings.HasPrefix(lines[1], "hive: hint: ") || stdout.Len() > 0 {
				t.Errorf("hive --repo %s %s: exit %d\nstdout: %s\nstderr: %s, want exit 2, an error naming the folder and a hint",
					missing, strings.Join(args, " "), code, stdout.String(), stderr.String())
			}
		})
	}
}
