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
	cmd := exec.Command("bash", filepath.Join("..", "..", "docs", "demo.sh"), bin)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir(), "HIVE_KEY_DIR=", "HIVE_REPO=")
	out, err := cmd.CombinedOutput()
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
		"1 upheld disputes",      // and the reputation it costs
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
}
