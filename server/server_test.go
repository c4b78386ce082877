package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/server"
	"github.com/hive-dev/hive/signing"
)

// hive is a served fixture hive and a generator of new skills for it.
type hive struct {
	dir string
	gen *fixtures.Generator
	srv *server.Server
	url string
}

// unlimited are limits that never refuse a test's requests by rate.
var unlimited = server.Limits{Writes: server.Rate{PerMinute: -1}, Searches: server.Rate{PerMinute: -1}}

func newHive(t *testing.T, traces int) *hive {
	return newHiveWith(t, traces, server.Options{HiveBinary: "/bin/false", Limits: unlimited})
}

// newHiveWith serves a fixture hive of traces traces with opts.
func newHiveWith(t *testing.T, traces int, opts server.Options) *hive {
	t.Helper()
	spec := fixtures.Spec{Instances: 2, Traces: traces}
	dir := fixtureHive(t, spec)
	t.Setenv("HIVE_KNOWN_KEYS", filepath.Join(t.TempDir(), "known_keys")) // the client pins keys here, not in $HOME
	srv, err := server.New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return &hive{dir: dir, gen: fixtures.NewGenerator(spec), srv: srv, url: ts.URL}
}

// fixtureHive builds the hive spec describes in a temporary folder.
func fixtureHive(t *testing.T, spec fixtures.Spec) string {
	t.Helper()
	dir := t.TempDir()
	s, err := fixtures.Hive(dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}

// envelope signs trace i of the generator with its instance's fixture key.
func (h *hive) envelope(t *testing.T, i int) ([]byte, schema.ID) {
	t.Helper()
	tr, err := h.gen.Trace(i)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, tr)
}

func sign(t *testing.T, tr *schema.Trace) ([]byte, schema.ID) {
	t.Helper()
	b, err := tr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := signing.Sign(fixtures.Key(tr.InstanceID), b)
	if err != nil {
		t.Fatal(err)
	}
	env, err := registry.MarshalEnvelope(b, bundle)
	if err != nil {
		t.Fatal(err)
	}
	return env, schema.Digest(b)
}

func status(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestPostSkills(t *testing.T) {
	h := newHive(t, 10)
	c := client.New(h.url)
	ctx := context.Background()
	env, id := h.envelope(t, 10)

	p, err := c.PublishEnvelope(ctx, env)
	if err != nil || p.TraceID != id || len(p.Commit) != 40 {
		t.Fatalf("Publish(new skill) = %+v, %v; want 201 with id %s and a commit", p, err, id)
	}
	if _, err := c.PublishEnvelope(ctx, env); status(err) != http.StatusConflict {
		t.Errorf("Publish(same skill again) = %v, want 409", err)
	}

	tr, _ := h.gen.Trace(11)
	tr.Confidence = 0.5 // below the hive's threshold, but correctly signed
	low, _ := sign(t, tr)
	if _, err := c.PublishEnvelope(ctx, low); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "trace-threshold") {
		t.Errorf("Publish(below threshold) = %v, want 400 naming trace-threshold", err)
	}
	altered := strings.Replace(string(env), `"confidence":`, `"confidence":0.99,"x":`, 1)
	if _, err := c.PublishEnvelope(ctx, []byte(altered)); status(err) != http.StatusBadRequest {
		t.Errorf("Publish(altered envelope) = %v, want 400", err)
	}
	tampered := strings.Replace(string(env), `"intent":"`, `"intent":"X`, 1)
	if _, err := c.PublishEnvelope(ctx, []byte(tampered)); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "trace-name") {
		t.Errorf("Publish(tampered intent) = %v, want 400 naming trace-name", err)
	}
	tr, _ = h.gen.Trace(12)
	tr.InstanceID = "stranger"
	unknown, _ := sign(t, tr)
	if _, err := c.PublishEnvelope(ctx, unknown); status(err) != http.StatusForbidden {
		t.Errorf("Publish(unregistered instance) = %v, want 403", err)
	}
	tr, _ = h.gen.Trace(13)
	b, _ := tr.Marshal()
	bundle, _ := signing.Sign(fixtures.Key("someone else"), b)
	forged, _ := registry.MarshalEnvelope(b, bundle)
	if _, err := c.PublishEnvelope(ctx, forged); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "sig-invalid") {
		t.Errorf("Publish(signed by another key) = %v, want 400 naming sig-invalid", err)
	}
	for _, body := range []string{"", "{", "null", `{"federation_trace_v1":{}}`, strings.Repeat("[", 5000)} {
		if _, err := c.PublishEnvelope(ctx, []byte(body)); status(err) != http.StatusBadRequest {
			t.Errorf("Publish(%.20q) = %v, want 400", body, err)
		}
	}
	if _, err := c.PublishEnvelope(ctx, make([]byte, registry.MaxEnvelopeSize+10)); status(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("Publish(oversize) = %v, want 413", err)
	}

	// Only the one valid skill went in, and the hive verifies.
	s, err := registry.Open(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids, _ := s.TraceIDs()
	if len(ids) != 11 {
		t.Errorf("after the posts the hive has %d traces, want 11", len(ids))
	}
	head, _ := s.Head()
	if rep, err := s.Verify(head, registry.VerifyOptions{Full: true}); err != nil || rep.Err() != nil {
		t.Errorf("Verify after posts: %v %v", err, rep.Err())
	}
}

