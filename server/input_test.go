package server_test

import (
	"io"
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
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := string(b)
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
			ct := resp.Header.Get("Content-Type")
			switch {
			case tc.html && !strings.HasPrefix(ct, "text/html"):
				t.Errorf("%s %s: Content-Type %q, want the HTML page", method, tc.path, ct)
			case !tc.html && resp.StatusCode >= 400 && ct != "application/json":
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
	for _, v := range []string{"NaN", "nan", "Inf", "-Inf", "infinity", "1e999", "-0.1", "1.5", "x"} {
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
