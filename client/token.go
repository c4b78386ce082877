package client

import "net/http"

// TokenTransport returns a transport that presents token on every request
// (Authorization: Bearer), over base (http.DefaultTransport when nil): what
// a client needs to write to a server that has tokens (hive serve token
// add), or to read from a private one.
//
//	c := client.New(url)
//	c.HTTP = &http.Client{Transport: client.TokenTransport(token, nil)}
func TokenTransport(token string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &tokenTransport{token: token, base: base}
}

type tokenTransport struct {
	token string
	base  http.RoundTripper
}

// RoundTrip sends a copy of req that carries the token.
func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}
