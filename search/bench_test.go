package search

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// The benchmarks build fixture hives on disk (4 instances, every 10th trace
// derived, 1,000 traces a commit), once per process:
//
//	go test -run '^$' -bench . -benchtime 1x ./search                      # 10k
//	HIVE_BENCH_100K=1 go test -run '^$' -bench . -benchtime 1x -timeout 60m ./search   # and 100k
//
// Building the 100k hive itself takes minutes (signing and writing), so it
// runs only when HIVE_BENCH_100K=1.

var benchHives = map[int]*registry.Store{}

func benchHive(b *testing.B, n int) *registry.Store {
	if n > 10000 && os.Getenv("HIVE_BENCH_100K") != "1" {
		b.Skip("set HIVE_BENCH_100K=1 to build a 100k hive (minutes)")
	}
	if s, ok := benchHives[n]; ok {
		return s
	}
	dir, err := os.MkdirTemp("", "hive-bench-")
	if err != nil {
		b.Fatal(err)
	}
	s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 4, Traces: n, PerCommit: 1000, LineageEvery: 10, Bare: true})
	if err != nil {
		b.Fatal(err)
	}
	benchHives[n] = s
	return s
}

var taskSuffix = regexp.MustCompile(` \(task \d+\)$`)

// benchQueries are intents of the hive's own word lists, as an agent would
// ask them: every word is common, so postings are long.
func benchQueries(n int) []string {
	var qs []string
	for i := range n {
		t := fixtures.Trace(fixtures.Instance(i%4), 1_000_000+i)
		qs = append(qs, taskSuffix.ReplaceAllString(t.Intent, ""))
	}
	return qs
}

func BenchmarkIndexBuild(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := benchHive(b, n)
			head, _ := s.Head()
			b.ResetTimer()
			for range b.N {
				ix, err := Build(s, head)
				if err != nil {
					b.Fatal(err)
				}
				if ix.Len() != n {
					b.Fatalf("index of %d skills, want %d", ix.Len(), n)
				}
			}
		})
	}
}

// BenchmarkOpenIndex is the cost of a command that opens an up-to-date
// index from its file.
func BenchmarkOpenIndex(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := benchHive(b, n)
			if _, err := OpenIndex(s); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := OpenIndex(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSearch reports the latency of one warm query: p50 and p99 over
// 500 queries a round, and the mean as ns/op.
func BenchmarkSearch(b *testing.B) {
	qs := benchQueries(500)
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := benchHive(b, n)
			ix, err := OpenIndex(s)
			if err != nil {
				b.Fatal(err)
			}
			for _, q := range qs[:20] { // warm
				ix.Search(Query{Text: q, Threshold: DefaultThreshold, Limit: 20})
			}
			var lat []time.Duration
			hits := 0
			b.ResetTimer()
			for i := range b.N {
				for _, q := range qs {
					t0 := time.Now()
					rs := ix.Search(Query{Text: q, Threshold: DefaultThreshold, Limit: 20})
					lat = append(lat, time.Since(t0))
					if i == 0 {
						hits += len(rs)
					}
				}
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(hits)/float64(len(qs)), "results/query")
			b.ReportMetric(0, "ns/op")
		})
	}
}
