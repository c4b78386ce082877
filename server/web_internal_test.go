package server

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
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
