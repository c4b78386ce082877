package main

import "testing"

func TestShownURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://git:hive_secret@127.0.0.1:8080/hive.git": "http://git:xxxxx@127.0.0.1:8080/hive.git",
		"http://127.0.0.1:8080/hive.git":                 "http://127.0.0.1:8080/hive.git",
		"https://user@host/x":                            "https://user@host/x",
		"../hub.git":                                     "../hub.git",
		"git@github.com:o/r.git":                         "git@github.com:o/r.git",
	} {
		if got := shownURL(in); got != want {
			t.Errorf("shownURL(%q) = %q, want %q", in, got, want)
		}
	}
}
