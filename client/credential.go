package client

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
)

// Credential is a user name and password for HTTP basic auth: for a hive
// server, any user name (git) and a token as the password.
type Credential struct{ Username, Password string }

// Credentials answers a server that asks for credentials (401). Fill finds
// one for the URL (false: none); Approve and Reject say whether the server
// took it, so that a store can keep or forget it.
type Credentials interface {
	Fill(ctx context.Context, u *url.URL) (Credential, bool)
	Approve(ctx context.Context, u *url.URL, c Credential)
	Reject(ctx context.Context, u *url.URL, c Credential)
}

// TokenCredentials offers token, as the password of user git, to the
// origin (scheme and host) of rawURL only: a redirect to another host, or
// another remote, never gets it.
func TokenCredentials(rawURL, token string) Credentials {
	u, err := url.Parse(rawURL)
	if err != nil || token == "" || u.Host == "" {
		return tokenCredentials{}
	}
	return tokenCredentials{origin: originOf(u), token: token}
}

type tokenCredentials struct{ origin, token string }

func (t tokenCredentials) Fill(_ context.Context, u *url.URL) (Credential, bool) {
	if t.origin == "" || originOf(u) != t.origin {
		return Credential{}, false
	}
	return Credential{Username: "git", Password: t.token}, true
}

func (tokenCredentials) Approve(context.Context, *url.URL, Credential) {}
func (tokenCredentials) Reject(context.Context, *url.URL, Credential)  {}

// GitCredentials asks git's credential helpers, as git itself does for
// http(s) remotes: `git credential fill` (which may also prompt on the
// terminal, as git does), then `git credential approve` or `reject` once
// the server has answered, run in Dir so that the repository's own
// credential.* settings apply too. Git's messages are not shown; its
// output is read, never printed.
type GitCredentials struct{ Dir string }

// Fill asks git for a credential for u.
func (g GitCredentials) Fill(ctx context.Context, u *url.URL) (Credential, bool) {
	out, err := g.git(ctx, "fill", u, Credential{})
	if err != nil {
		return Credential{}, false
	}
	var c Credential
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "username":
			c.Username = v
		case "password":
			c.Password = v
		}
	}
	return c, c.Username != "" || c.Password != ""
}

// Approve tells git's helpers that the server took c.
func (g GitCredentials) Approve(ctx context.Context, u *url.URL, c Credential) {
	g.git(ctx, "approve", u, c)
}

// Reject tells git's helpers that the server refused c.
func (g GitCredentials) Reject(ctx context.Context, u *url.URL, c Credential) {
	g.git(ctx, "reject", u, c)
}

func (g GitCredentials) git(ctx context.Context, verb string, u *url.URL, c Credential) ([]byte, error) {
	var in strings.Builder
	in.WriteString("url=" + repoURL(u) + "\n")
	if c.Username != "" {
		in.WriteString("username=" + c.Username + "\n")
	}
	if c.Password != "" {
		in.WriteString("password=" + c.Password + "\n")
	}
	in.WriteString("\n")
	cmd := exec.CommandContext(ctx, "git", "credential", verb)
	cmd.Dir = g.Dir
	cmd.Stdin = strings.NewReader(in.String())
	cmd.Stderr = io.Discard
	return cmd.Output()
}

// repoURL is the repository a git request is about, as git names it to
// its helpers: without user information, query, or the smart HTTP
// protocol's own path.
func repoURL(u *url.URL) string {
	r := *u
	r.User, r.RawQuery, r.Fragment = nil, "", ""
	for _, s := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack"} {
		if p, ok := strings.CutSuffix(r.Path, s); ok {
			r.Path, r.RawPath = p, ""
			break
		}
	}
	return r.String()
}

// AuthTransport returns a transport, over base (http.DefaultTransport when
// nil), that answers a server's 401 as git does: it asks each of cs in
// turn for a credential for the request's URL and sends the request again
// with it (HTTP basic auth), rejecting one the server refuses and
// approving the first it takes, which later requests to the same origin
// then carry from the start. A request that carries credentials already
// (a token in the remote's URL) is sent as it is; one whose body cannot be
// sent twice gets the 401.
func AuthTransport(base http.RoundTripper, cs ...Credentials) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &authTransport{base: base, cs: cs, known: map[string]Credential{}}
}

type authTransport struct {
	base  http.RoundTripper
	cs    []Credentials
	mu    sync.Mutex
	known map[string]Credential // origin -> the credential it took
}

// RoundTrip sends req, and again with a credential when the server asks.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return t.base.RoundTrip(req)
	}
	t.mu.Lock()
	c, ok := t.known[originOf(req.URL)]
	t.mu.Unlock()
	if ok {
		return t.base.RoundTrip(withAuth(req, c))
	}
	res, err := t.base.RoundTrip(req)
	if err != nil || res.StatusCode != http.StatusUnauthorized || (req.Body != nil && req.GetBody == nil) {
		return res, err
	}
	ctx := req.Context()
	for _, src := range t.cs {
		c, ok := src.Fill(ctx, req.URL)
		if !ok {
			continue
		}
		again := withAuth(req, c)
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return res, nil
			}
			again.Body = body
		}
		res2, err := t.base.RoundTrip(again)
		if err != nil {
			res.Body.Close()
			return nil, err
		}
		if res2.StatusCode == http.StatusUnauthorized {
			src.Reject(ctx, req.URL, c)
			res.Body.Close()
			res = res2
			continue
		}
		res.Body.Close()
		if res2.StatusCode < 400 {
			src.Approve(ctx, req.URL, c)
			t.mu.Lock()
			t.known[originOf(req.URL)] = c
			t.mu.Unlock()
		}
		return res2, nil
	}
	return res, nil
}

// withAuth is a copy of req with c as its basic auth.
func withAuth(req *http.Request, c Credential) *http.Request {
	r := req.Clone(req.Context())
	r.SetBasicAuth(c.Username, c.Password)
	return r
}
