package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs `make demo`'s script with the real binary: it must end
// well, and tell each part of the seed's story.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs in make test, not with -short")
	}
	bin := hiveBinary(t)
	data := t.TempDir()
	out, err := demo(bin, data).CombinedOutput()
	if err != nil {
		t.Fatalf("docs/demo.sh: %v\n%s", err, tail(string(out), 60))
	}
	for _, want := range []string{
		"$ hive --repo a --key-dir keys-a add trace.json\nsha256:f1fa4d3b015cbe96678ee6b36b863aa3657d0824479668db71f3fb69c849db50",
		"imported sha256:f1fa4d3b015cbe96678ee6b36b863aa3657d0824479668db71f3fb69c849db50",    // B subscribes
		"sha256:f1fa4d3b015cbe96678ee6b36b863aa3657d0824479668db71f3fb69c849db50  instance_a", // B searches
		"    return os.getenv('DB_PASSWORD')",                                                    // B resolves: the result
		"trusted: author instance_a has reputation",                                              // B's agent, through hive mcp
		"descendant +1  sha256:0b802a00fdcd086fa4fc30854fc68c63a2f7afa8b546311c7178013ad6004bc0", // A sees the child
		"Hive-Parent: sha256:f1fa4d3b015cbe96678ee6b36b863aa3657d0824479668db71f3fb69c849db50",
		"path-modified: changed", // the tampered change
		"remote: commit",         // the hook's refusal, on the pusher's screen
		"sig-invalid",            // the forged push
		"removed by maint",       // the dispute
		"1 upheld dispute",       // and the reputation it costs
		"hive: valid: whole history",
		"== Done",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo does not show %q", want)
		}
	}
	if strings.Contains(string(out), "$(") {
		t.Error("the demo shows a command inside $(...)")
	}

	// The hub's clone is left as the default hive, for make run; a second
	// demo replaces it; a default hive the demo did not make is left alone.
	def := filepath.Join(data, "hive", "default")
	for _, args := range [][]string{{"verify", "--full"}, {"show", "f1fa4d3b"}, {"show", "0b802a00"}} {
		if v, err := exec.Command(bin, append([]string{"--repo", def}, args...)...).CombinedOutput(); err != nil {
			t.Errorf("hive %s in the default hive after the demo: %v\n%s", strings.Join(args, " "), err, v)
		}
	}
	if out, err := demo(bin, data).CombinedOutput(); err != nil || !strings.Contains(string(out), "next: make run") {
		t.Errorf("a second demo: %v\n%s", err, tail(string(out), 20))
	}
	if err := os.RemoveAll(def); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(bin, "init", def).Run(); err != nil {
		t.Fatal(err)
	}
	before, _ := exec.Command("git", "-C", def, "rev-parse", "main").Output()
	if out, err := demo(bin, data).CombinedOutput(); err != nil || !strings.Contains(string(out), "left alone") || !strings.Contains(string(out), "HIVE_REPO="+def+"-demo make run") {
		t.Errorf("a demo beside a user's default hive: %v\n%s", err, tail(string(out), 20))
	}
	if after, _ := exec.Command("git", "-C", def, "rev-parse", "main").Output(); string(after) != string(before) {
		t.Errorf("the demo changed the user's default hive: main %s -> %s", before, after)
	}
}

// demo is the command `make demo` runs, with data as XDG_DATA_HOME (where
// it leaves the default hive).
func demo(bin, data string) *exec.Cmd {
	c := exec.Command("bash", filepath.Join("..", "..", "docs", "demo.sh"), bin)
	c.Env = append(os.Environ(), "HIVE_KEY_DIR=", "HIVE_REPO=", "HIVE_HOME=", "XDG_DATA_HOME="+data)
	return c
}
