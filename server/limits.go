package server

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound what clients may take of the server. Zero fields take the
// defaults (DefaultLimits).
type Limits struct {
	// GitBackends is how many git backends (clone, fetch, push) run at
	// once; a request that finds none free within GitQueue gets 503 with
	// Retry-After.
	GitBackends int
	GitQueue    time.Duration
	// GitTimeout is a git request's whole time: its body, git, and the
	// answer. git is ended when it passes.
	GitTimeout time.Duration
	// ConnsPerAddr is how many connections one client address may hold
	// open; more are answered 503 and closed.
	ConnsPerAddr int
	// Writes limits writes (POST, git push), Searches expensive reads
	// (search, /instances), each per token, or per client address for
	// requests without one: 429 with Retry-After beyond.
	Writes, Searches Rate
}

// Rate is a rate limit: PerMinute requests a minute on average, Burst at
// once. A negative PerMinute is no limit; a zero Burst is a third of
// PerMinute.
type Rate struct {
	PerMinute float64
	Burst     int
}

// DefaultLimits are the limits of a server whose Options set none.
var DefaultLimits = Limits{
	GitBackends:  max(4, 2*runtime.NumCPU()),
	GitQueue:     10 * time.Second,
	GitTimeout:   10 * time.Minute,
	ConnsPerAddr: 32,
	Writes:       Rate{PerMinute: 60},
	Searches:     Rate{PerMinute: 600},
}

// withDefaults fills l's zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.GitBackends <= 0 {
		l.GitBackends = d.GitBackends
	}
	if l.GitQueue <= 0 {
		l.GitQueue = d.GitQueue
	}
	if l.GitTimeout <= 0 {
		l.GitTimeout = d.GitTimeout
	}
	if l.ConnsPerAddr <= 0 {
		l.ConnsPerAddr = d.ConnsPerAddr
	}
	if l.Writes.PerMinute == 0 {
		l.Writes.PerMinute = d.Writes.PerMinute
	}
	if l.Searches.PerMinute == 0 {
		l.Searches.PerMinute = d.Searches.PerMinute
	}
	for _, r := range []*Rate{&l.Writes, &l.Searches} {
		if r.Burst <= 0 {
			r.Burst = max(1, int(math.Round(r.PerMinute/3)))
		}
	}
	return l
}

// String describes a rate for the start-up log.
func (r Rate) String() string {
	if r.PerMinute < 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%g/min (bursts of %d)", r.PerMinute, r.Burst)
}

// limiter keeps a token bucket per class and client: a token's id, or a
// client address.
type limiter struct {
	rates   map[class]Rate
	metrics *metrics

	mu      sync.Mutex
	buckets map[bucketKey]*rate.Limiter
	pruneAt int
}

type bucketKey struct {
	cl  class
	who string
}

func newLimiter(l Limits, m *metrics) *limiter {
	lim := &limiter{
		rates:   map[class]Rate{classWrite: l.Writes, classPush: l.Writes, classSearch: l.Searches},
		metrics: m,
		buckets: map[bucketKey]*rate.Limiter{},
		pruneAt: 4096,
	}
	for name, r := range map[string]Rate{"write": l.Writes, "search": l.Searches} {
		m.rateLimit.WithLabelValues(name).Set(r.PerMinute)
		m.rateBurst.WithLabelValues(name).Set(float64(r.Burst))
	}
	return lim
}

// className names a rate-limited class in metrics.
func className(cl class) string {
	if cl == classSearch {
		return "search"
	}
	return "write"
}

// allow takes one request from the bucket of its class and client, or
// answers 429 with Retry-After and returns false.
func (l *limiter) allow(w http.ResponseWriter, r *http.Request, cl class, id identity) bool {
	rt, limited := l.rates[cl]
	if !limited || rt.PerMinute < 0 || cl == classPush && r.Method != http.MethodPost {
		return true // a push counts once: its upload, not its advertisement
	}
	who := "addr " + addrKey(clientAddr(r))
	if id.token != nil {
		who = "token " + id.token.ID
	}
	k := bucketKey{cl, who}
	l.mu.Lock()
	b, ok := l.buckets[k]
	if !ok {
		l.prune()
		b = rate.NewLimiter(rate.Limit(rt.PerMinute/60), rt.Burst)
		l.buckets[k] = b
	}
	res := b.Reserve()
	l.mu.Unlock()
	d := res.Delay()
	if d == 0 {
		return true
	}
	res.Cancel()
	l.metrics.rateLimited.WithLabelValues(className(cl)).Inc()
	secs := retryAfter(d)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	fail(w, r, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("too many %s requests from this %s; retry in %d s", className(cl), map[bool]string{true: "token", false: "address"}[id.token != nil], secs))
	return false
}

// prune drops the buckets that are full again (their clients idle), once
// the map has doubled since the last prune, so that many clients cannot
// grow it without bound. Called with l.mu held.
func (l *limiter) prune() {
	if len(l.buckets) < l.pruneAt {
		return
	}
	now := time.Now()
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k)
		}
	}
	l.pruneAt = max(4096, 2*len(l.buckets))
}

// addrKey is the client a rate limit or connection count applies to: an
// IPv4 address, or the /64 network of an IPv6 address (one host commonly
// holds a whole /64).
func addrKey(host string) string {
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// addrListener caps the connections open at once from one client
// address: a client over the cap gets a 503 and is closed.
type addrListener struct {
	net.Listener
	max     int
	plain   bool // HTTP, not TLS: the refusal can be an HTTP answer
	metrics *metrics

	mu   sync.Mutex
	open map[string]int
}

func newAddrListener(ln net.Listener, max int, plain bool, m *metrics) *addrListener {
	m.connsPerAddr.Set(float64(max))
	return &addrListener{Listener: ln, max: max, plain: plain, metrics: m, open: map[string]int{}}
}

// Accept returns the next connection within the cap, refusing others.
func (l *addrListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		key := addrKey(host)
		l.mu.Lock()
		over := l.open[key] >= l.max
		if !over {
			l.open[key]++
		}
		l.mu.Unlock()
		if over {
			l.metrics.connsRefused.Inc()
			go l.refuse(c)
			continue
		}
		return &countedConn{Conn: c, done: func() {
			l.mu.Lock()
			if l.open[key]--; l.open[key] <= 0 {
				delete(l.open, key)
			}
			l.mu.Unlock()
		}}, nil
	}
}

// refuse answers a connection over the cap and closes it.
func (l *addrListener) refuse(c net.Conn) {
	defer c.Close()
	if !l.plain {
		return
	}
	c.SetDeadline(time.Now().Add(time.Second))
	const msg = "too many connections from this address\n"
	fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(msg), msg)
}

// countedConn gives its place back once, when closed.
type countedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.done)
	return c.Conn.Close()
}

// describeLimits says, for the start-up log, what the limits are.
func (s *Server) describeLimits() string {
	l := s.opts.Limits
	return fmt.Sprintf("writes %s, searches %s per token or address; %d git backends (queue %s, timeout %s); %d connections per address",
		l.Writes, l.Searches, l.GitBackends, l.GitQueue, l.GitTimeout, l.ConnsPerAddr)
}
