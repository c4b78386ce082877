// Package server is the federation server of a hive: git smart HTTP with a
// gated push, the seed's JSON API (POST/GET /skills, /instances) and web
// pages to browse skills. Handlers are thin: each calls the registry.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hive-dev/hive/hooks"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/tokens"
	"github.com/hive-dev/hive/trust"
)

// Options configure a Server.
type Options struct {
	// HiveBinary is the hive command that git's pre-receive hook runs to
	// gate pushes (default: this executable).
	HiveBinary string
	// Log receives structured logs (default: discard).
	Log *slog.Logger
	// MaxBody bounds a request body other than a git push (default 1 MiB).
	MaxBody int64
	// MaxPush bounds a git push (default 1 GiB).
	MaxPush int64
	// MaxFetch bounds a git fetch's request, its wants and haves (default
	// 10 MiB, git http-backend's own buffer; docs/api.md has the figures).
	MaxFetch int64
	// Tokens are the API tokens that authenticate writes (nil: none; then
	// git pushes are refused and signed posts stay open).
	Tokens *tokens.Store
	// Private makes reads need a token too (all but /healthz).
	Private bool
	// Limits bound what clients may take (zero fields: DefaultLimits).
	Limits Limits
	// URL is the server's public base URL (scheme and host, as clients
	// reach it), shown in the clone commands of the web pages; never
	// taken from a request's Host header. Empty: Serve derives it from
	// the address it listens on (CheckURL says what is valid).
	URL string
}

// Server serves one hive.
type Server struct {
	dir     string // the hive's folder (working tree or bare repository)
	gitDir  string
	opts    Options
	hooks   string // a folder with the pre-receive hook, for core.hooksPath
	writeMu sync.Mutex
	// writer is the one store of the hive: it serves every reader too
	// (stores are safe for concurrent reads), so that the hive's packs are
	// mapped once, and unmapped when it closes.
	writer  *registry.Store
	metrics *metrics
	bg      sync.WaitGroup // the index build started by New
	bgStop  context.CancelFunc
	indexMu sync.Mutex
	idx     *search.Index // the search index, for the commit it reflects
	tableMu sync.Mutex
	trust   *trust.Table // the reputation table, for the commit it reflects
	catMu   sync.Mutex
	cat     *catalog // what the web pages show of main

	url atomic.Pointer[string] // the public base URL (Options.URL, else Serve's)

	submissions chan submission // POST /skills, to the one writer
	startWriter sync.Once

	gitSem chan struct{} // a slot per git backend allowed at once
	limits *limiter
}

// New opens the hive at dir for serving.
func New(dir string, opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.MaxPush == 0 {
		opts.MaxPush = 1 << 30
	}
	if opts.MaxFetch == 0 {
		opts.MaxFetch = 10 << 20
	}
	opts.Limits = opts.Limits.withDefaults()
	if opts.URL != "" {
		u, err := CheckURL(opts.URL)
		if err != nil {
			return nil, err
		}
		opts.URL = u
	}
	if opts.HiveBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opts.HiveBinary = exe
	}
	dir, err := filepath.Abs(dir) // git http-backend runs in another folder
	if err != nil {
		return nil, err
	}
	w, err := registry.Open(dir, registry.WithNotify(func(msg string) { opts.Log.Warn("hive repaired", "what", msg) }))
	if err != nil {
		return nil, err
	}
	// The served main must verify before anything is served from it.
	head, err := w.Head()
	if err != nil {
		return nil, err
	}
	rep, err := w.Verify(head, registry.VerifyOptions{})
	if err != nil {
		return nil, err
	}
	if rep.Err() != nil {
		return nil, fmt.Errorf("serve %s: main does not verify: %w", dir, rep.Err())
	}
	s := &Server{dir: dir, gitDir: w.GitDir(), opts: opts, writer: w, metrics: newMetrics(),
		submissions: make(chan submission, maxGroup), gitSem: make(chan struct{}, opts.Limits.GitBackends)}
	s.limits = newLimiter(opts.Limits, s.metrics)
	if opts.URL != "" {
		s.url.Store(&opts.URL)
	}
	s.metrics.gitMax.Set(float64(opts.Limits.GitBackends))
	if err := s.installHook(); err != nil {
		return nil, err
	}
	// Build or update the search index and the reputation table now, not
	// on the first query.
	bgCtx, stop := context.WithCancel(context.Background())
	s.bgStop = stop
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		st, done, err := s.reader()
		if err != nil {
			return
		}
		defer done()
		if _, err := s.index(st); err != nil {
			s.opts.Log.Warn("search index", "err", err)
		}
		if _, err := s.catalogFor(st); err != nil {
			s.opts.Log.Warn("web catalog", "err", err)
		}
		if _, err := s.table(bgCtx, st); err != nil && bgCtx.Err() == nil {
			s.opts.Log.Warn("reputation", "err", err)
		}
	}()
	return s, nil
}

