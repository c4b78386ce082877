package gitdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"hive/.git", "hive/a/b", "bare/objects", "bare/refs/heads", "none/x", "wt/sub", "nested/.git", "nested/inner/.git", "nested/inner/c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"bare/HEAD": "ref: refs/heads/main\n", "wt/.git": "gitdir: ../hive/.git\n"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "hive/a"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	p := func(s string) string { return filepath.Join(root, s) }
	tests := []struct {
		start, ceilings string
		want            string // "" for none
		stoppedAt       string // the ceiling named when none
	}{
		{"hive", root, "hive", ""},
		{"hive/a/b", root, "hive", ""},
		{"link", root, "hive", ""},                   // a symbolic link: its target's parents
		{"bare", root, "bare", ""},                   // a bare repository
		{"bare/refs/heads", root, "bare", ""},        // inside one
		{"wt/sub", root, "wt", ""},                   // a .git file (a worktree)
		{"nested/inner/c", root, "nested/inner", ""}, // the nearest
		{"none/x", root, "", root},
		{"hive/a/b", p("hive/a"), "", p("hive/a")}, // the ceiling is not entered
		{"hive/a/b", p("hive/a") + string(filepath.ListSeparator) + p("hive"), "", p("hive/a")},
		{"hive/a", p("hive/a"), "hive", ""},                                          // a ceiling that is start itself does not apply
		{"hive/a/b", "relative" + string(filepath.ListSeparator) + root, "hive", ""}, // relative entries are ignored
		{"hive/a/b", p("hive/ab"), "hive", ""},                                       // a prefix by bytes is not a parent
	}
	for _, tt := range tests {
		got, err := Find(p(tt.start), tt.ceilings)
		if tt.want != "" {
			if err != nil || got != p(tt.want) {
				t.Errorf("Find(%s, %s) = %q, %v; want %s", tt.start, tt.ceilings, got, err, p(tt.want))
			}
			continue
		}
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Start != p(tt.start) || nf.Ceiling != tt.stoppedAt {
			t.Errorf("Find(%s, %s) = %q, %v; want no repository, stopped at %s", tt.start, tt.ceilings, got, err, tt.stoppedAt)
		}
	}
}
