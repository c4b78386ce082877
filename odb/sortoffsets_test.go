package odb

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortOffsets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func(n int, bound uint64) []uint64 {
		s := make([]uint64, n)
		for i := range s {
			s[i] = r.Uint64N(bound)
		}
		return s
	}
	ascending := make([]uint64, 5000)
	for i := range ascending {
		ascending[i] = uint64(12 + 97*i)
	}
	descending := slices.Clone(ascending)
	slices.Reverse(descending)
	for _, tc := range []struct {
		name string
		offs []uint64
	}{
		{"none", nil},
		{"one", []uint64{12}},
		{"few, below the radix sort", random(100, 1<<20)},
		{"a pack under 4 GiB", random(300_000, 160<<20)},
		{"offsets past 4 GiB", random(10_000, 1<<40)},
		{"every bit", random(10_000, 1<<63)},
		{"all equal", slices.Repeat([]uint64{1 << 33}, 5000)},
		{"ascending", ascending},
		{"descending", descending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := slices.Clone(tc.offs)
			slices.Sort(want)
			got := slices.Clone(tc.offs)
			sortOffsets(got)
			if !slices.Equal(got, want) {
				t.Fatalf("sortOffsets gave a different order than slices.Sort (%d offsets)", len(got))
			}
		})
	}
}

// BenchmarkSortOffsets sorts the offsets of a pack of a 100k-trace hive
// (300k objects in 160 MB), as a pack does once when it is first read.
func BenchmarkSortOffsets(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	offs := make([]uint64, 300_000)
	for i := range offs {
		offs[i] = r.Uint64N(160 << 20)
	}
	work := make([]uint64, len(offs))
	for _, bc := range []struct {
		name string
		sort func([]uint64)
	}{{"radix", sortOffsets}, {"slices.Sort", slices.Sort[[]uint64]}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				copy(work, offs)
				bc.sort(work)
			}
		})
	}
}
