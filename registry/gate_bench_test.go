package registry_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// BenchmarkGateRefs is the gate of one push of n submission branches
// hive/instance_0/i, branch i at commit i of a chain of n single-trace
// commits on top of main: the union of their new commits is checked once,
// so the cost per ref stays flat as n grows. "per-ref" checks each branch
// on its own, as the gate did before: n(n+1)/2 commit checks (run up to
// 250 refs).
func BenchmarkGateRefs(b *testing.B) {
	const chain = 500
	dir := filepath.Join(b.TempDir(), "hive")
	s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 1, Traces: chain, PerCommit: 1, Bare: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	commits := firstParents(b, dir, chain+1) // newest first; the last is main before the chain
	main := commits[chain]
	w := &registry.Writer{Instance: fixtures.Instance(0)}
	for _, n := range []int{100, 250, 500} {
		updates := make([]registry.Update, n)
		for i := range n {
			updates[i] = registry.Update{New: commits[chain-1-i], Ref: plumbing.ReferenceName(fmt.Sprintf("%sinstance_0/%d", registry.SubmitPrefix, i))}
		}
		b.Run(fmt.Sprintf("union/refs=%d", n), func(b *testing.B) {
			for b.Loop() {
				gate(b, s, updates, main, w, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/ref")
			b.ReportMetric(float64(n), "commits/op")
		})
		if n < chain { // at 500, 125,250 checks: half a minute a run
			b.Run(fmt.Sprintf("per-ref/refs=%d", n), func(b *testing.B) {
				for b.Loop() {
					checked := 0
					for _, u := range updates {
						checked += gate(b, s, []registry.Update{u}, main, w, -1)
					}
					if checked != n*(n+1)/2 {
						b.Fatalf("per-ref gate checked %d commits, want %d", checked, n*(n+1)/2)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/ref")
				b.ReportMetric(float64(n*(n+1)/2), "commits/op")
			})
		}
	}
}

// gate runs CheckUpdates and returns the commits it checked, which must be
// want unless want < 0.
func gate(b *testing.B, s *registry.Store, updates []registry.Update, main plumbing.Hash, w *registry.Writer, want int) int {
	r, err := s.CheckUpdates(updates, main, w)
	if err != nil || r.Err() != nil {
		b.Fatalf("CheckUpdates = %v, %v", r.Err(), err)
	}
	if want >= 0 && r.Commits != want {
		b.Fatalf("CheckUpdates of %d refs checked %d commits, want %d", len(updates), r.Commits, want)
	}
	return r.Commits
}

// firstParents returns main and its first n-1 first-parent ancestors,
// newest first.
func firstParents(b *testing.B, dir string, n int) []plumbing.Hash {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		b.Fatal(err)
	}
	ref, err := repo.Reference(registry.Branch, true)
	if err != nil {
		b.Fatal(err)
	}
	out := []plumbing.Hash{ref.Hash()}
	for len(out) < n {
		c, err := repo.CommitObject(out[len(out)-1])
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, c.ParentHashes[0])
	}
	return out
}
