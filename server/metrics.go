package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	skills   *prometheus.CounterVec

	// the server's limits (limits.go, git.go, auth.go)
	gitRunning   prometheus.Gauge
	gitMax       prometheus.Gauge
	gitBusy      prometheus.Counter
	gitKilled    *prometheus.CounterVec
	gitBodies    *prometheus.CounterVec
	gitSeconds   prometheus.Histogram
	rateLimited  *prometheus.CounterVec
	rateLimit    *prometheus.GaugeVec
	rateBurst    *prometheus.GaugeVec
	connsRefused prometheus.Counter
	connsPerAddr prometheus.Gauge
	authRefused  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hive_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hive_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		skills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hive_skills_posted_total", Help: "POST /skills outcomes.",
		}, []string{"outcome"}),
	}
	m.gitRunning = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hive_git_backends", Help: "git backends running."})
	m.gitMax = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hive_git_backends_max", Help: "git backends allowed at once."})
	m.gitBusy = prometheus.NewCounter(prometheus.CounterOpts{Name: "hive_git_busy_total", Help: "git requests refused (503) because every backend was busy."})
	m.gitKilled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hive_git_killed_total", Help: "git backends ended before their answer was over, by reason."}, []string{"reason"})
	m.gitBodies = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hive_git_bodies_refused_total", Help: "git request bodies refused before git started, by reason."}, []string{"reason"})
	m.gitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hive_git_backend_seconds", Help: "Time git backends ran.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 16)})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hive_rate_limited_total", Help: "Requests refused (429) by a rate limit, by class."}, []string{"class"})
	m.rateLimit = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hive_rate_limit_per_minute", Help: "Configured rate limit per token or client address, by class; negative: none."}, []string{"class"})
	m.rateBurst = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hive_rate_limit_burst", Help: "Configured burst of each rate limit, by class."}, []string{"class"})
	m.connsRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "hive_connections_refused_total", Help: "Connections refused because their address held too many."})
	m.connsPerAddr = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hive_connections_per_address_max", Help: "Connections one client address may hold open."})
	m.authRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hive_auth_refused_total", Help: "Requests refused by the access model, by reason."}, []string{"reason"})
	m.reg.MustRegister(m.gitRunning, m.gitMax, m.gitBusy, m.gitKilled, m.gitBodies, m.gitSeconds, m.rateLimited, m.rateLimit, m.rateBurst, m.connsRefused, m.connsPerAddr, m.authRefused)
	m.reg.MustRegister(m.requests, m.duration, m.skills,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves /metrics.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times requests to a route, and logs them.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
		s.opts.Log.Info("request", "method", r.Method, "path", r.URL.Path, "route", route, "status", sw.code, "duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
	})
}
