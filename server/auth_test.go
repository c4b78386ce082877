package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/server"
	"github.com/hive-dev/hive/tokens"
)

// request is one request of an access table and the answer it must get.
type request struct {
	name   string
	method string
	path   string
	auth   string // the Authorization header
	body   []byte
	want   int
	code   string // in the error's JSON, or the git answer's text
}

func (h *hive) do(t *testing.T, rq request) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(rq.method, h.url+rq.path, bytes.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	if rq.auth != "" {
		req.Header.Set("Authorization", rq.auth)
	}
	if strings.HasSuffix(rq.path, "-pack") {
		req.Header.Set("Content-Type", "application/x"+rq.path[strings.LastIndex(rq.path, "/"):]+"-request")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func check(t *testing.T, h *hive, rqs []request) {
	t.Helper()
	for _, rq := range rqs {
		resp, body := h.do(t, rq)
		if resp.StatusCode != rq.want || !strings.Contains(body, rq.code) {
			t.Errorf("%s: %s %s = %d %.200s, want %d with %q", rq.name, rq.method, rq.path, resp.StatusCode, body, rq.want, rq.code)
		}
		if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", rq.name)
		}
	}
}

func basic(secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("git:"+secret))
}

// TestAccessWithoutTokens: a server with no token is read-only for git;
// a validly signed skill of a registered instance may still be posted.
func TestAccessWithoutTokens(t *testing.T) {
	h := newHiveWith(t, 4, server.Options{HiveBinary: "/bin/false", Limits: unlimited, Tokens: tokens.Open(filepath.Join(t.TempDir(), "state"))})
	env, _ := h.envelope(t, 4)
	check(t, h, []request{
		{"push advertisement", "GET", "/info/refs?service=git-receive-pack", "", nil, 403, "read-only for git"},
		{"push", "POST", "/git-receive-pack", "", []byte("0000"), 403, "read-only for git until its operator gives you one (hive serve token add --instance NAME)"},
		{"push under /hive.git", "POST", "/hive.git/git-receive-pack", "", []byte("0000"), 403, "read-only for git"},
		{"clone advertisement", "GET", "/info/refs?service=git-upload-pack", "", nil, 200, "git-upload-pack"},
		{"a signed skill, anonymously", "POST", "/skills", "", env, 201, "accepted"},
		{"a made-up token", "GET", "/skills", "Bearer hive_abc", nil, 401, "invalid_token"},
		{"list", "GET", "/skills", "", nil, 200, `"total":5`},
	})
}

