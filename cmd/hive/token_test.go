package main

import (
	"errors"
	"slices"
	"testing"
)

func TestShownURL(t *testing.T) {
	for in, want := range map[string]string{
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
	} {
		if got := shownURL(in); got != want {
			t.Errorf("shownURL(%q) = %q, want %q", in, got, want)
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

func TestCopyableURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://git:hive_secret@h:8080/hive.git": "http://h:8080/hive.git",
		"https://TOKEN@h/x":                      "https://h/x",
		"http://h/x":                             "http://h/x",
		"../hub.git":                             "../hub.git",
		"git:secret@h/x":                         "git:xxxxx@h/x",
	} {
		if got := copyableURL(in); got != want {
			t.Errorf("copyableURL(%q) = %q, want %q", in, got, want)
		}
	}
}
