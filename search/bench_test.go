package search

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
)

// The benchmarks build fixture hives on disk (4 instances, every 10th trace
// derived, 1,000 traces a commit, and a last commit of one trace), once per
// process, or once per HIVE_BENCH_DIR where that is set (make bench keeps
// them in .bench/search):
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
	sp := fixtures.Spec{Instances: 4, Traces: n - 1, PerCommit: 1000, LineageEvery: 10, Bare: true}
	var dir string
	if root := os.Getenv("HIVE_BENCH_DIR"); root != "" {
		dir = filepath.Join(root, fmt.Sprintf("search-n%d-%s", n, fixtures.Version))
		if _, err := os.Stat(dir); err == nil {
			s, err := registry.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			benchHives[n] = s
			return s
		}
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "hive-bench-"); err != nil {
			b.Fatal(err)
		}
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	s, err := fixtures.Hive(tmp, sp)
	if err != nil {
		b.Fatal(err)
	}
	// The last commit adds one trace: what an incremental update reads.
	in, err := fixtures.NewGenerator(sp).Inputs(n-1, n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddBatch(in, sp.KeyFunc(), 1); err != nil {
		b.Fatal(err)
	}
	s.Close()
	if err := os.Rename(tmp, dir); err != nil {
		b.Fatal(err)
	}
	if s, err = registry.Open(dir); err != nil {
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

var benchSizes = []int{10000, 100000}

// BenchmarkIndexBuild is the full build: every trace read, checked and
// analysed. It reports the index's memory (the heap it holds).
func BenchmarkIndexBuild(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := benchHive(b, n)
			head, _ := s.Head()
			var ms0, ms1 runtime.MemStats
			var ix *Index
			b.ResetTimer()
			for range b.N {
				ix = nil
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				var err error
				if ix, err = Build(s, head); err != nil {
					b.Fatal(err)
				}
				if ix.Len() != n {
					b.Fatalf("index of %d skills, want %d", ix.Len(), n)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))/(1<<20), "index-MB")
			runtime.KeepAlive(ix)
		})
	}
}

// BenchmarkOpenIndex is the cost of a command that opens an up-to-date
// index from its file. It reports the memory the opened index holds.
func BenchmarkOpenIndex(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := benchHive(b, n)
			if _, err := OpenIndex(s); err != nil {
				b.Fatal(err)
			}
			var ms0, ms1 runtime.MemStats
			var ix *Index
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				ix = nil
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				b.StartTimer()
				var err error
				if ix, err = OpenIndex(s); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))/(1<<20), "index-MB")
			runtime.KeepAlive(ix)
		})
	}
}

// BenchmarkIndexUpdate is OpenIndex after one add: the index file is of
// main's parent; it is read, updated with the one trace the last commit
// added, and the update written (as a delta beside the file); then the
// same OpenIndex with nothing to update; then Update of an index held in
// memory, as the server does it.
func BenchmarkIndexUpdate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := benchHive(b, n)
			head, _ := s.Head()
			c, err := object.GetCommit(s.Storer(), head)
			if err != nil || c.NumParents() != 1 {
				b.Fatalf("head commit: %v", err)
			}
			parent, err := Build(s, c.ParentHashes[0])
			if err != nil {
				b.Fatal(err)
			}
			path := indexFile(s)
			var total, open time.Duration
			for range b.N {
				if err := parent.writeFile(path); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				ix, err := OpenIndex(s)
				total += time.Since(t0)
				if err != nil || ix.Commit() != head || ix.Len() != n {
					b.Fatalf("updated index: %v, %v", ix, err)
				}
				// The same command once the update is written (the file
				// and its delta): what every command pays to open the
				// index, so that the difference is the update's.
				t0 = time.Now()
				if _, err := OpenIndex(s); err != nil {
					b.Fatal(err)
				}
				open += time.Since(t0)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "file-update-ms")
			b.ReportMetric(float64(open.Microseconds())/1000/float64(b.N), "file-open-ms")
			// The same update on an index held in memory, as the server
			// does it (Update: the old index stays searchable).
			var mem time.Duration
			for range b.N {
				cur, err := decodeIndexBytes(parent)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				next, err := cur.Update(s, head)
				if err != nil || next.Len() != n {
					b.Fatalf("updated index: %v, %v", next, err)
				}
				mem += time.Since(t0)
			}
			b.ReportMetric(float64(mem.Microseconds())/1000/float64(b.N), "memory-update-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkSearch reports the latency of one warm query: p50 and p99 over
// 500 queries a round, and the mean as ns/op.
func BenchmarkSearch(b *testing.B) {
	qs := benchQueries(500)
	for _, n := range benchSizes {
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

// decodeIndexBytes is a fresh copy of ix, through its file encoding.
func decodeIndexBytes(ix *Index) (*Index, error) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("hive-bench-%d.idx", os.Getpid()))
	defer os.Remove(path)
	if err := ix.writeFile(path); err != nil {
		return nil, err
	}
	return readIndexFile(path)
}