// TestAccessWithTokens: once a token exists, writes need one, and a token
// writes only as its instance; an unknown, expired or revoked token is
// refused everywhere.
func TestAccessWithTokens(t *testing.T) {
	ts := tokens.Open(filepath.Join(t.TempDir(), "state"))
	i0, i1 := fixtures.Instance(0), fixtures.Instance(1)
	tok0, _, err := ts.Add(i0, tokens.Write, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tok1, _, _ := ts.Add(i1, tokens.Write, time.Time{})
	expired, _, _ := ts.Add(i0, tokens.Write, time.Now().Add(-time.Minute))
	notMaint, _, _ := ts.Add(i1, tokens.Maintainer, time.Time{}) // scope maintainer, but hive.json lists no maintainer
	revoked, rt, _ := ts.Add(i0, tokens.Write, time.Time{})
	if _, err := ts.Revoke(rt.ID); err != nil {
		t.Fatal(err)
	}
	h := newHiveWith(t, 4, server.Options{HiveBinary: "/bin/false", Limits: unlimited, Tokens: ts})
	skill0, _ := h.envelope(t, 4) // trace 4 is instance_0's
	skill0b, _ := h.envelope(t, 6)
	if tr, _ := h.gen.Trace(4); tr.InstanceID != i0 {
		t.Fatalf("trace 4 is %s's, want %s's", tr.InstanceID, i0)
	}
	// An outcome of trace 0, reported by the instance that did not write it.
	tr0, _ := h.gen.Trace(0)
	id0, _ := h.gen.ID(0)
	reporter, tokR, tokO := i1, tok1, tok0
	if tr0.InstanceID == i1 {
		reporter, tokR, tokO = i0, tok0, tok1
	}
	outcome := outcomeEnvelope(t, id0, reporter, reporter, true)
	outcomes := "/skills/" + string(id0) + "/outcomes"
	check(t, h, []request{
		{"anonymous outcome", "POST", outcomes, "", outcome, 401, "token_required"},
		{"the author's token posting the reporter's outcome", "POST", outcomes, "Bearer " + tokO, outcome, 403, "wrong_instance"},
		{"the reporter's token", "POST", outcomes, "Bearer " + tokR, outcome, 201, "accepted"},
		{"anonymous post", "POST", "/skills", "", skill0, 401, "token_required"},
		{"instance_1's token posting instance_0's skill", "POST", "/skills", "Bearer " + tok1, skill0, 403, "wrong_instance"},
		{"a maintainer-scope token of an instance hive.json does not list", "POST", "/skills", "Bearer " + notMaint, skill0, 403, "wrong_instance"},
		{"instance_0's token", "POST", "/skills", "bearer " + tok0, skill0, 201, "accepted"},
		{"instance_0's token by basic auth", "POST", "/skills", basic(tok0), skill0b, 201, "accepted"},
		{"expired token", "POST", "/skills", "Bearer " + expired, skill0, 401, "expired"},
		{"revoked token", "GET", "/skills", "Bearer " + revoked, nil, 401, "invalid_token"},
		{"no route, anonymously", "POST", "/nowhere", "", nil, 404, ""},
		{"another scheme", "GET", "/skills", "Token " + tok0, nil, 401, "invalid_token"},
		{"anonymous read", "GET", "/skills", "", nil, 200, `"total":6`},
		{"anonymous push", "GET", "/info/refs?service=git-receive-pack", "", nil, 401, "needs a token"},
		{"push with a bad token", "GET", "/info/refs?service=git-receive-pack", basic("hive_nope"), nil, 401, "not valid"},
		{"push advertisement with a token", "GET", "/info/refs?service=git-receive-pack", basic(tok0), nil, 200, "git-receive-pack"},
		{"clone, anonymously", "GET", "/hive.git/info/refs?service=git-upload-pack", "", nil, 200, "git-upload-pack"},
		{"health", "GET", "/healthz", "", nil, 200, "ok"},
	})
}

// TestPrivate: with Private, every route but /healthz needs a token; git
// and browsers are asked for basic auth.
func TestPrivate(t *testing.T) {
	ts := tokens.Open(filepath.Join(t.TempDir(), "state"))
	tok, _, _ := ts.Add(fixtures.Instance(0), tokens.Write, time.Time{})
	h := newHiveWith(t, 2, server.Options{HiveBinary: "/bin/false", Limits: unlimited, Tokens: ts, Private: true})
	check(t, h, []request{
		{"list", "GET", "/skills", "", nil, 401, "private"},
		{"web", "GET", "/", "", nil, 401, "private"},
		{"metrics", "GET", "/metrics", "", nil, 401, "private"},
		{"clone", "GET", "/info/refs?service=git-upload-pack", "", nil, 401, "private"},
		{"health", "GET", "/healthz", "", nil, 200, "ok"},
		{"list with a token", "GET", "/skills", "Bearer " + tok, nil, 200, `"total":2`},
		{"clone with a token", "GET", "/info/refs?service=git-upload-pack", basic(tok), nil, 200, "git-upload-pack"},
	})
	resp, _ := h.do(t, request{method: "GET", path: "/"})
	if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("a private web page asks for %q, want Basic", got)
	}
}

