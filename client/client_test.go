package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/server"
	"github.com/hive-dev/hive/signing"
)

// serve starts hive serve on a hive where instance_a has key k.
func serve(t *testing.T, k *signing.PrivateKey) http.Handler {
	t.Helper()
	dir := t.TempDir()
	st, err := registry.Init(dir, registry.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddKey("instance_a", k.Public().MarshalPEM()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Add([]registry.Input{{Name: "seed", Data: fixtures.Seed()}}, func(string) (*signing.PrivateKey, error) { return k, nil }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Handler()
}

// switchable serves whichever handler it holds.
type switchable struct{ h atomic.Value }

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.Load().(http.Handler).ServeHTTP(w, r)
}

var seedID = schema.Digest(mustCanon(fixtures.Seed()))

func mustCanon(b []byte) []byte {
	c, err := schema.Canonical(b)
	if err != nil {
		panic(err)
	}
	return c
}

func TestPublishGetAndPin(t *testing.T) {
	k := fixtures.Key("instance_a")
	ts := httptest.NewServer(serve(t, k))
	defer ts.Close()
	known := filepath.Join(t.TempDir(), "known_keys")
	c := client.New(ts.URL)
	c.Known = &client.KnownKeys{Path: known}
	ctx := context.Background()

	sk, err := c.Get(ctx, seedID)
	if err != nil || !sk.Key.Equal(k.Public()) || sk.Trace.InstanceID != "instance_a" {
		t.Fatalf("Get = %+v, %v", sk, err)
	}
	b, _ := os.ReadFile(known)
	if want := ts.URL + " instance_a ed25519 " + k.Public().Fingerprint() + "\n"; string(b) != want {
		t.Errorf("known keys = %q, want %q", b, want)
	}

	draft := `{"intent":"Rotate a password","reasoning_path":[{"step":1,"action":"rotate"}],"result":"ok","confidence":0.95,"verification_score":0.96,"lineage":["` + string(seedID) + `"],"created_at":"2026-01-01T00:00:00Z","instance_id":"instance_a"}`
	p, err := c.Publish(ctx, []byte(draft), k)
	if err != nil || p.TraceID != schema.Digest(mustCanon([]byte(draft))) || len(p.Commit) != 40 {
		t.Fatalf("Publish = %+v, %v", p, err)
	}
	ms, err := c.Search(ctx, "rotate a password", client.SearchOptions{})
	if err != nil || len(ms) == 0 || ms[0].ID != p.TraceID || ms[0].Skill == nil || ms[0].Skill.Trace.Result != "ok" {
		t.Fatalf("Search = %+v, %v", ms, err)
	}
	var e *client.Error
	if _, err := c.Publish(ctx, []byte(draft), k); !errors.As(err, &e) || e.Status != http.StatusConflict {
		t.Errorf("Publish again = %v, want 409", err)
	}
	other := strings.Replace(draft, "Rotate a password", "Rotate a password twice", 1)
	if _, err := c.Publish(ctx, []byte(other), fixtures.Key("instance_b")); !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "sig-invalid") {
		t.Errorf("Publish signed by another key = %v, want 400 sig-invalid", err)
	}
	bad := strings.Replace(draft, "0.95", "1.5", 1)
	if _, err := c.Publish(ctx, []byte(bad), k); err == nil || !strings.Contains(err.Error(), "trace-schema") || errors.As(err, &e) {
		t.Errorf("Publish of an invalid trace = %v, want a local trace-schema error", err)
	}
}

// TestKeyChanged: the same server later presenting another key for an
// instance is refused, by a new client too, until the pin is removed.
func TestKeyChanged(t *testing.T) {
	sw := &switchable{}
	sw.h.Store(serve(t, fixtures.Key("instance_a")))
	ts := httptest.NewServer(sw)
	defer ts.Close()
	known := filepath.Join(t.TempDir(), "known_keys")
	get := func() error {
		c := client.New(ts.URL)
		c.Known = &client.KnownKeys{Path: known}
		_, err := c.Get(context.Background(), seedID)
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	evil := fixtures.Key("mallory")
	sw.h.Store(serve(t, evil))
	err := get()
	if !errors.Is(err, client.ErrKeyChanged) || !strings.Contains(err.Error(), known+" line 1") || !strings.Contains(err.Error(), evil.Public().Fingerprint()) {
		t.Fatalf("Get after the key changed = %v, want ErrKeyChanged naming the pin", err)
	}
	if err := get(); !errors.Is(err, client.ErrKeyChanged) {
		t.Errorf("again: %v", err)
	}
	if err := os.WriteFile(known, []byte("# emptied by the user\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil {
		t.Errorf("after the pin was removed: %v", err)
	}
}

// fake serves one skill and one instance key as a lying server would.
func fake(t *testing.T, trace, bundle []byte, pub *signing.PublicKey, fingerprint string) *httptest.Server {
	id := schema.Digest(trace)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /skills/{id}", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"trace_id": id, "trace": json.RawMessage(trace), "signature": json.RawMessage(bundle)})
	})
	mux.HandleFunc("GET /skills", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"skills": []map[string]any{{"id": id, "intent": "Refactor auth to use env vars", "instance_id": "instance_a", "score": 1}}})
	})
	mux.HandleFunc("GET /instances/{id}", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"instance_id": "instance_a", "fingerprint": fingerprint, "public_key": string(pub.MarshalPEM())})
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func TestForgeries(t *testing.T) {
	seed := mustCanon(fixtures.Seed())
	good, _ := signing.Sign(fixtures.Key("instance_a"), seed)
	byOther, _ := signing.Sign(fixtures.Key("mallory"), seed)
	pubA, pubM := fixtures.Key("instance_a").Public(), fixtures.Key("mallory").Public()
	tests := []struct {
		name   string
		trace  []byte
		bundle []byte
		pub    *signing.PublicKey
		fp     string
		want   string
	}{
		{"honest", seed, good, pubA, pubA.Fingerprint(), ""},
		{"signed by another key", seed, byOther, pubA, pubA.Fingerprint(), "signature of instance instance_a"},
		{"a fingerprint not the key's", seed, good, pubA, pubM.Fingerprint(), "is not its key's"},
		{"a bundle that is not one", seed, []byte(`{"mediaType":"x"}`), pubA, pubA.Fingerprint(), "signature of instance instance_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := fake(t, tt.trace, tt.bundle, tt.pub, tt.fp)
			c := client.New(ts.URL)
			c.Known = &client.KnownKeys{} // in memory
			ctx := context.Background()
			_, err := c.Get(ctx, seedID)
			_, serr := c.Search(ctx, "auth", client.SearchOptions{})
			_, rerr := c.Resolve(ctx, "auth", client.SearchOptions{})
			_, suberr := c.Subscribe(ctx, "auth", client.SearchOptions{})
			for what, err := range map[string]error{"Get": err, "Search": serr, "Resolve": rerr, "Subscribe": suberr} {
				if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
					t.Errorf("%s = %v, want %q", what, err, tt.want)
				}
			}
		})
	}
}

func TestKnownKeysFile(t *testing.T) {
	pub := fixtures.Key("instance_a").Public()
	for _, body := range []string{"garbage\n", "http://x instance_a rsa " + pub.Fingerprint() + "\n", "http://x instance_a ed25519 abc\n"} {
		p := filepath.Join(t.TempDir(), "known_keys")
		os.WriteFile(p, []byte("# comment\n\n"+body), 0o600)
		k := &client.KnownKeys{Path: p}
		if err := k.Check("http://x", "instance_a", pub); err == nil || !strings.Contains(err.Error(), p+" line 3") {
			t.Errorf("Check with %q = %v, want an error naming line 3", body, err)
		}
	}
	p := filepath.Join(t.TempDir(), "sub", "known_keys")
	k := &client.KnownKeys{Path: p}
	for _, srv := range []string{"http://a", "http://a/", "http://b"} {
		if err := k.Check(srv, "instance_a", pub); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(p)
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Errorf("known keys:\n%s\nwant one line per server", b)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("known keys mode %v, %v", fi.Mode(), err)
	}
}
