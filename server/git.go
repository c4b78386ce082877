package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hive-dev/hive/hooks"
)

// gitHandler serves git's smart HTTP protocol through git http-backend:
// clone and fetch as git serves them, and pushes gated by the pre-receive
// hook, which runs the validator on the pushed objects while git still
// holds them in quarantine. Refs move only if it passes: main only by
// fast-forward, submission branches hive/* on top of main, nothing else.
//
// net/http/cgi is not used: git must not start before the request body is
// whole (git 2.39's http-backend spins at full CPU, forever, when its
// body ends early), and git and every process it starts must end with the
// request. So the body is read first, up to its limit, into memory or a
// temporary file; a backend slot is taken (at most Limits.GitBackends at
// once); git runs in a process group of its own with the body of exactly
// CONTENT_LENGTH bytes as its input; and the group is killed when the
// client goes, when the deadline passes, and when git's answer is over.
func (s *Server) gitHandler(prefix string) http.Handler {
	git, err := exec.LookPath("git")
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusServiceUnavailable, "git_unavailable", "git is not installed on the server", nil)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.Limits.GitTimeout)
		defer cancel()
		body, err := s.gitBody(w, r)
		if err != nil {
			return // answered
		}
		defer body.Close()
		release, ok := s.gitSlot(ctx)
		if !ok {
			s.metrics.gitBusy.Inc()
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter(s.opts.Limits.GitQueue)))
			fail(w, r, http.StatusServiceUnavailable, "busy", "every git backend is busy; try again")
			return
		}
		defer release()
		if r.Method == http.MethodPost && isReceivePack(r) {
			// One writer at a time: a push's updateInstead and a post's
			// working tree update would otherwise race for git's index.
			s.writeMu.Lock()
			defer s.writeMu.Unlock()
		}
		s.runGit(ctx, w, r, git, prefix, body)
	})
}

// body is a git request's body, read whole.
type body struct {
	io.Reader
	n    int64
	file *os.File // when it was too large to keep in memory
}

func (b *body) Close() {
	if b.file != nil {
		b.file.Close()
		os.Remove(b.file.Name())
	}
}

// inMemory is the largest git request body kept in memory; larger ones
// (pushes) are spooled to a temporary file.
const inMemory = 1 << 20

