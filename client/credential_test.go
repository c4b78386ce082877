package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hive-dev/hive/client"
)

// recorder is a Credentials that gives one credential and records what
// the server said of it.
type recorder struct {
	c                  client.Credential
	filled             int
	approved, rejected []string
}

func (r *recorder) Fill(_ context.Context, u *url.URL) (client.Credential, bool) {
	r.filled++
	return r.c, true
}
func (r *recorder) Approve(_ context.Context, u *url.URL, c client.Credential) {
	r.approved = append(r.approved, c.Password)
}
func (r *recorder) Reject(_ context.Context, u *url.URL, c client.Credential) {
	r.rejected = append(r.rejected, c.Password)
}

// guarded answers 401 unless the request's basic auth password is secret,
// and echoes the body it got; it counts the requests that carried any
// credential.
func guarded(t *testing.T, secret string, carried *int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, ok := r.BasicAuth()
		if ok {
			*carried++
		}
		if !ok || pass != secret {
			w.Header().Set("WWW-Authenticate", `Basic realm="hive"`)
			http.Error(w, "token_required", http.StatusUnauthorized)
			return
		}
		io.Copy(w, r.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAuthTransport(t *testing.T) {
	var carried int
	srv := guarded(t, "tok", &carried)
	post := func(tr http.RoundTripper, u, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", u, strings.NewReader(body))
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	// A good credential: the request is sent again with it, body and all,
	// approved, and later requests carry it from the start.
	good := &recorder{c: client.Credential{Username: "git", Password: "tok"}}
	tr := client.AuthTransport(nil, good)
	if code, body := post(tr, srv.URL+"/hive.git/git-receive-pack", "pack"); code != 200 || body != "pack" {
		t.Fatalf("first request = %d %q, want 200 and the body sent again", code, body)
	}
	if code, _ := post(tr, srv.URL+"/hive.git/info/refs", "x"); code != 200 || good.filled != 1 {
		t.Errorf("second request = %d after %d fills, want 200 with the credential known", code, good.filled)
	}
	if len(good.approved) != 1 || len(good.rejected) != 0 {
		t.Errorf("approved %v, rejected %v, want one approval", good.approved, good.rejected)
	}

	// A refused credential is rejected and the next source is asked; the
	// 401 comes back when none is taken.
	bad := &recorder{c: client.Credential{Username: "git", Password: "wrong"}}
	if code, _ := post(client.AuthTransport(nil, bad, good), srv.URL, "x"); code != 200 || len(bad.rejected) != 1 {
		t.Errorf("bad then good = %d, rejected %v, want 200 and the bad one rejected", code, bad.rejected)
	}
	if code, _ := post(client.AuthTransport(nil, bad), srv.URL, "x"); code != 401 {
		t.Errorf("only a bad credential = %d, want the 401", code)
	}

	// A request with its own credentials (a token in the URL) is sent as
	// it is: no source is asked.
	asked := &recorder{c: client.Credential{Username: "git", Password: "tok"}}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.SetBasicAuth("git", "other")
	res, err := client.AuthTransport(nil, asked).RoundTrip(req)
	if err != nil || res.StatusCode != 401 || asked.filled != 0 {
		t.Errorf("a request with credentials = %v %v after %d fills, want its own 401", res, err, asked.filled)
	}
	res.Body.Close()
}

// TokenCredentials offers the token to its remote's origin only.
func TestTokenCredentials(t *testing.T) {
	var carriedA, carriedB int
	a, b := guarded(t, "tok", &carriedA), guarded(t, "tok", &carriedB)
	tr := client.AuthTransport(nil, client.TokenCredentials(a.URL+"/hive.git", "tok"))
	for _, tc := range []struct {
		url  string
		want int
	}{{a.URL + "/hive.git/info/refs", 200}, {b.URL + "/hive.git/info/refs", 401}} {
		req, _ := http.NewRequest("GET", tc.url, nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.url, res.StatusCode, tc.want)
		}
	}
	if carriedA != 1 || carriedB != 0 {
		t.Errorf("credentials reached a %d times and b %d times, want 1 and 0", carriedA, carriedB)
	}
}
