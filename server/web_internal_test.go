package server

import (
	"bytes"
	"log/slog"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestRenderTemplateError: a template that fails while it runs is never
// half-sent or dropped: the client gets the 500 error page, the log the
// error, with the template's name.
func TestRenderTemplateError(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{opts: Options{Log: slog.New(slog.NewTextHandler(&logs, nil))}}
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest("GET", "/web/skills/x", nil), 200, "skill", &view{Title: "x", Data: "not a skill"})
	if w.Code != 500 {
		t.Errorf("status = %d, want 500", w.Code)
	}
	body := w.Body.String()
	if !strings.Contains(body, "the page could not be rendered") || !strings.Contains(body, `href="/"`) {
		t.Errorf("body is not the error page with a way back:\n%s", body)
	}
	if strings.Contains(body, "<h1>") && strings.Count(body, "<html") != 1 {
		t.Errorf("a half page was sent before the error page:\n%s", body)
	}
	if !strings.Contains(logs.String(), "web template") || !strings.Contains(logs.String(), "template=skill") {
		t.Errorf("log = %q, want the template's error", logs.String())
	}
}

// TestTemplatesParse: every page template exists.
func TestTemplatesParse(t *testing.T) {
	for _, name := range []string{"index", "skill", "instances", "instance", "disputes", "hive", "error", "head", "foot", "skillrows", "pager", "status", "disputed"} {
		if pages.Lookup(name) == nil {
			t.Errorf("no template %q", name)
		}
	}
}

// TestPublicURL: the public URL is the operator's (checked), else the
// address the server listens on, a host name for every interface.
func TestPublicURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"https://hive.example.org", "https://hive.example.org", ""},
		{"http://hive.example.org:8080/", "http://hive.example.org:8080", ""},
		{"HTTPS://hive.example.org", "https://hive.example.org", ""},
		{"ftp://hive.example.org", "", "want http:// or https://"},
		{"https://hïve.example.org", "", "give the host in ASCII"},
		{"https://xn--hve-6la.example.org", "https://xn--hve-6la.example.org", ""},
		{"http://hive.example.org:99999", "", "port 99999 is not in 1-65535"},
		{"http://hive.example.org:0", "", "not in 1-65535"},
		{"http://[::1]:8080", "http://[::1]:8080", ""},
		{"hive.example.org", "", "want http:// or https://"},
		{"https://", "", "no host"},
		{"https://:8080", "", "no host"},
		{"https://hive.example.org/hive", "", "not under /hive"},
		{"https://hive.example.org?x", "", "only a scheme"},
		{"https://hive.example.org#x", "", "only a scheme"},
		{"https://alice:secret@hive.example.org", "", "only a scheme"},
	} {
		got, err := CheckURL(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckURL(%q) = %q, %v, want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("CheckURL(%q): the password is in the error %q", tc.in, err)
		}
	}
	host, _ := os.Hostname()
	for _, tc := range []struct {
		addr net.Addr
		tls  bool
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, false, "http://127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 443}, true, "https://[::1]:443"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 80}, false, "http://" + net.JoinHostPort(host, "80")},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 80}, false, "http://" + net.JoinHostPort(host, "80")},
	} {
		if got := listenURL(tc.addr, tc.tls); got != tc.want {
			t.Errorf("listenURL(%s, %v) = %q, want %q", tc.addr, tc.tls, got, tc.want)
		}
	}
}

// TestWriteJSONFails: an answer that cannot be encoded is a 500 with the
// API's JSON error and a log line, never a 200 with an empty body.
func TestWriteJSONFails(t *testing.T) {
	var log bytes.Buffer
	s := &Server{opts: Options{Log: slog.New(slog.NewTextHandler(&log, nil))}}
	rec := httptest.NewRecorder()
	s.writeJSON(rec, 200, map[string]any{"threshold": math.NaN()})
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"internal"`) {
		t.Errorf("writeJSON(NaN) = %d %q, want 500 with the JSON error", rec.Code, rec.Body)
	}
	if !strings.Contains(log.String(), "NaN") {
		t.Errorf("writeJSON(NaN) logged %q, want the encoder's error", log.String())
	}
}