// gitBody reads a git request's body whole, up to its limit, and answers
// the client itself when that fails: 413 over the limit, 400 when the
// body ends before its Content-Length or the client stops sending.
func (s *Server) gitBody(w http.ResponseWriter, r *http.Request) (*body, error) {
	limit := s.opts.MaxBody
	switch {
	case strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
		limit = s.opts.MaxPush // the pack pushed
	case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		limit = s.opts.MaxFetch // wants and haves, 50 bytes each
	}
	if r.ContentLength > limit {
		s.metrics.gitBodies.WithLabelValues("too_large").Inc()
		fail(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is over %d bytes", limit))
		return nil, errTooLarge
	}
	in := http.MaxBytesReader(w, r.Body, limit)
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, in, inMemory+1)
	b := &body{n: n}
	if err == nil { // more than inMemory: the rest goes to a file
		f, ferr := os.CreateTemp("", "hive-git-body-")
		if ferr != nil {
			s.opts.Log.Error("git request body", "err", ferr)
			fail(w, r, http.StatusInternalServerError, "internal", "the request body could not be stored")
			return nil, ferr
		}
		b.file = f
		var m int64
		if _, err = f.Write(buf.Bytes()); err == nil {
			m, err = io.Copy(f, in)
			b.n += m
		}
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		b.Reader = f
	} else if errors.Is(err, io.EOF) {
		err = nil
		b.Reader = bytes.NewReader(buf.Bytes())
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		b.Close()
		s.metrics.gitBodies.WithLabelValues("too_large").Inc()
		fail(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is over %d bytes", limit))
		return nil, err
	case err != nil:
		b.Close()
		s.metrics.gitBodies.WithLabelValues("incomplete").Inc()
		s.opts.Log.Info("git request body incomplete", "path", r.URL.Path, "read", b.n, "content_length", r.ContentLength, "err", err, "remote", r.RemoteAddr)
		fail(w, r, http.StatusBadRequest, "incomplete", "the request body ended early or could not be read")
		return nil, err
	}
	return b, nil
}

var errTooLarge = errors.New("request body too large")

// gitSlot takes one of the backend slots, waiting up to Limits.GitQueue;
// false when none freed in time or the client went.
func (s *Server) gitSlot(ctx context.Context) (func(), bool) {
	t := time.NewTimer(s.opts.Limits.GitQueue)
	defer t.Stop()
	select {
	case s.gitSem <- struct{}{}:
	case <-t.C:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
	s.metrics.gitRunning.Inc()
	return func() {
		s.metrics.gitRunning.Dec()
		<-s.gitSem
	}, true
}

// retryAfter is a Retry-After in whole seconds, at least 1.
func retryAfter(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

// gitConnTimeout is how long a git request may hold its connection: its
// time, then time to end git and answer.
func (s *Server) gitConnTimeout() time.Duration {
	return s.opts.Limits.GitTimeout + killGrace + 10*time.Second
}

// killGrace is how long git may take to clean up (its lock files) after
// SIGTERM before the group is killed.
const killGrace = 2 * time.Second

// runGit runs git http-backend on one request whose body is read.
func (s *Server) runGit(ctx context.Context, w http.ResponseWriter, r *http.Request, git, prefix string, b *body) {
	start := time.Now()
	cmd := exec.Command(git, "http-backend")
	cmd.Env = s.gitEnv(r, prefix, b.n)
	cmd.Stdin = b.Reader
	stderr := &limitedBuffer{max: 64 << 10}
	cmd.Stderr = stderr
	cmd.WaitDelay = killGrace // then Wait stops waiting for copies of git's pipes
	ownGroup(cmd)
	stdout, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		s.opts.Log.Error("git http-backend", "err", err)
		fail(w, r, http.StatusInternalServerError, "internal", "git could not be started")
		return
	}
	// The group is signalled only before git is reaped (below), so its
	// id cannot have been reused.
	var (
		mu     sync.Mutex
		reason string
		over   = make(chan struct{})
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-over:
			return
		case <-ctx.Done():
		}
		mu.Lock()
		reason = "client_gone"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = "deadline"
		}
		mu.Unlock()
		signalGroup(cmd, false)
		select {
		case <-over:
		case <-time.After(killGrace):
			signalGroup(cmd, true)
		}
	}()
	copyErr := s.relayCGI(ctx, w, r, stdout)
	if copyErr != nil && ctx.Err() == nil {
		// the client stopped reading: end git now
		mu.Lock()
		reason = "client_gone"
		mu.Unlock()
		signalGroup(cmd, true)
	}
	close(over)
	wg.Wait()
	signalGroup(cmd, true) // whatever of the group outlived git's answer
	werr := cmd.Wait()
	mu.Lock()
	killed := reason
	mu.Unlock()
	if killed != "" {
		s.metrics.gitKilled.WithLabelValues(killed).Inc()
	}
	s.metrics.gitSeconds.Observe(time.Since(start).Seconds())
	if werr != nil && killed == "" && stderr.Len() > 0 {
		s.opts.Log.Warn("git http-backend", "err", werr, "stderr", stderr.String())
	} else if killed != "" {
		s.opts.Log.Info("git http-backend ended", "reason", killed, "path", r.URL.Path, "remote", r.RemoteAddr)
	}
}

