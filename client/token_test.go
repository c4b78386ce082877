package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hive-dev/hive/client"
)

// TestTokenTransportStaysHome: the token goes to the server's own origin
// only: not to another host a redirect leads to, nor to another port of
// the same host.
func TestTokenTransportStaysHome(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // server -> the Authorization it got
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name] = r.Header.Get("Authorization")
			mu.Unlock()
		}
	}
	elsewhere := httptest.NewServer(record("elsewhere"))
	defer elsewhere.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("home")(w, r)
		if r.URL.Path == "/away" {
			http.Redirect(w, r, elsewhere.URL+"/skills", http.StatusFound)
		}
	}))
	defer home.Close()
	hc := &http.Client{Transport: client.TokenTransport(home.URL, "hive_SECRET", nil)}
	for _, path := range []string{"/skills", "/away"} {
		resp, err := hc.Get(home.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := seen["home"]; got != "Bearer hive_SECRET" {
			t.Errorf("GET %s: the server got %q, want its token", path, got)
		}
	}
	if got, ok := seen["elsewhere"]; !ok || got != "" {
		t.Errorf("the host a redirect led to got %q (reached %v), want no token", got, ok)
	}
	// An unparsable server URL sends the token nowhere.
	hc = &http.Client{Transport: client.TokenTransport("::not a url", "hive_SECRET", nil)}
	if resp, err := hc.Get(home.URL + "/skills"); err == nil {
		resp.Body.Close()
	}
	if got := seen["home"]; got != "" {
		t.Errorf("with an unparsable server URL the server got %q, want no token", got)
	}
}

// TestErrorWithoutBody: an answer of 401 with no body says what it was,
// not "401 http: " with nothing after it.
func TestErrorWithoutBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, err := client.New(srv.URL).Search(context.Background(), "anything", client.SearchOptions{})
	if err == nil || err.Error() != "hive server: 401 http: unauthorized" {
		t.Errorf("Search answered by a bare 401 = %v, want %q", err, "hive server: 401 http: unauthorized")
	}
}
