package main

import (
	"errors"
	"slices"
	"testing"
)

// TestRedaction: what a message shows of a remote (shownURL) and what a
// command to copy names (copyableURL).
func TestRedaction(t *testing.T) {
	for _, f := range []struct {
		name  string
		fn    func(string) string
		cases map[string]string
	}{
		{"shownURL", shownURL, map[string]string{
			"http://git:hive_secret@127.0.0.1:8080/hive.git": "http://git:xxxxx@127.0.0.1:8080/hive.git",
			"http://127.0.0.1:8080/hive.git":                 "http://127.0.0.1:8080/hive.git",
			"https://hive_secret@host/x":                     "https://xxxxx@host/x",
			"HTTPS://git:s@host":                             "HTTPS://git:xxxxx@host",
			"http://git:p@ss@host/x":                         "http://git:xxxxx@host/x",
			"ssh://git@host/x":                               "ssh://git@host/x",
			"ssh://git:secret@host/x":                        "ssh://git:xxxxx@host/x",
			"../hub.git":                                     "../hub.git",
			"git@github.com:o/r.git":                         "git@github.com:o/r.git",
			"push to http://git:t@h:1/x: command error on refs/heads/main: ...": "push to http://git:xxxxx@h:1/x: command error on refs/heads/main: ...",
			"Get \"https://a:b@h/info/refs\": eof; again https://c@h2":          "Get \"https://a:xxxxx@h/info/refs\": eof; again https://xxxxx@h2",
			"mail me at x@example.com":                                          "mail me at x@example.com",
			"git:hive_secret@127.0.0.1:18180/hive.git":                          "git:xxxxx@127.0.0.1:18180/hive.git",
			"push to http:/git:hive_secret@h/x: bad":                            "push to http:/git:xxxxx@h/x: bad",
			"remote git:hive_secret@h: no scheme":                               "remote git:xxxxx@h: no scheme",
			"git@github.com:o/r.git and ssh://git@h:22/x":                       "git@github.com:o/r.git and ssh://git@h:22/x",
			"http://[::1]:8080/x and localhost:8080":                            "http://[::1]:8080/x and localhost:8080",
			"http://hive_secret:@h/x":                                           "http://xxxxx@h/x",
			"http:/hive_secret@h/x":                                             "http:/xxxxx@h/x",
			"hive_a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2@h/x and key hive_a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2": "hive_xxxxx@h/x and key hive_xxxxx",
		}},
		{"copyableURL", copyableURL, map[string]string{
			"http://git:hive_secret@h:8080/hive.git": "http://h:8080/hive.git",
			"https://TOKEN@h/x":                      "https://h/x",
			"http://h/x":                             "http://h/x",
			"../hub.git":                             "../hub.git",
			"git:secret@h/x":                         "git:xxxxx@h/x",
		}},
	} {
		for in, want := range f.cases {
			if got := f.fn(in); got != want {
				t.Errorf("%s(%q) = %q, want %q", f.name, in, got, want)
			}
		}
	}
}

func TestErrorLines(t *testing.T) {
	for in, want := range map[string][]string{
		"push to http://git:t@h/x: authentication required: ": {"push to http://git:xxxxx@h/x: authentication required"},
		"two\nlines\n": {"two", "lines"},
		"want \"a:\"":  {"want \"a:\""},
	} {
		if got := errorLines(errors.New(in)); !slices.Equal(got, want) {
			t.Errorf("errorLines(%q) = %q, want %q", in, got, want)
		}
	}
}