func TestReadAPI(t *testing.T) {
	h := newHive(t, 10)
	c := client.New(h.url)
	ctx := context.Background()
	tr, _ := h.gen.Trace(3)
	m, err := c.Subscribe(ctx, tr.Intent, client.SearchOptions{})
	if err != nil || len(m) == 0 || m[0].Score < 0.7 {
		t.Fatalf("Subscribe(%q) = %+v, %v; want the skill first, score >= 0.7", tr.Intent, m, err)
	}
	want, _ := h.gen.ID(3)
	found := false
	for _, x := range m {
		found = found || x.ID == want
	}
	if !found {
		t.Errorf("Subscribe(%q) lacks %s", tr.Intent, want)
	}
	if none, err := c.Subscribe(ctx, "compile the linux kernel for a toaster", client.SearchOptions{}); err != nil || len(none) != 0 {
		t.Errorf("Subscribe(unrelated) = %+v, %v; want none", none, err)
	}
	sk, err := c.Get(ctx, want)
	if err != nil || sk.Trace.Intent != tr.Intent {
		t.Errorf("Get(%s) = %+v, %v", want, sk, err)
	}
	// The commit is the one that added the trace's file, as git says.
	out, err := exec.Command("git", "-C", h.dir, "log", "--format=%H", "--diff-filter=A", "main", "--", registry.TracePath(want)).Output()
	if added := strings.TrimSpace(string(out)); err != nil || sk.Commit != added {
		t.Errorf("Get(%s).Commit = %q, want %q, the commit that added its file (%v)", want, sk.Commit, added, err)
	}
	if r, err := c.Resolve(ctx, tr.Intent, client.SearchOptions{}); err != nil || r.Trace == nil {
		t.Errorf("Resolve(%q) = %v", tr.Intent, err)
	}
	if _, err := c.Get(ctx, schema.Digest([]byte("nothing"))); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Get(absent) = %v, want ErrNotFound", err)
	}
	for path, want := range map[string]string{
		"/healthz":                    `"status":"ok"`,
		"/instances":                  `"instance_id":"instance_0"`,
		"/instances/instance_1":       `"traces":5`,
		"/skills?limit=3&page=2":      `"total":10`,
		"/metrics":                    "hive_http_requests_total",
		"/":                           "<h1>Skills</h1>",
		"/web/skills/" + string(want): "<h2>Result</h2>",
	} {
		resp, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %.200s, want 200 containing %s", path, resp.StatusCode, b, want)
		}
	}
	for path, code := range map[string]int{"/instances/nobody": 404, "/skills/sha256:00": 400, "/skills/abcdef0123": 404, "/skills?intent=x&threshold=2": 400} {
		resp, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, code)
		}
	}
}

// TestLoad: 50 clients post 20 skills each while others clone and query.
// Every accepted skill is there afterwards, the hive verifies, and no
// request got a 5xx. Bounded: 1,000 posts, 100 queries, 4 clones.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test posts 1,000 skills")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	h := newHive(t, 20)
	c := client.New(h.url)
	ctx := context.Background()
	envs := make([][]byte, 1000)
	for i := range envs {
		envs[i], _ = h.envelope(t, 20+i)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if _, err := c.PublishEnvelope(ctx, envs[w*20+i]); err != nil {
					fail("post %d: %v", w*20+i, err)
				}
			}
		}()
	}
	for q := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				tr, _ := h.gen.Trace((q*20 + i) % 20)
				if _, err := c.Subscribe(ctx, tr.Intent, client.SearchOptions{Limit: 5}); err != nil {
					fail("query: %v", err)
				}
			}
		}()
	}
	for k := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := filepath.Join(t.TempDir(), fmt.Sprintf("clone%d", k))
			if out, err := exec.Command("git", "clone", "-q", h.url+"/hive.git", dst).CombinedOutput(); err != nil {
				fail("git clone: %v %s", err, out)
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	s, err := registry.Open(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids, _ := s.TraceIDs()
	if len(ids) != 1020 {
		t.Errorf("after 1,000 accepted posts the hive has %d traces, want 1020", len(ids))
	}
	head, _ := s.Head()
	if rep, err := s.Verify(head, registry.VerifyOptions{Full: true}); err != nil || rep.Err() != nil {
		t.Errorf("Verify after the load: %v %v", err, rep.Err())
	}
	resp, err := http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), `code="5`) {
		t.Errorf("some requests got a 5xx:\n%s", grep(string(b), `code="5`))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTLS: with a certificate and key, the server speaks HTTPS only.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	s, err := fixtures.Hive(dir, fixtures.Spec{Instances: 1, Traces: 2})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	certFile, keyFile, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, certFile, keyFile) }()
	url := "https://" + ln.Addr().String() + "/healthz"
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s over TLS: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz over TLS = %d", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Errorf("plain HTTP to a TLS server answered 200")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after shutdown: %v", err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hive test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
