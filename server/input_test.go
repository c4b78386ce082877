package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// apiCase is a request to the JSON API or the pages and the answer it
// must get.
type apiCase struct {
	name   string
	method string
	path   string
	html   bool // asked as a browser asks
	page   bool // answered with a page even so
	api    bool // answered in JSON even so
	status int
	want   []string // in the body
	header map[string]string
}

// checkAPI runs each case against the server at base.
func checkAPI(t *testing.T, base string, cases []apiCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			req, err := http.NewRequest(method, base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.html {
				req.Header.Set("Accept", "text/html,application/xhtml+xml")
			}
			resp, body := send(t, req)
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s = %d %.300s, want %d", method, tc.path, resp.StatusCode, body, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s %s: no %q in %.300s", method, tc.path, w, body)
				}
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s %s: %s: %q, want %q", method, tc.path, k, got, v)
				}
			}
			ct, page := resp.Header.Get("Content-Type"), (tc.html || tc.page) && !tc.api
			switch {
			case page && !strings.HasPrefix(ct, "text/html"):
				t.Errorf("%s %s: Content-Type %q, want the HTML page", method, tc.path, ct)
			case !page && resp.StatusCode >= 400 && ct != "application/json":
				t.Errorf("%s %s: Content-Type %q, want the JSON error", method, tc.path, ct)
			}
		})
	}
}

// TestBadNumbers: a parameter that must be a number in [0,1] refuses
// what is not one, NaN and infinities included, on the API and the pages.
func TestBadNumbers(t *testing.T) {
	sc := sharedShowcase(t)
	var cases []apiCase
	for _, v := range []string{"NaN", "nan", "Inf", "-Inf", "infinity", "1e999", "-0.1", "1.5", "x", "0x1p-1", "0X.8P0", "0_5"} {
		cases = append(cases,
			apiCase{name: "threshold " + v, path: "/skills?intent=env&threshold=" + v, status: 400, want: []string{`"code":"invalid"`, "threshold must be a number in [0,1], not"}},
			apiCase{name: "min_confidence " + v, path: "/?min_confidence=" + v, html: true, status: 400, want: []string{"The least confidence must be a number from 0 to 1"}})
	}
	cases = append(cases,
		apiCase{name: "threshold 0", path: "/skills?intent=env&threshold=0", status: 200, want: []string{`"threshold":0`}},
		apiCase{name: "threshold 1", path: "/skills?intent=env&threshold=1", status: 200, want: []string{`"threshold":1`}},
		apiCase{name: "min_confidence 0.5", path: "/?min_confidence=0.5", html: true, status: 200})
	checkAPI(t, sc.url, cases)
}

// TestWrongMethods: a known path with a method no route takes is 405
// with an Allow header; an unknown path is 404; both as the JSON error on
// the API's paths and as the HTML error page on the pages'.
func TestWrongMethods(t *testing.T) {
	sc := sharedShowcase(t)
	allow := func(v string) map[string]string { return map[string]string{"Allow": v} }
	checkAPI(t, sc.url, []apiCase{
		{name: "DELETE /skills", method: "DELETE", path: "/skills", status: 405, header: allow("GET, HEAD, POST"), want: []string{`"code":"method_not_allowed"`, `method DELETE is not allowed on \"/skills\", which takes GET, HEAD, POST`}},
		{name: "PUT a skill", method: "PUT", path: "/skills/" + string(sc.seed), status: 405, header: allow("GET, HEAD"), want: []string{`"code":"method_not_allowed"`}},
		{name: "DELETE outcomes", method: "DELETE", path: "/skills/" + string(sc.seed) + "/outcomes", status: 405, header: allow("GET, HEAD, POST")},
		{name: "POST /instances", method: "POST", path: "/instances", status: 405, header: allow("GET, HEAD")},
		{name: "POST /disputes", method: "POST", path: "/disputes", status: 405, header: allow("GET, HEAD")},
		{name: "POST /healthz", method: "POST", path: "/healthz", status: 405, header: allow("GET, HEAD")},
		{name: "POST /metrics", method: "POST", path: "/metrics", status: 405, header: allow("GET, HEAD")},
		{name: "POST a page", method: "POST", path: "/web/hive", html: true, status: 405, header: allow("GET, HEAD"), want: []string{"405: Method Not Allowed", "which takes GET, HEAD"}},
		{name: "POST the home page", method: "POST", path: "/", status: 405, html: true, header: allow("GET, HEAD")},
		{name: "POST a page, asked as an API client", method: "POST", path: "/web/instances", status: 405, page: true, header: allow("GET, HEAD")},
		{name: "unknown API path", path: "/skills/x/y", status: 404, want: []string{`"code":"not_found"`}},
		{name: "unknown API path, asked by a browser", path: "/instances/x/y", html: true, api: true, status: 404, want: []string{`"code":"not_found"`}},
		{name: "unknown page", path: "/web/nothing", html: true, status: 404, want: []string{"There is no page at"}},
		{name: "unknown static file", path: "/web/static/x", html: true, status: 404, want: []string{"There is no file", `href="/"`}},
		{name: "unknown path, a browser", path: "/nothing", html: true, status: 404, want: []string{"There is no page at"}},
		{name: "unknown path, an API client", path: "/nothing", status: 404, want: []string{`"code":"not_found"`}},
		{name: "GET still works", path: "/skills?limit=1", status: 200},
		{name: "HEAD still works", method: "HEAD", path: "/healthz", status: 200},
	})
}