// TestRateLimits: writes and searches beyond their rate get 429 with
// Retry-After, per token or per address, and /metrics counts them.
func TestRateLimits(t *testing.T) {
	ts := tokens.Open(filepath.Join(t.TempDir(), "state"))
	h := newHiveWith(t, 8, server.Options{HiveBinary: "/bin/false", Tokens: ts, Limits: server.Limits{
		Writes: server.Rate{PerMinute: 1, Burst: 2}, Searches: server.Rate{PerMinute: 1, Burst: 3},
	}})
	for i := range 3 {
		resp, body := h.do(t, request{method: "GET", path: "/skills?intent=anything"})
		if resp.StatusCode != 200 {
			t.Fatalf("search %d within the burst = %d %s", i, resp.StatusCode, body)
		}
	}
	for _, path := range []string{"/skills?intent=anything", "/instances", "/instances/instance_0", "/?intent=x", "/?q=x"} {
		resp, body := h.do(t, request{method: "GET", path: path})
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "rate_limited") {
			t.Errorf("GET %s over the rate = %d (Retry-After %q) %s, want 429 with Retry-After", path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	check(t, h, []request{
		{"a cheap read is not limited", "GET", "/skills", "", nil, 200, "total"},
		{"nor is a skill", "GET", "/skills/" + "sha256:00", "", nil, 400, "invalid"},
	})
	// Writes: anonymous (no token yet), then a token has a bucket of its own.
	for i := range 3 {
		env, _ := h.envelope(t, 8+i)
		resp, body := h.do(t, request{method: "POST", path: "/skills", body: env})
		if want := map[bool]int{true: 201, false: 429}[i < 2]; resp.StatusCode != want {
			t.Errorf("anonymous post %d = %d %s, want %d", i, resp.StatusCode, body, want)
		}
	}
	tok, _, _ := ts.Add(fixtures.Instance(1), tokens.Write, time.Time{})
	env, _ := h.envelope(t, 11)
	if resp, body := h.do(t, request{method: "POST", path: "/skills", body: env, auth: "Bearer " + tok}); resp.StatusCode != 201 {
		t.Errorf("post with a token after the address's rate ran out = %d %s, want 201", resp.StatusCode, body)
	}
	_, metrics := h.do(t, request{method: "GET", path: "/metrics"})
	for _, want := range []string{`hive_rate_limited_total{class="search"} 5`, `hive_rate_limited_total{class="write"} 1`,
		`hive_rate_limit_per_minute{class="write"} 1`, `hive_rate_limit_burst{class="search"} 3`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(metrics, "hive_rate"))
		}
	}
}

// TestClientToken: the Go client writes to a server with tokens through
// client.TokenTransport.
func TestClientToken(t *testing.T) {
	ts := tokens.Open(filepath.Join(t.TempDir(), "state"))
	tok, _, _ := ts.Add(fixtures.Instance(0), tokens.Write, time.Time{})
	h := newHiveWith(t, 4, server.Options{HiveBinary: "/bin/false", Limits: unlimited, Tokens: ts})
	env, id := h.envelope(t, 4)
	c := client.New(h.url)
	if _, err := c.PublishEnvelope(context.Background(), env); status(err) != http.StatusUnauthorized {
		t.Errorf("Publish without a token = %v, want 401", err)
	}
	c.HTTP = &http.Client{Transport: client.TokenTransport(h.url, tok, nil)}
	if p, err := c.PublishEnvelope(context.Background(), env); err != nil || p.TraceID != id {
		t.Errorf("Publish with a token = %+v, %v", p, err)
	}
}

// TestMaintainerToken: a maintainer's token (its instance listed in
// hive.json) writes others' skills too.
func TestMaintainerToken(t *testing.T) {
	dir := t.TempDir()
	s, err := registry.Init(dir, registry.InitOptions{Name: "m", Maintainers: []string{fixtures.Instance(1)}}, registry.WithClock(fixtures.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range []string{fixtures.Instance(0), fixtures.Instance(1)} {
		if _, err := s.AddKey(inst, fixtures.Key(inst).Public().MarshalPEM()); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	ts := tokens.Open(filepath.Join(t.TempDir(), "state"))
	maint, _, _ := ts.Add(fixtures.Instance(1), tokens.Maintainer, time.Time{})
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false", Limits: unlimited, Tokens: ts})
	if err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(srv.Handler())
	defer func() { ts2.Close(); srv.Close() }()
	h := &hive{dir: dir, gen: fixtures.NewGenerator(fixtures.Spec{Instances: 2}), srv: srv, url: ts2.URL}
	env, _ := h.envelope(t, 0) // instance_0's
	check(t, h, []request{{"a maintainer posting another instance's skill", "POST", "/skills", "Bearer " + maint, env, 201, "accepted"}})
}
