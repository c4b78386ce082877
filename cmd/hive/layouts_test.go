package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hive-dev/hive/fixtures"
)

// TestLayouts: hive gives the same answers on every way git stores one
// hive (fixtures.Layouts: packed by gc, gc --aggressive, depth 250,
// reference deltas, kept packs beside loose copies, a multi-pack-index
// with bitmap and commit-graph, a cruft pack, --shared and --reference
// clones, a linked worktree) as on the loose hive hive itself writes:
// verify --full, a range verify, show, lineage, reputation, instances,
// search, and a pull from it.
func TestLayouts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a hive in eleven layouts with git")
	}
	hiveBinary(t) // skips without git
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	sp := fixtures.Spec{Instances: 3, Traces: 150, PerCommit: 1, LineageEvery: 3, Bare: true}
	s, err := fixtures.Hive(src, sp)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	layouts, err := fixtures.MakeLayouts(src, filepath.Join(dir, "layouts"))
	if err != nil {
		t.Fatal(err)
	}
	g := fixtures.NewGenerator(sp)
	child, err := g.ID(sp.Traces - 1) // derives from an earlier trace (LineageEvery 3)
	if err != nil {
		t.Fatal(err)
	}
	if g.Parent(sp.Traces-1) < 0 {
		t.Fatalf("trace %d has no lineage parent", sp.Traces-1)
	}
	first, _ := g.ID(0)
	tr, err := g.Trace(7)
	if err != nil {
		t.Fatal(err)
	}
	intent := strings.TrimSuffix(tr.Intent, " (task 7)")
	commands := [][]string{
		{"verify", "--full", "--json"},
		{"verify", "--base", "main~120", "--head", "main", "--json"},
		{"verify", "--base", "main~101", "--head", "main~100", "--json"},
		{"show", string(first), "--json"},
		{"lineage", string(child), "--json"},
		{"lineage", string(first), "--format", "dot"},
		{"reputation", "--json"},
		{"instances", "--json"},
		{"search", intent, "--json"},
	}
	answers := func(repo string) []string {
		var out []string
		for _, args := range commands {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"hive", "--repo", repo}, args...), strings.NewReader(""), &stdout, &stderr)
			out = append(out, strings.Join(args, " ")+"\nexit "+itoa(code)+"\n"+stdout.String()+stderr.String())
		}
		return out
	}
	loose := layouts["loose"]
	want := answers(loose)
	for _, a := range want {
		if !strings.Contains(a, "exit 0\n") {
			t.Fatalf("on the loose hive, hive %s", a)
		}
	}
	// Pulls into copies of the hive 30 commits behind.
	behind := func(name string) string {
		d := filepath.Join(dir, "behind-"+name)
		if err := os.CopyFS(d, os.DirFS(loose)); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(filepath.Join(d, "hive"))
		if _, err := fixtures.Git(d, nil, "update-ref", "refs/heads/main", "main~30"); err != nil {
			t.Fatal(err)
		}
		return d
	}
	pull := func(from, into string) string {
		var stdout, stderr bytes.Buffer
		code := run([]string{"hive", "--repo", into, "pull", from, "--json"}, strings.NewReader(""), &stdout, &stderr)
		head, _ := fixtures.Git(into, nil, "rev-parse", "main")
		// The remote's name and URL differ from one source to the next.
		out := regexp.MustCompile(`"(name|url|remote)": "[^"]*"`).ReplaceAllString(stdout.String(), `"$1": ""`)
		return "exit " + itoa(code) + "\n" + out + stderr.String() + "main " + head
	}
	wantPull := pull(loose, behind("loose"))
	if !strings.HasPrefix(wantPull, "exit 0\n") {
		t.Fatalf("pull from the loose hive: %s", wantPull)
	}
	for _, l := range fixtures.Layouts {
		if l == "loose" {
			continue
		}
		t.Run(l, func(t *testing.T) {
			got := answers(layouts[l])
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("hive %s\ndiffers from the loose hive's:\n%s", got[i], want[i])
				}
			}
			if got := pull(layouts[l], behind(l)); got != wantPull {
				t.Errorf("pull from %s:\n%s\nwant, as from the loose hive:\n%s", l, got, wantPull)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