// gitEnv is http-backend's environment: the CGI variables git reads, its
// configuration, and for an authenticated push the pusher, which the
// served hook reads. Request headers reach git only where git needs them
// (no Authorization).
func (s *Server) gitEnv(r *http.Request, prefix string, n int64) []string {
	id := identityOf(r.Context())
	push := id.writer != nil && isReceivePack(r) // guard let only an authorised push through
	env := []string{
		"GATEWAY_INTERFACE=CGI/1.1",
		"REQUEST_METHOD=" + r.Method,
		"PATH_INFO=" + strings.TrimPrefix(r.URL.Path, prefix),
		"QUERY_STRING=" + r.URL.RawQuery,
		"REMOTE_ADDR=" + clientAddr(r),
		"GIT_PROJECT_ROOT=" + s.dir,
		"GIT_HTTP_EXPORT_ALL=1",
		"GIT_CONFIG_COUNT=7",
		"GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=" + strconv.FormatBool(push),
		"GIT_CONFIG_KEY_1=core.hooksPath", "GIT_CONFIG_VALUE_1=" + s.hooks,
		// A served working hive keeps its working tree and index in step
		// with main, as hive does.
		"GIT_CONFIG_KEY_2=receive.denyCurrentBranch", "GIT_CONFIG_VALUE_2=updateInstead",
		// An automatic gc after a push stays in the request, not a
		// daemon that outlives it.
		"GIT_CONFIG_KEY_3=gc.autoDetach", "GIT_CONFIG_VALUE_3=false",
		// Clients see the branches and tags, nothing of the hive's own
		// refs (refs/hive/*: verified tips, remotes of sync) or other
		// local ones; hidden refs can neither be fetched nor pushed.
		"GIT_CONFIG_KEY_4=transfer.hideRefs", "GIT_CONFIG_VALUE_4=refs",
		"GIT_CONFIG_KEY_5=transfer.hideRefs", "GIT_CONFIG_VALUE_5=!refs/heads",
		"GIT_CONFIG_KEY_6=transfer.hideRefs", "GIT_CONFIG_VALUE_6=!refs/tags",
	}
	if n > 0 {
		env = append(env, "CONTENT_LENGTH="+strconv.FormatInt(n, 10))
	}
	if v := r.Header.Get("Content-Type"); v != "" {
		env = append(env, "CONTENT_TYPE="+v)
	}
	if v := r.Header.Get("Content-Encoding"); v != "" {
		env = append(env, "HTTP_CONTENT_ENCODING="+v)
	}
	if v := r.Header.Get("Git-Protocol"); v != "" {
		env = append(env, "HTTP_GIT_PROTOCOL="+v)
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "SYSTEMROOT"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if push {
		env = append(env, "REMOTE_USER="+id.writer.Instance)
		env = append(env, hooks.Env(s.opts.HiveBinary, *id.writer)...)
	}
	return env
}

// isReceivePack reports a request of git's push service.
func isReceivePack(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/git-receive-pack") ||
		strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-receive-pack"
}

// relayCGI copies a CGI answer to the client: the header lines (Status,
// Content-Type, ...), then the body, flushed as git writes it so that
// progress reaches the client. An error is the client's: it went away.
func (s *Server) relayCGI(ctx context.Context, w http.ResponseWriter, r *http.Request, stdout io.Reader) error {
	br := bufio.NewReaderSize(stdout, 32<<10)
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			fail(w, r, http.StatusGatewayTimeout, "timeout", fmt.Sprintf("git took longer than the server allows (%s)", s.opts.Limits.GitTimeout))
		case ctx.Err() != nil: // the client is gone
		default:
			if !errors.Is(err, io.EOF) {
				s.opts.Log.Warn("git http-backend: bad answer", "err", err)
			}
			fail(w, r, http.StatusBadGateway, "git_failed", "git ended without an answer")
		}
		return nil
	}
	code := http.StatusOK
	if st := h.Get("Status"); st != "" {
		if c, err := strconv.Atoi(strings.Fields(st + " ")[0]); err == nil && c >= 100 && c <= 599 {
			code = c
		}
		h.Del("Status")
	}
	for k, vs := range h {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(code)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := br.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if err := rc.Flush(); err != nil {
				return err
			}
		}
		if rerr != nil {
			return nil // git's answer is over (or git was ended)
		}
	}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}

// fail answers an error: in the JSON of the API, or, to git, in plain
// text, which git shows its user as "remote:" lines.
func fail(w http.ResponseWriter, r *http.Request, code int, errCode, msg string) {
	if !isGitRequest(r) {
		writeError(w, code, errCode, msg, nil)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "hive: %s\n", msg)
}

// isGitRequest reports a request to one of git's smart HTTP endpoints.
func isGitRequest(r *http.Request) bool {
	for _, p := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack", "/HEAD"} {
		if strings.HasSuffix(r.URL.Path, p) {
			return true
		}
	}
	return false
}

// clientAddr is the request's client address without its port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
