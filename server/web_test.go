package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/server"
)

// showcase is a served hive with every kind of thing the pages show: a
// skill with a child, a grandchild and a second child (lineage), an
// author of hostile text, more skills than one page holds, an open
// dispute, a dismissed one and an upheld one (a removed skill).
type showcase struct {
	dir     string
	url     string
	seed    schema.ID // instance_a's; children: child, second
	child   schema.ID // instance_b's, from seed; child: grand
	grand   schema.ID // instance_a's, from child
	second  schema.ID // instance_b's, from seed; a dismissed dispute
	evil    schema.ID // instance_c's, hostile text everywhere; an open dispute
	removed schema.ID // instance_c's, removed by an upheld dispute
}

// Hostile text: each part, if a page did not escape it, would run script
// or break out of its element.
const (
	evilIntent = `Parse <script>alert("intent")</script> "><img src=x onerror=alert(1)> logs`
	evilResult = "</code></pre><script>alert('result')</script><svg onload=alert(2)>"
	evilReason = `<a href="javascript:alert(3)">click</a> </q><script>alert(4)</script>`
	pageBulk   = 55 // skills of instance_c beside the others: two pages
)

// The showcase is built once and shared by the tests that only read it.
var shared struct {
	once sync.Once
	sc   *showcase
	stop func()
	err  error
}

// sharedShowcase returns the package's showcase, built on first use.
func sharedShowcase(t testing.TB) *showcase {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "hive-showcase-")
		if err != nil {
			shared.err = err
			return
		}
		b := &builder{dir: dir}
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(buildFailed); !ok {
					panic(r)
				}
			}
		}()
		shared.stop = func() { b.cleanup(); os.RemoveAll(dir) }
		defer func() { shared.err = b.err }()
		shared.sc = newShowcaseIn(b, dir)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.sc
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.stop != nil {
		shared.stop()
	}
	os.Exit(code)
}

// buildFailed stops a failed build of the shared showcase.
type buildFailed struct{}

// builder is a testing.TB for building the shared showcase outside any one
// test: it records the first failure.
type builder struct {
	testing.TB
	dir      string
	err      error
	cleanups []func()
}

func (b *builder) Helper()           {}
func (b *builder) Fatal(args ...any) { b.Fatalf("%s", fmt.Sprint(args...)) }
func (b *builder) Fatalf(format string, args ...any) {
	b.err = fmt.Errorf(format, args...)
	panic(buildFailed{})
}
func (b *builder) TempDir() string  { return b.dir }
func (b *builder) Cleanup(f func()) { b.cleanups = append(b.cleanups, f) }
func (b *builder) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

func newShowcase(t testing.TB) *showcase {
	t.Helper()
	return newShowcaseIn(t, t.TempDir())
}

