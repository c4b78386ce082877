package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/server"
)

// TestClientGone: a read whose client has gone away stops (the history
// walks of reputation and of a skill's commit end with the request's
// context) and is neither answered nor logged as a failure.
func TestClientGone(t *testing.T) {
	dir := t.TempDir()
	s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 2, Traces: 30})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.TraceIDs()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false", Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range []string{"/instances", "/instances/instance_0", "/skills/" + string(ids[0])} {
		t.Run(path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil).WithContext(gone))
			if rec.Body.Len() > 0 {
				t.Errorf("GET %s for a client that went away answered %d %s", path, rec.Code, rec.Body)
			}
			// The same request from a client still there is answered.
			rec = httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != 200 {
				t.Errorf("GET %s = %d %s, want 200", path, rec.Code, rec.Body)
			}
		})
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("requests of clients that went away were logged as failures:\n%s", logs.String())
	}
}
