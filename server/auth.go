package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/tokens"
)

// The server's access model. Every request passes through guard, before
// its route's handler:
//
//   - a request that carries a token (Authorization: Bearer, or HTTP basic
//     auth with the token as password or user name, as git sends it) is
//     that token's; a token that is unknown, revoked or expired is 401;
//   - reads are public, unless Options.Private: then every route but
//     /healthz needs a token;
//   - git pushes need a token, always: a server without tokens refuses
//     them (it is read-only for git);
//   - other writes (POST and the like) carry signed records: while no
//     token is configured they stay open, as the seed's API requires;
//     once one is, they need a token too, and a token writes only as its
//     instance (the handlers check the records, writeAs);
//   - writes and expensive reads are rate limited per token, or per
//     client address without one (limits.go).

// class is what a request costs and what it needs.
type class int

const (
	classRead   class = iota // a cheap read
	classSearch              // an expensive read: search, reputation
	classWrite               // a write of signed records (POST)
	classPush                // git's push service
	classOpen                // always public: liveness
)

// classify tells a request's class from the route the mux would take.
func classify(r *http.Request, pattern string) class {
	switch {
	case pattern == "GET /healthz":
		return classOpen
	case pattern == "":
		return classRead // no route: 404 or 405 (unrouted)
	case isReceivePack(r):
		return classPush
	case strings.HasSuffix(pattern, "/git-upload-pack"):
		return classRead // a fetch: git POSTs what it wants
	case pattern == "/mcp":
		return classSearch // the MCP tools only read; clients POST their requests
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return classWrite
	case pattern == "GET /instances" || pattern == "GET /instances/{id}":
		return classSearch
	case pattern == "GET /skills" && r.URL.Query().Get("intent") != "",
		pattern == "GET /{$}" && (r.URL.Query().Get("q") != "" || r.URL.Query().Get("intent") != ""):
		return classSearch
	}
	return classRead
}

// identity is who a request is: its token, if it carries one, and the
// writer the token writes as (nil when the hive's policy revokes its
// instance).
type identity struct {
	token   *tokens.Token
	writer  *registry.Writer
	refusal string // why writer is nil
}

type identityKey struct{}

func identityOf(ctx context.Context) identity {
	id, _ := ctx.Value(identityKey{}).(identity)
	return id
}

// Writer returns the instance that an authenticated request writes as,
// and whether it may write as any (a maintainer's token, whose instance
// the hive's policy lists as a maintainer); ok is false for a request
// without a token, or whose token's instance is revoked. Handlers of write
// routes check with it that a record they store is the token's instance's
// (writeAs does it for them).
func Writer(r *http.Request) (w registry.Writer, ok bool) {
	id := identityOf(r.Context())
	if id.writer == nil {
		return registry.Writer{}, false
	}
	return *id.writer, true
}

// writeAs answers 403 and returns false when the request's token may not
// write a record of instance: a token writes only as its instance, unless
// it is a maintainer's. A request without a token passed guard only
// because no token is configured: the record's signature is its proof.
func writeAs(w http.ResponseWriter, r *http.Request, instance string) bool {
	wr, ok := Writer(r)
	if !ok || wr.Maintainer || wr.Instance == instance {
		return true // no token: guard let it through only while none is configured
	}
	writeError(w, http.StatusForbidden, "wrong_instance", "the token writes as instance "+wr.Instance+", not "+instance, nil)
	return false
}

// bearer reads the token a request carries: "", or the secret and whether
// it came by basic auth.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if scheme, t, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(t), false
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if pass != "" {
			return pass, true
		}
		return user, true
	}
	if h != "" {
		return h, false // some other scheme: not a token, refused as one
	}
	return "", false
}