func newShowcaseIn(t testing.TB, dir string) *showcase {
	t.Helper()
	s, err := registry.Init(dir, registry.InitOptions{Name: "showcase", Maintainers: []string{"maint", "maint2", "maint3", "maint4"}}, registry.WithClock(fixtures.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names := []string{"instance_a", "instance_b", "instance_c", "maint", "maint2", "maint3", "maint4"}
	for _, n := range names {
		if _, err := s.AddKey(n, fixtures.Key(n).Public().MarshalPEM()); err != nil {
			t.Fatal(err)
		}
	}
	keys := fixtures.KeyFunc(names...)
	add := func(tr *schema.Trace) schema.ID {
		t.Helper()
		b, err := tr.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		added, err := s.Add([]registry.Input{{Name: "t.json", Data: b}}, keys)
		if err != nil {
			t.Fatal(err)
		}
		return added[0].ID
	}
	trace := func(instance, intent, result string, lineage ...schema.ID) *schema.Trace {
		return &schema.Trace{Intent: intent, Result: result, Confidence: 0.98, VerificationScore: 1, InstanceID: instance,
			ReasoningPath: []schema.Step{{Step: 1, Action: "analyze_auth_dependencies"}, {Step: 2, Action: "generate_env_var_code", Detail: "read the password from the environment"}},
			Lineage:       append([]schema.ID{}, lineage...), CreatedAt: "2025-12-13T03:45:00Z"}
	}
	sc := &showcase{dir: dir}
	var bulk []registry.Input
	for i := range pageBulk {
		b, err := fixtures.Trace("instance_c", i).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		bulk = append(bulk, registry.Input{Name: "bulk.json", Data: b})
	}
	if _, err := s.Add(bulk, keys); err != nil {
		t.Fatal(err)
	}
	sc.seed = add(trace("instance_a", "Refactor auth to use env vars", "import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')"))
	child := trace("instance_b", "Refactor auth to use env vars with a default", "import os\ndef get_password():\n    return os.getenv('DB_PASSWORD', '')", sc.seed)
	child.Confidence, child.VerificationScore = 0.97, 0.99
	sc.child = add(child)
	sc.grand = add(trace("instance_a", "Refactor auth to use env vars with a default and a warning", "import os, logging\ndef get_password():\n    p = os.getenv('DB_PASSWORD', '')\n    if not p:\n        logging.warning('no password')\n    return p", sc.child))
	sc.second = add(trace("instance_b", "Refactor auth to read secrets from a vault", "import hvac", sc.seed))
	// Four maintainers report that instance_a's two skills worked: its
	// reputation, earned from witnesses with standing, is vouched for (0.81).
	for _, m := range []string{"maint", "maint2", "maint3", "maint4"} {
		for _, id := range []schema.ID{sc.seed, sc.grand} {
			if _, err := s.ReportOutcome(id, true, "its tests pass", m, fixtures.Key(m)); err != nil {
				t.Fatal(err)
			}
		}
	}
	evil := trace("instance_c", evilIntent, evilResult)
	evil.ReasoningPath[0].Action = `<b>bold</b>`
	evil.Tags = []string{"x-script"}
	sc.evil = add(evil)
	sc.removed = add(trace("instance_c", "Print the database password", "print(os.getenv('DB_PASSWORD'))"))
	open := func(trace schema.ID, reason, by string) schema.ID {
		t.Helper()
		d, _, err := s.OpenDispute(trace, reason, by, fixtures.Key(by))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	open(sc.evil, evilReason, "instance_a")
	d := open(sc.second, "the vault is not always there", "instance_a")
	if _, err := s.ResolveDispute(d, registry.DecisionDismiss, "a vault is a fine choice", "maint", fixtures.Key("maint")); err != nil {
		t.Fatal(err)
	}
	// A maintainer saw it fail: it is failed (resolve never returns it).
	if _, err := s.ReportOutcome(sc.second, false, "no vault in production", "maint", fixtures.Key("maint")); err != nil {
		t.Fatal(err)
	}
	d = open(sc.removed, "prints the password", "instance_b")
	if _, err := s.ResolveDispute(d, registry.DecisionRemove, "confirmed", "maint", fixtures.Key("maint")); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false", URL: showcaseURL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	sc.url = ts.URL
	return sc
}

// showcaseURL is the public URL the showcase's server is given.
const showcaseURL = "https://hive.example.org"

// get fetches a page as a browser asks for it.
func get(t testing.TB, u string) (int, http.Header, string) {
	t.Helper()
	return getAs(t, u, "")
}

// getAs fetches a page as a browser asks for it, with host (if not "") as
// its Host header.
func getAs(t testing.TB, u, host string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, b := send(t, req)
	return resp.StatusCode, resp.Header, b
}

// send sends req and reads the whole answer.
func send(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestWebPages: each page kind answers with what it should show; errors
// are HTML pages with a way back; hostile text is escaped everywhere.
func TestWebPages(t *testing.T) {
	sc := sharedShowcase(t)
	for _, tc := range []struct {
		name   string
		path   string
		status int
		want   []string // substrings of the HTML
		not    []string
	}{
		{"home", "/", 200, []string{"Skills", "60 skills, newest first.", "page 1 of 2", `href="/?page=2"`, "0.98", "0.97",
			`<span class="badge disputed" title="open disputes">disputed</span>`}, nil},
		{"home page 2", "/?page=2", 200, []string{"page 2 of 2", `rel="prev"`}, nil},
		{"page past the end", "/?page=99", 200, []string{"page 2 of 2"}, nil},
		{"search", "/?q=use+environment+variables+for+auth", 200, []string{`Skills for “use environment variables for auth”`, "Refactor auth to use env vars", `<th scope="col" class="n">Score</th>`}, []string{"%!"}},
		{"no match", "/?q=compile+a+kernel+module", 200, []string{"No skill matches “compile a kernel module”"}, nil},
		{"filter instance", "/?instance=instance_b", 200, []string{"2 skills of 60", "Refactor auth to read secrets from a vault", `<span class="badge bad" title="failed: a failure reported by an instance with standing outweighs the successes; hive resolve never returns it">failed</span>`}, []string{"Refactor auth to use env vars</a>"}},
		{"filter an instance without skills", "/?instance=maint", 200, []string{"No skill matches these filters"}, []string{`class="intent"`}},
		{"filter instance and page 2", "/?instance=instance_c&page=2", 200, []string{"56 skills of 60", "page 2 of 2"}, nil},
		{"search filtered", "/?q=refactor+auth+env+vars&instance=instance_b", 200, []string{"Refactor auth to use env vars with a default"}, []string{">Refactor auth to use env vars</a>", "warning</a>"}},
		{"filter confidence", "/?min_confidence=0.975", 200, []string{"skills of 60"}, []string{"with a default</a>"}},
		{"filter vouched", "/?vouched=1", 200, []string{"2 skills of 60", `<span class="badge trusted" title="its author is vouched for: reputation 0.8 or more, from outcomes others reported">vouched</span>`, "Refactor auth to use env vars", `<span class="badge trusted" title="proven: instances with standing reported it works">proven</span>`}, []string{"Refactor auth to read secrets from a vault", "Trusted authors only"}},
		{"filter vouched, by its former name", "/?trusted=1", 200, []string{"2 skills of 60", "Vouched-for authors only", `name="vouched" value="1" checked`}, []string{"Refactor auth to read secrets from a vault"}},
		{"bad confidence", "/?min_confidence=2", 400, []string{"The least confidence must be a number from 0 to 1", `href="/"`}, nil},
		{"unknown instance filter", "/?instance=nobody", 404, []string{"No instance &#34;nobody&#34; is registered in this hive."}, nil},
		{"skill", "/web/skills/" + string(sc.child), 200, []string{"Refactor auth to use env vars with a default", "signature verified", "Key fingerprint",
			fixtures.Key("instance_b").Public().Fingerprint(), "cosign verify-blob --key keys/instance_b.pub", "hive verify --full", "Added in",
			`class="node root"`, `data-id="` + string(sc.seed) + `"`, `data-id="` + string(sc.grand) + `"`, "<del>- Refactor auth to use env vars</del>",
			"<ins>+ Refactor auth to use env vars with a default</ins>", "Derived skills", "1 ancestor, 1 descendant", "No dispute about this skill.",
			"No instance has reported reusing this skill yet."}, nil},
		{"skill with outcomes", "/web/skills/" + string(sc.seed), 200, []string{"reported 4 successes and 0 failures of this skill", `<a href="/web/instances/maint3">maint3</a></td><td><span class="badge trusted">success</span></td><td>its tests pass</td>`, "proven"},
			[]string{"No instance has reported"}},
		{"skill by prefix", "/web/skills/" + sc.seed.Hex()[:10], 200, []string{"0 ancestors, 3 descendants", `data-id="` + string(sc.second) + `"`}, nil},
		{"disputed skill", "/web/skills/" + string(sc.evil), 200, []string{"disputed: 1 open dispute", `<span class="badge disputed">open</span>`}, nil},
		{"dismissed dispute", "/web/skills/" + string(sc.second), 200, []string{"1 resolved dispute", "dismissed", "a vault is a fine choice"}, nil},
		{"removed skill", "/web/skills/" + string(sc.removed), 410, []string{"removed from main by a resolved dispute", `href="/"`}, nil},
		{"removed skill by prefix", "/web/skills/" + sc.removed.Hex()[:8], 410, []string{"removed from main by a resolved dispute", string(sc.removed),
			`<a href="/web/disputes#dispute-`, "opened by <a href=\"/web/instances/instance_b\">instance_b</a>", "prints the password",
			"<dt>Upheld by</dt><dd><a href=\"/web/instances/maint\">maint</a>", "<q>confirmed</q>", "<dt>Removed in</dt>"}, nil},
		{"removed skill by prefix with sha256:", "/web/skills/sha256:" + sc.removed.Hex()[:8], 410, []string{"<q>confirmed</q>"}, nil},
		{"no such skill", "/web/skills/" + strings.Repeat("0", 64), 404, []string{"No skill", `href="/"`}, nil},
		{"bad skill id", "/web/skills/xyz", 400, []string{"is not a skill id", `href="/"`}, nil},
		{"instances", "/web/instances", 200, []string{"instance_a", "instance_c", "maintainer", "ed25519"}, nil},
		{"instance", "/web/instances/instance_c", 200, []string{"Reputation over history", `<polyline class="rep"`, "Disputes about its skills", "prints the password", "upheld: removed", "page 1 of 2"}, nil},
		{"maintainer", "/web/instances/maint", 200, []string{"Disputes it resolved", "confirmed", `<span class="badge maint">maintainer</span>`}, nil},
		{"no such instance", "/web/instances/nobody", 404, []string{"No instance", `href="/"`}, nil},
		{"disputes", "/web/disputes", 200, []string{"3 disputes, 1 open", `<tr id="dispute-`, "waiting for a maintainer", "remove by", "dismiss by"}, nil},
		{"hive", "/web/hive", 200, []string{"The hive showcase", "more than <span class=\"num\">0.9</span>", "at least <span class=\"num\">0.95</span>", `href="/web/instances/maint"`,
			"<dt>Skills</dt><dd class=\"num\">60</dd>", "<dt>Skills removed</dt><dd class=\"num\">1</dd>", "1</span> open, <span class=\"num\">2</span> resolved"}, nil},
		{"no such page", "/no/such/page", 404, []string{"There is no page at", `href="/"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := get(t, sc.url+tc.path)
			if code != tc.status {
				t.Errorf("GET %s = %d, want %d", tc.path, code, tc.status)
			}
			if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy = %q, want default-src 'none'", csp)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in the page", tc.path, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: %q in the page", tc.path, w)
				}
			}
			checkEscaped(t, tc.path, body)
		})
	}
}

// TestWebProvenance: a skill's page says what the hive verified (the
// signature, the key) apart from what nobody did (the commit's author,
// date and message, which whoever made the commit chose), and never
// presents the commit's author as who introduced the skill.
func TestWebProvenance(t *testing.T) {
	sc := sharedShowcase(t)
	_, _, body := get(t, sc.url+"/web/skills/"+string(sc.child))
	start, end := strings.Index(body, `id="provenance"`), strings.Index(body, "Check it yourself")
	if start < 0 || end < start {
		t.Fatalf("no provenance section")
	}
	prov := body[start:end]
	signed, unverified := strings.Index(prov, "Signed by"), strings.Index(prov, "What nobody verified")
	author, subject := strings.Index(prov, "Commit author"), strings.Index(prov, "Commit subject")
	if signed < 0 || unverified < signed || author < unverified || subject < unverified {
		t.Errorf("provenance: Signed by at %d, the unverified part at %d, the commit's author at %d and subject at %d: want the verified facts first, then the git metadata under its label\n%s",
			signed, unverified, author, subject, prov)
	}
	if strings.Count(prov, `<span class="badge dismissed">unverified</span>`) != 2 {
		t.Errorf("provenance: the commit's author and subject are not each marked unverified\n%s", prov)
	}
	if strings.Contains(prov, "Introduced by") {
		t.Errorf("provenance: the commit's author is still shown as who introduced the skill")
	}
}

// TestWebCloneURL: the clone commands on the pages name the server's
// configured URL, never the Host a request claims.
func TestWebCloneURL(t *testing.T) {
	sc := sharedShowcase(t)
	for _, path := range []string{"/web/hive", "/web/skills/" + string(sc.seed)} {
		// The server listens on a loopback address: it answers only a
		// loopback Host or its URL's (TestHostCheck); none is reflected.
		for _, host := range []string{"localhost:1234", "hive.example.org:8443"} {
			code, _, body := getAs(t, sc.url+path, host)
			if code != 200 {
				t.Fatalf("GET %s = %d", path, code)
			}
			if !strings.Contains(body, "git clone "+showcaseURL+"/hive.git ") {
				t.Errorf("GET %s: no git clone of %s/hive.git", path, showcaseURL)
			}
			if strings.Contains(body, host) {
				t.Errorf("GET %s with Host: %s: the Host is in the page", path, host)
			}
		}
	}
}

// TestHostCheck: a server listening on a loopback address answers only
// requests for a loopback name or its configured URL's host, on every
// route, as the MCP SDK does on /mcp (against DNS rebinding).
func TestHostCheck(t *testing.T) {
	sc := sharedShowcase(t) // URL: showcaseURL
	plain := newHive(t, 1)  // no URL
	for _, tc := range []struct {
		base, path, host string
		want             int
	}{
		{sc.url, "/web/hive", "evil.example", 403},
		{sc.url, "/skills", "evil.example:80", 403},
		{sc.url, "/info/refs?service=git-upload-pack", "evil.example", 403},
		{sc.url, "/healthz", "127.0.0.2", 200},
		{sc.url, "/healthz", "[::1]:9", 200},
		{sc.url, "/healthz", "LOCALHOST", 200},
		{sc.url, "/healthz", "HIVE.example.org", 200},
		{plain.url, "/healthz", "hive.example.org", 403},
		{plain.url, "/healthz", "localhost", 200},
	} {
		code, _, body := getAs(t, tc.base+tc.path, tc.host)
		if code != tc.want {
			t.Errorf("GET %s with Host %s = %d, want %d", tc.path, tc.host, code, tc.want)
		}
		if code == 403 && !strings.Contains(body, "forbidden_host") && !strings.Contains(body, "DNS rebinding") {
			t.Errorf("GET %s with Host %s: %q, want the reason", tc.path, tc.host, body)
		}
	}
	// /mcp answers the --url's host too (behind a proxy on this machine),
	// and refuses another through the same guard.
	for host, want := range map[string]bool{"hive.example.org": true, "evil.example": false} {
		req, _ := http.NewRequest("POST", sc.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Host = host
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, body := send(t, req)
		if ok := resp.StatusCode == 200 && strings.Contains(body, "search_skills"); ok != want {
			t.Errorf("POST /mcp tools/list with Host %s = %d %.200s; want answered %v", host, resp.StatusCode, body, want)
		}
	}
}

// checkEscaped fails if hostile text reached a page unescaped.
func checkEscaped(t testing.TB, path, body string) {
	t.Helper()
	for _, bad := range []string{"<script", "<img", "<svg onload", `href="javascript:`, "<b>bold", "</q><script"} {
		if strings.Contains(strings.ToLower(body), bad) {
			t.Errorf("GET %s: %q in the page, unescaped", path, bad)
		}
	}
}

var hrefRE = regexp.MustCompile(`(?:href|src)="([^"]*)"`)

// TestWebLinks follows every link of every page, from the home page: each
// one resolves (200), and the crawl reaches every page kind.
func TestWebLinks(t *testing.T) {
	sc := sharedShowcase(t)
	seen := map[string]bool{}
	queue := []string{"/", "/web/skills/" + string(sc.grand)}
	kinds := map[string]bool{}
	for len(queue) > 0 && len(seen) < 400 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		code, h, body := get(t, sc.url+p)
		if code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", p, code)
			continue
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			continue
		}
		u, _ := url.Parse(p)
		kinds[strings.SplitN(strings.TrimPrefix(u.Path, "/web/"), "/", 2)[0]] = true
		for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			switch {
			case strings.HasPrefix(link, "#"):
				continue
			case !strings.HasPrefix(link, "/"):
				t.Errorf("GET %s: a link leaves the server: %s", p, link)
				continue
			}
			if !seen[link] {
				queue = append(queue, link)
			}
		}
	}
	for _, k := range []string{"", "skills", "instances", "disputes", "hive"} {
		if !kinds[k] {
			t.Errorf("the crawl reached no %s page (reached %v)", k, kinds)
		}
	}
	if len(seen) < 40 {
		t.Errorf("the crawl followed %d links, want the whole showcase", len(seen))
	}
	t.Logf("followed %d links", len(seen))
}

// TestWebNotFoundJSON: a path no route serves answers JSON to an API
// client and HTML to a browser.
func TestWebNotFoundJSON(t *testing.T) {
	sc := sharedShowcase(t)
	resp, err := http.Get(sc.url + "/no/such/thing")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"code":"not_found"`) {
		t.Errorf("GET /no/such/thing without Accept: text/html = %d %s, want a 404 JSON error", resp.StatusCode, b)
	}
	if code, _, _ := get(t, sc.url+"/skills?limit=1"); code != 200 {
		t.Errorf("GET /skills = %d: the API is shadowed", code)
	}
}

// TestWebFollowsMain: a skill posted to the server is on the pages at once,
// first on the home page, with its own page.
func TestWebFollowsMain(t *testing.T) {
	h := newHive(t, 3)
	if code, _, body := get(t, h.url+"/"); code != 200 || !strings.Contains(body, "3 skills, newest first.") {
		t.Fatalf("home = %d, want 3 skills", code)
	}
	env, id := h.envelope(t, 3)
	resp, err := http.Post(h.url+"/skills", "application/json", strings.NewReader(string(env)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /skills = %d", resp.StatusCode)
	}
	code, _, body := get(t, h.url+"/")
	if code != 200 || !strings.Contains(body, "4 skills, newest first.") {
		t.Errorf("home after the post = %d, want 4 skills", code)
	}
	if first := strings.Index(body, `href="/web/skills/`); first < 0 || !strings.HasPrefix(body[first+len(`href="/web/skills/`):], string(id)) {
		t.Errorf("the new skill %s is not first on the home page", id.Short())
	}
	if code, _, _ := get(t, h.url+"/web/skills/"+string(id)); code != 200 {
		t.Errorf("GET /web/skills/%s = %d, want 200", id.Short(), code)
	}
}

// TestWebPaging: every skill on exactly one page, with and without filters.
func TestWebPaging(t *testing.T) {
	sc := sharedShowcase(t)
	rowRE := regexp.MustCompile(`<a class="intent" href="/web/skills/(sha256:[0-9a-f]{64})"`)
	pagesRE := regexp.MustCompile(`page 1 of (\d+)`)
	for _, tc := range []struct {
		query string
		total int
	}{{"", 60}, {"instance=instance_c", 56}, {"min_confidence=0.98", 0}, {"vouched=1", 2}} {
		_, _, first := get(t, sc.url+"/?"+tc.query)
		pages := 1
		if m := pagesRE.FindStringSubmatch(first); m != nil {
			fmt.Sscan(m[1], &pages)
		}
		seen := map[string]bool{}
		for page := 1; page <= pages; page++ {
			_, _, body := get(t, fmt.Sprintf("%s/?%s&page=%d", sc.url, tc.query, page))
			rows := rowRE.FindAllStringSubmatch(body, -1)
			if page < pages && len(rows) != 50 {
				t.Errorf("%q page %d: %d rows, want 50", tc.query, page, len(rows))
			}
			for _, m := range rows {
				if seen[m[1]] {
					t.Errorf("%q: %s on two pages", tc.query, m[1])
				}
				seen[m[1]] = true
			}
		}
		if want := tc.total; want > 0 && len(seen) != want {
			t.Errorf("%q: %d skills over %d pages, want %d", tc.query, len(seen), pages, want)
		}
		if !strings.Contains(first, plural(len(seen), "skill")) {
			t.Errorf("%q: the count is not %d skills", tc.query, len(seen))
		}
	}
}

func plural(n int, w string) string {
	if n == 1 {
		return "1 " + w
	}
	return fmt.Sprintf("%d %ss", n, w)
}

// TestWebSkillAfterRotation: a skill signed before its author's key was
// rotated shows as verified with the key of its commit, named as replaced,
// and the command to check it takes that key from history.
func TestWebSkillAfterRotation(t *testing.T) {
	dir := t.TempDir()
	s, err := registry.Init(dir, registry.InitOptions{Name: "rotated"}, registry.WithClock(fixtures.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddKey("instance_a", fixtures.Key("instance_a").Public().MarshalPEM()); err != nil {
		t.Fatal(err)
	}
	added, err := s.Add([]registry.Input{{Name: "seed", Data: fixtures.Seed()}}, fixtures.KeyFunc("instance_a"))
	if err != nil {
		t.Fatal(err)
	}
	next := fixtures.Key("instance_a_next")
	if _, err := s.RotateKey("instance_a", next.Public().MarshalPEM(), "laptop replaced", "instance_a", fixtures.Key("instance_a")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	code, _, body := get(t, ts.URL+"/web/skills/"+string(added[0].ID))
	for _, want := range []string{"yes: the sigstore bundle verifies", fixtures.Key("instance_a").Public().Fingerprint(), "replaced since by a rotation",
		next.Public().Fingerprint(), ":keys/instance_a.pub &gt; signer.pub", "cosign verify-blob --key signer.pub"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("skill page after a rotation (%d) lacks %q", code, want)
		}
	}
}

// TestHostCheckEveryAddress: a server listening on every address, with no
// --url, answers a request from this machine that names the host in the
// URL it derived from its address (the machine's name), as its pages tell
// clients to; another host is still refused.
func TestHostCheckEveryAddress(t *testing.T) {
	name, err := os.Hostname()
	if err != nil || name == "" || strings.ContainsAny(name, "/:@ ") {
		t.Skip("no usable host name")
	}
	srv, err := server.New(fixtureHive(t, fixtures.Spec{Instances: 1, Traces: 1}), server.Options{HiveBinary: "/bin/false", Limits: unlimited})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, "", "") }()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for host, want := range map[string]int{fmt.Sprintf("%s:%d", name, port): 200, "evil.example": 403} {
		if code, _, body := getAs(t, base+"/healthz", host); code != want {
			t.Errorf("GET /healthz with Host %s = %d %.200s, want %d", host, code, body, want)
		}
	}
}
