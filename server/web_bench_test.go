package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/server"
)

// BenchmarkWebPages times each page kind on a hive of $HIVE_WEB_BENCH_N
// skills (default 1000; `make bench` runs 100000), warm: after one request
// of each page built the catalog of main. It reports the median, 99th
// percentile and slowest of 50 requests a page, through the server's
// handler (no network). The hive is the one fixtures/cmd/hive-scale builds
// and keeps in .bench/hives (built here when missing).
func BenchmarkWebPages(b *testing.B) {
	n := 1000
	if v := os.Getenv("HIVE_WEB_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := benchHive(b, n)
	t0 := time.Now()
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false"})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	h := srv.Handler()
	b.Logf("N=%d: server started in %s", n, time.Since(t0).Round(time.Millisecond))
	s, err := registry.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := s.TraceIDs()
	s.Close()
	if err != nil {
		b.Fatal(err)
	}
	skill := string(ids[len(ids)/2])
	pages := []struct{ name, path string }{
		{"home", "/"},
		{"home-last-page", fmt.Sprintf("/?page=%d", (n+49)/50)},
		{"search", "/?q=rotate+the+logs+of+the+scheduler"},
		{"search-filtered", "/?q=rotate+the+logs&instance=instance_1&min_confidence=0.95"},
		{"vouched-only", "/?vouched=1"},
		{"skill", "/web/skills/" + skill},
		{"instance", "/web/instances/instance_2"},
		{"instances", "/web/instances"},
		{"disputes", "/web/disputes"},
		{"hive", "/web/hive"},
	}
	serve := func(path string) time.Duration {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Accept", "text/html")
		w := httptest.NewRecorder()
		t := time.Now()
		h.ServeHTTP(w, req)
		d := time.Since(t)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s = %d", path, w.Code)
		}
		return d
	}
	t0 = time.Now()
	for _, p := range pages {
		serve(p.path) // warm: the catalog, the index, the reputations
	}
	b.Logf("N=%d: first request of each page (the catalog built) in %s", n, time.Since(t0).Round(time.Millisecond))
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			const reps = 50
			var ds []time.Duration
			for b.Loop() {
				ds = ds[:0]
				for range reps {
					ds = append(ds, serve(p.path))
				}
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, "max-ms")
		})
	}
}

// benchHive returns the fixture hive of n traces that hive-scale builds
// (the same Spec and folder), building it when missing.
func benchHive(b *testing.B, n int) string {
	sp := fixtures.Spec{Instances: 4, Traces: n, PerCommit: max(1, n/100), LineageEvery: 10, Bare: true}
	key := fmt.Sprintf("n%d-pc%d-i%d-l%d-bare-%s", n, sp.PerCommit, sp.Instances, sp.LineageEvery, fixtures.Version)
	dir, err := filepath.Abs(filepath.Join("..", ".bench", "hives", key))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	b.Logf("building a hive of %d traces in %s", n, dir)
	tmp := dir + ".web-tmp"
	os.RemoveAll(tmp)
	s, err := fixtures.Hive(tmp, sp)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		b.Fatal(err)
	}
	return dir
}
