package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/odb"
	"github.com/hive-dev/hive/server"
)

// TestServerSharesOneStore: a packed hive served to many concurrent
// readers is mapped once (the server went from 0 to 146 mappings
// after 900 GET /instances), and Close unmaps it and waits for the index
// build it started.
func TestServerSharesOneStore(t *testing.T) {
	if _, err := fixtures.Git("", nil, "--version"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 2, Traces: 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := fixtures.Git(dir, nil, "gc", "-q"); err != nil {
		t.Fatal(err)
	}
	before := odb.Mappings()
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false", Limits: unlimited})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				for _, path := range []string{"/instances", "/skills?limit=5", "/healthz"} {
					resp, err := http.Get(ts.URL + path)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("GET %s = %d", path, resp.StatusCode)
					}
				}
			}
		}()
	}
	wg.Wait()
	if got := odb.Mappings() - before; got > 2 {
		t.Errorf("after 960 concurrent requests, %d files mapped, want one pack and its index", got)
	}
	ts.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if got := odb.Mappings() - before; got != 0 {
		t.Errorf("after Close, %d files still mapped", got)
	}
}

// TestHealthzUnwritable: /healthz says when the hive cannot be written,
// where POST /skills would fail.
func TestHealthzUnwritable(t *testing.T) {
	h := newHive(t, 3)
	// A file where the object folder goes: no new object could be written
	// (permissions would not do: the tests may run as root).
	objects := filepath.Join(h.dir, ".git", "objects")
	if err := os.Rename(objects, objects+".away"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		os.Remove(objects)
		os.Rename(objects+".away", objects)
	}()
	if err := os.WriteFile(objects, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(h.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "unwritable") {
		t.Errorf("GET /healthz = %d %s, want 503 unwritable", resp.StatusCode, b)
	}
}
