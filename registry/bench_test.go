package registry_test

import (
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// benchSpec is the hive of the benchmarks: 1,000 traces of 4 instances, one
// in ten derived from an earlier trace, 10 traces a commit. The scale run
// (go run ./fixtures/cmd/hive-scale) measures larger hives through the
// real binary.
var benchSpec = fixtures.Spec{Instances: 4, Traces: 1000, PerCommit: 10, LineageEvery: 10, Bare: true}

func benchHive(b *testing.B) *registry.Store {
	b.Helper()
	s, err := fixtures.Hive(filepath.Join(b.TempDir(), "hive"), benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func verify(b *testing.B, s *registry.Store, head plumbing.Hash, o registry.VerifyOptions, traces int) {
	r, err := s.Verify(head, o)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Err(); err != nil || r.Traces != traces || r.Cached {
		b.Fatalf("Verify = %d traces, cached %v, %v; want %d traces checked, valid", r.Traces, r.Cached, err, traces)
	}
}

// BenchmarkVerifyFull verifies a 1,000-trace hive on disk from its root,
// ignoring the record of verified tips: `hive verify --full`.
func BenchmarkVerifyFull(b *testing.B) {
	s := benchHive(b)
	head, err := s.Head()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		verify(b, s, head, registry.VerifyOptions{Full: true}, benchSpec.Traces)
	}
	b.ReportMetric(float64(benchSpec.Traces*b.N)/b.Elapsed().Seconds(), "traces/s")
}

// BenchmarkVerifyRange verifies one single-trace commit on top of a
// 1,000-trace hive: the gate of `hive pull` or a pull request.
func BenchmarkVerifyRange(b *testing.B) {
	s := benchHive(b)
	base, err := s.Head()
	if err != nil {
		b.Fatal(err)
	}
	in, err := fixtures.NewGenerator(benchSpec).Inputs(benchSpec.Traces, benchSpec.Traces+1)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Add(in, benchSpec.KeyFunc()); err != nil {
		b.Fatal(err)
	}
	head, err := s.Head()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		// Full: the range is on record since Add verified it.
		verify(b, s, head, registry.VerifyOptions{Base: base, Full: true}, 1)
	}
}

// BenchmarkAdd adds one trace (one commit, made durable) per op to a hive
// of 1,000 traces on disk: the library call of `hive add`.
func BenchmarkAdd(b *testing.B) {
	s := benchHive(b)
	g := fixtures.NewGenerator(benchSpec)
	keys := benchSpec.KeyFunc()
	i := benchSpec.Traces
	for b.Loop() {
		in, err := g.Inputs(i, i+1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Add(in, keys); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