// TestInstanceFilter: ?instance= filters the list as it filters a search;
// an instance that is not registered is 404 on the API and on the pages.
func TestInstanceFilter(t *testing.T) {
	sc := sharedShowcase(t)
	var list struct {
		Total  int `json:"total"`
		Skills []struct {
			ID       string `json:"id"`
			Instance string `json:"instance_id"`
		} `json:"skills"`
	}
	getJSON(t, sc.url+"/skills?instance=instance_b", &list)
	if list.Total != 2 || len(list.Skills) != 2 {
		t.Errorf("GET /skills?instance=instance_b: total %d, %d skills, want 2 (the child and the second)", list.Total, len(list.Skills))
	}
	for i, sk := range list.Skills {
		if sk.Instance != "instance_b" {
			t.Errorf("GET /skills?instance=instance_b: %s is %s's", sk.ID, sk.Instance)
		}
		if i > 0 && list.Skills[i-1].ID >= sk.ID {
			t.Errorf("GET /skills?instance=instance_b: not sorted by id")
		}
	}
	getJSON(t, sc.url+"/skills?instance=instance_c&limit=50&page=2", &list)
	if list.Total != pageBulk+1 || len(list.Skills) != pageBulk+1-50 {
		t.Errorf("GET /skills?instance=instance_c page 2: total %d, %d skills, want %d and %d (the bulk and the hostile one; the removed one is gone)", list.Total, len(list.Skills), pageBulk+1, pageBulk+1-50)
	}
	checkAPI(t, sc.url, []apiCase{
		{name: "an instance without skills", path: "/skills?instance=maint", status: 200, want: []string{`"total":0`, `"skills":[]`}},
		{name: "unknown instance", path: "/skills?instance=nobody", status: 404, want: []string{`"code":"not_found"`, `no instance \"nobody\" is registered in this hive`}},
		{name: "unknown instance, with an intent", path: "/skills?intent=refactor+auth&instance=nobody", status: 404, want: []string{`"code":"not_found"`}},
		{name: "unknown instance, on the pages", path: "/?instance=nobody", html: true, status: 404, want: []string{"is registered in this hive"}},
		{name: "unknown instance, searched on the pages", path: "/?q=refactor+auth&instance=nobody", html: true, status: 404},
	})
}

// TestWebQueryText: what the search box and the id routes take: bytes
// that are not text are replaced, never echoed raw; an id or a prefix of
// one (bare hex or sha256:, either case) finds its skill; upper-case ids
// name the same skill as lower-case ones.
func TestWebQueryText(t *testing.T) {
	sc := sharedShowcase(t)
	upper := strings.ToUpper(sc.seed.Hex())
	row := `<a class="intent" href="/web/skills/` + string(sc.seed) + `"`
	checkAPI(t, sc.url, []apiCase{
		{name: "invalid UTF-8", path: "/?q=%ff%fe", html: true, status: 200, want: []string{"Skills for “\uFFFD”", "value=\"\uFFFD\""}},
		{name: "a control byte", path: "/?q=a%01b", html: true, status: 200, want: []string{"Skills for “a\uFFFDb”"}},
		{name: "a line break", path: "/?q=a%0d%0ab", html: true, status: 200, want: []string{"Skills for “a  b”"}},
		{name: "a bare hex prefix", path: "/?q=" + sc.seed.Hex()[:8], html: true, status: 200, want: []string{"1 skill with an id starting with " + sc.seed.Hex()[:8], row}},
		{name: "a sha256: prefix", path: "/?q=sha256:" + sc.seed.Hex()[:8], html: true, status: 200, want: []string{"1 skill with an id", row}},
		{name: "an upper-case full id", path: "/?q=SHA256:" + upper, html: true, status: 200, want: []string{"1 skill with an id", row}},
		{name: "a hex word that is no id prefix is searched", path: "/?q=facade", html: true, status: 200, want: []string{"No skill matches “facade”"}},
		{name: "one search match", path: "/?q=read+secrets+from+a+vault", html: true, status: 200, want: []string{"1 skill matches, of 60"}},
		{name: "a skill page by upper-case id", path: "/web/skills/sha256:" + upper, html: true, status: 200, want: []string{"Refactor auth to use env vars"}},
		{name: "a skill page by upper-case prefix", path: "/web/skills/" + upper[:10], html: true, status: 200, want: []string{"Refactor auth to use env vars"}},
		{name: "the API by upper-case prefix", path: "/skills/" + upper[:10], status: 200, want: []string{`"trace_id":"` + string(sc.seed) + `"`}},
		{name: "outcomes by upper-case id", path: "/skills/SHA256:" + upper + "/outcomes", status: 200, want: []string{`"trace_id":"` + string(sc.seed) + `"`}},
	})
	for _, path := range []string{"/?q=%ff%fe", "/?q=a%01b", "/?instance=%01"} {
		_, _, body := get(t, sc.url+path)
		if strings.IndexByte(body, 0x01) >= 0 || strings.IndexByte(body, 0xff) >= 0 || strings.IndexByte(body, 0xfe) >= 0 {
			t.Errorf("GET %s: raw bytes in the page", path)
		}
	}
}