// Close releases the server's files.
func (s *Server) Close() error {
	close(s.submissions)
	s.writeMu.Lock() // the writer's last group is done
	defer s.writeMu.Unlock()
	s.bgStop()  // the reputation table started by New stops...
	s.bg.Wait() // ...and the index build ends
	os.RemoveAll(s.hooks)
	return s.writer.Close()
}

// Registry returns the prometheus registry of the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// reader returns the store to read through: the server's one store, safe
// for concurrent use, and done, to call when finished with it.
func (s *Server) reader() (*registry.Store, func(), error) {
	return s.writer, func() {}, nil
}

// installHook writes the pre-receive hook that git http-backend runs, in a
// folder of the server's own (core.hooksPath), leaving the hive's hooks
// alone. The hook names no path: the server gives it the binary and the
// pusher in its environment.
func (s *Server) installHook() error {
	dir, err := os.MkdirTemp("", "hive-serve-hooks-")
	if err != nil {
		return err
	}
	s.hooks = dir
	return hooks.InstallServed(dir)
}

// Run serves on addr until ctx ends, then shuts down gracefully. With a
// certificate and key it serves TLS.
func (s *Server) Run(ctx context.Context, addr, certFile, keyFile string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln, certFile, keyFile)
}

// Serve serves on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	if s.url.Load() == nil {
		u := listenURL(ln.Addr(), certFile != "")
		s.url.CompareAndSwap(nil, &u)
	}
	ln = newAddrListener(ln, s.opts.Limits.ConnsPerAddr, certFile == "", s.metrics)
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.opts.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.opts.Log.Info("serving", "addr", ln.Addr().String(), "url", s.publicURL(), "hive", s.dir, "tls", certFile != "", "access", s.access(), "limits", s.describeLimits())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.opts.Log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// CheckURL checks a public base URL for Options.URL: http or https, a
// host, no user, query or fragment, and no path but "/". It returns the URL
// without its final "/".
func CheckURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err == nil {
		raw = u.Redacted() // a password typed into the URL is not repeated
	}
	switch {
	case err != nil:
		return "", fmt.Errorf("public URL %q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("public URL %q: want http:// or https://", raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("public URL %q: no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("public URL %q: want only a scheme, a host and a port", raw)
	case u.Path != "" && u.Path != "/":
		return "", fmt.Errorf("public URL %q: the hive is served at the root, not under %s", raw, u.Path)
	case strings.IndexFunc(u.Host, func(r rune) bool { return r > 0x7e || r < 0x21 }) >= 0:
		// Clients send a Host in ASCII (an international name as xn--...),
		// which would never match a Unicode name.
		return "", fmt.Errorf("public URL %q: give the host in ASCII (an international name in its xn-- form)", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("public URL %q: port %s is not in 1-65535", raw, p)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// listenURL is the public base URL of a server that was given none: the
// address it listens on, or, when that is every interface (0.0.0.0, ::),
// the machine's host name.
func listenURL(addr net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
		if name, err := os.Hostname(); err == nil && name != "" && !strings.ContainsAny(name, "/:@ ") {
			host = name
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// publicURL is the server's public base URL: Options.URL, else what Serve
// derived from its address, else (a handler served some other way, with
// no URL) hive serve's default address.
func (s *Server) publicURL() string {
	if u := s.url.Load(); u != nil {
		return *u
	}
	return "http://127.0.0.1:8080"
}
