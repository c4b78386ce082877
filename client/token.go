package client

import (
	"net/http"
	"net/url"
	"strings"
)

// TokenTransport returns a transport that presents token (Authorization:
// Bearer) on every request to the server at serverURL (its scheme, host
// and port), and never to another, such as a host a redirect leads to,
// over base (http.DefaultTransport when nil): what a client needs to write
// to a server that has tokens (hive serve token add), or to read from a
// private one. A Client sets its Token itself; this is for other clients
// of the same server, such as an MCP client of its /mcp.
//
//	cs := &http.Client{Transport: client.TokenTransport(url, token, nil)}
func TokenTransport(serverURL, token string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &tokenTransport{token: token, base: base}
	if u, err := url.Parse(serverURL); err == nil && u.Host != "" {
		t.origin = originOf(u)
	}
	return t
}

type tokenTransport struct {
	origin string // "" when the server's URL did not parse: the token goes nowhere
	token  string
	base   http.RoundTripper
}

// RoundTrip sends req, with the token if it is for the server.
func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.origin == "" || originOf(req.URL) != t.origin {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}

// originOf is a URL's scheme, host and port, the port made explicit.
func originOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme + "://" + u.Hostname() + ":" + port)
}
