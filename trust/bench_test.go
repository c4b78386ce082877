package trust_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/trust"
)

// benchSpec: 10,000 traces of 8 instances on disk; each instance then
// reports success on 50 traces of the next one (400 outcomes).
var benchSpec = fixtures.Spec{Instances: 8, Traces: 10000, PerCommit: 100, Bare: true}

// template is the benchmarks' hive, made once and copied for each.
var template struct {
	once sync.Once
	dir  string
	err  error
}

func benchHive(b *testing.B) (*registry.Store, string) {
	b.Helper()
	template.once.Do(func() {
		if template.dir, template.err = os.MkdirTemp("", "hive-trust-bench-"); template.err == nil {
			template.err = makeBenchHive(filepath.Join(template.dir, "hive"))
		}
	})
	if template.err != nil {
		b.Fatal(template.err)
	}
	dir := filepath.Join(b.TempDir(), "hive")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(template.dir, "hive"))); err != nil {
		b.Fatal(err)
	}
	s, err := registry.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, filepath.Join(dir, "hive", "trust", "ledger")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if template.dir != "" {
		os.RemoveAll(template.dir)
	}
	os.Exit(code)
}

// makeBenchHive builds benchSpec's hive at dir, with its outcomes.
func makeBenchHive(dir string) error {
	s, err := fixtures.Hive(dir, benchSpec)
	if err != nil {
		return err
	}
	defer s.Close()
	ids, err := s.TraceIDs()
	if err != nil {
		return err
	}
	names := benchSpec.Names()
	next := map[string]string{}
	for i, n := range names {
		next[n] = names[(i+1)%len(names)]
	}
	done := map[string]int{}
	for _, id := range ids {
		e, err := s.Trace(id)
		if err != nil {
			return err
		}
		author := e.Trace.InstanceID
		reporter := next[author]
		if done[reporter] == 50 {
			continue
		}
		done[reporter]++
		if _, err := s.ReportOutcome(id, true, "", reporter, fixtures.Key(reporter)); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkReputationRebuild computes the table of a 10,000-trace hive
// from nothing: what the first `hive reputation` of a clone does.
func BenchmarkReputationRebuild(b *testing.B) {
	s, ledger := benchHive(b)
	for b.Loop() {
		os.Remove(ledger)
		if _, err := trust.Reputation(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReputationCached reads the table of main from the ledger:
// `hive reputation` and GET /instances when main has not moved.
func BenchmarkReputationCached(b *testing.B) {
	s, _ := benchHive(b)
	if _, err := trust.Reputation(s); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := trust.Reputation(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReputationAfterAdd brings the ledger up to date after one new
// trace and one new outcome: `hive reputation` after a pull.
func BenchmarkReputationAfterAdd(b *testing.B) {
	s, _ := benchHive(b)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if _, err := trust.Reputation(s); err != nil {
			b.Fatal(err)
		}
		t := fixtures.Trace("instance_0", benchSpec.Traces+i)
		data, err := t.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Add([]registry.Input{{Name: "t", Data: data}}, fixtures.KeyFunc("instance_0")); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ReportOutcome(schema.Digest(data), true, "", "instance_1", fixtures.Key("instance_1")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := trust.Reputation(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddNearDuplicates measures what `hive add` does after its
// commit to warn about near duplicates (bring the search index up to
// date, rank candidates, compare words), beside the add itself.
func BenchmarkAddNearDuplicates(b *testing.B) {
	s, _ := benchHive(b)
	if _, err := search.OpenIndex(s); err != nil {
		b.Fatal(err)
	}
	var add, index, warn time.Duration
	for i := 0; b.Loop(); i++ {
		data, err := fixtures.Trace("instance_0", benchSpec.Traces+i).Marshal()
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		added, err := s.Add([]registry.Input{{Name: "t", Data: data}}, fixtures.KeyFunc("instance_0"))
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		ix, err := search.OpenIndex(s)
		t2 := time.Now()
		if err == nil {
			_, err = trust.NearDuplicates(s, ix, []schema.ID{added[0].ID})
		}
		if err != nil {
			b.Fatal(err)
		}
		add, index, warn = add+t1.Sub(t0), index+t2.Sub(t1), warn+time.Since(t2)
	}
	b.ReportMetric(float64(add.Microseconds())/float64(b.N), "add-µs/op")
	b.ReportMetric(float64(index.Microseconds())/float64(b.N), "index-µs/op")
	b.ReportMetric(float64(warn.Microseconds())/float64(b.N), "compare-µs/op")
}