// guard applies the access model and the rate limits to every request,
// then hands it to mux.
func (s *Server) guard(mux *http.ServeMux) http.Handler {
	unrouted := s.unrouted(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r) {
			s.metrics.authRefused.WithLabelValues("forbidden_host").Inc()
			msg := "this request came over a loopback connection: the server answers it for localhost, a loopback address or its public URL (" + s.publicURL() + ", from --url or --addr), not for " + schema.Quote(r.Host, 100) + " (a guard against DNS rebinding)"
			if wantsHTML(r) && !isGitRequest(r) {
				s.webFail(w, r, &webError{status: http.StatusForbidden, msg: strings.ToUpper(msg[:1]) + msg[1:] + "."})
				return
			}
			fail(w, r, http.StatusForbidden, "forbidden_host", msg)
			return
		}
		_, pattern := mux.Handler(r)
		cl := classify(r, pattern)
		id, ok := s.identify(w, r, cl)
		if !ok {
			return
		}
		if cl != classOpen && (!s.admit(w, r, cl, id) || !s.limits.allow(w, r, cl, id)) {
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
		if pattern == "" {
			unrouted.ServeHTTP(w, r) // 404 or 405, in the form the client reads
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// hostAllowed applies to every route the check the MCP SDK applies to /mcp,
// against DNS rebinding (a web page whose host name an attacker pointed
// at 127.0.0.1 reading or writing a server that only local clients can
// reach): a request that came over a loopback connection (to a server
// listening on a loopback address, or on every address and reached from
// this machine) is answered only if its Host is localhost, a loopback
// address, or the host of the server's public URL (--url, such as a
// reverse proxy's, else the URL derived from the listening address), or
// names none (HTTP/1.0: browsers always send one). Other requests take
// any Host; none of the answers depends on it.
func (s *Server) hostAllowed(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil || !isLoopback(local.String()) || r.Host == "" || isLoopback(r.Host) {
		return true
	}
	u := s.url.Load() // --url, or the URL derived from the listening address
	if u == nil {
		return false
	}
	pu, err := url.Parse(*u)
	return err == nil && strings.EqualFold(hostOnly(r.Host), pu.Hostname())
}

// hostOnly is a Host header's host, without its port and brackets.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// isLoopback tells whether a host (with or without its port) is
// localhost or a loopback address.
func isLoopback(hostport string) bool {
	h := hostOnly(hostport)
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// identify reads the request's token, if any, and the writer it writes as;
// it answers the request itself (and returns false) when the token is not
// valid or cannot be checked.
func (s *Server) identify(w http.ResponseWriter, r *http.Request, cl class) (identity, bool) {
	var id identity
	secret, basic := bearer(r)
	if secret == "" {
		return id, true
	}
	t, err := s.lookup(secret)
	switch {
	case errors.Is(err, tokens.ErrInvalid) || errors.Is(err, tokens.ErrExpired):
		s.refuse(w, r, basic || cl == classPush, "invalid_token", tokenError(err))
		return id, false
	case err != nil:
		s.opts.Log.Error("tokens", "err", err)
		fail(w, r, http.StatusInternalServerError, "internal", "the server's tokens could not be read")
		return id, false
	}
	id.token = &t
	if id.writer, id.refusal = s.writerOf(t); id.writer == nil && id.refusal == "" {
		fail(w, r, http.StatusInternalServerError, "internal", "the hive's policy could not be read")
		return id, false
	}
	return id, true
}

// admit decides whether the request may go on, and answers it when not:
// a private server wants a token everywhere; a push always wants one, and
// a server without tokens takes none; another write wants one once tokens
// exist; a token whose instance is revoked writes nothing.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, cl class, id identity) bool {
	if id.token == nil && s.opts.Private {
		s.refuse(w, r, true, "token_required", "this server is private: every request needs a token")
		return false
	}
	if cl != classPush && cl != classWrite {
		return true
	}
	if id.token != nil {
		if id.writer == nil {
			s.metrics.authRefused.WithLabelValues("forbidden").Inc()
			fail(w, r, http.StatusForbidden, "forbidden", id.refusal)
			return false
		}
		return true
	}
	n, err := s.activeTokens()
	switch {
	case err != nil:
		s.opts.Log.Error("tokens", "err", err)
		fail(w, r, http.StatusInternalServerError, "internal", "the server's tokens could not be read")
		return false
	case cl == classPush && n == 0:
		s.metrics.authRefused.WithLabelValues("read_only").Inc()
		fail(w, r, http.StatusForbidden, "read_only", "this server has no tokens: it is read-only for git until its operator gives you one (hive serve token add --instance NAME); a skill of an instance whose key the hive already registers can be published without one (hive publish, POST /skills)")
		return false
	case cl == classPush:
		s.refuse(w, r, true, "token_required", "a git push needs a token, as the password of HTTP basic auth")
		return false
	case n > 0:
		s.refuse(w, r, false, "token_required", "writes to this server need a token: Authorization: Bearer <token>")
		return false
	}
	return true // a signed record, while no token is configured
}

// writerOf is the writer a token writes as: its instance, as a maintainer
// when its scope says so and the hive's policy on main lists it. A token
// whose instance the policy revokes writes as nobody (nil, and why); nil
// and "" when the policy could not be read.
func (s *Server) writerOf(t tokens.Token) (*registry.Writer, string) {
	st, done, err := s.reader()
	if err != nil {
		s.opts.Log.Error("read the hive", "err", err)
		return nil, ""
	}
	defer done()
	cfg, err := st.Config()
	if err != nil {
		s.opts.Log.Error("read the hive's policy", "err", err)
		return nil, ""
	}
	if slices.Contains(cfg.Revoked, t.Instance) {
		return nil, "instance " + t.Instance + " is revoked in this hive"
	}
	maint := t.Scope == tokens.Maintainer && slices.Contains(cfg.Maintainers, t.Instance)
	return &registry.Writer{Instance: t.Instance, Maintainer: maint}, ""
}

func tokenError(err error) string {
	switch {
	case errors.Is(err, tokens.ErrExpired):
		return "the token has expired"
	case errors.Is(err, tokens.ErrInvalid):
		return "the token is not valid on this server (unknown or revoked)"
	}
	return "the token could not be checked"
}

// refuse answers 401. basic asks for HTTP basic auth, which git and
// browsers answer with credentials; otherwise the challenge is Bearer's.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, basic bool, code, msg string) {
	s.metrics.authRefused.WithLabelValues(code).Inc()
	if basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="hive", charset="UTF-8"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hive", error="invalid_token"`)
	}
	fail(w, r, http.StatusUnauthorized, code, msg)
}

// lookup finds the token of a secret; a server without a store has none.
func (s *Server) lookup(secret string) (tokens.Token, error) {
	if s.opts.Tokens == nil {
		return tokens.Token{}, tokens.ErrInvalid
	}
	return s.opts.Tokens.Lookup(secret)
}

// activeTokens counts the tokens that have not expired.
func (s *Server) activeTokens() (int, error) {
	if s.opts.Tokens == nil {
		return 0, nil
	}
	return s.opts.Tokens.Active()
}

// access says, for the start-up log, who may do what.
func (s *Server) access() string {
	reads := "reads public"
	if s.opts.Private {
		reads = "reads need a token"
	}
	n, err := s.activeTokens()
	switch {
	case err != nil:
		return "tokens unreadable (" + err.Error() + "): git pushes and writes refused; " + reads
	case n == 0:
		return "no tokens: read-only for git (pushes refused); POST of a validly signed skill of a registered instance open; " + reads
	}
	return strconv.Itoa(n) + " tokens: git pushes and writes need a token, each writes only as its instance; " + reads
}
