package main

import (
	"regexp"
	"strings"
)

// userinfo finds the user information of URLs in a text: the scheme, and
// what stands between "://" and the last "@" before the host's end.
var userinfo = regexp.MustCompile(`\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^/?#\s@]*(?:@[^/?#\s@]*)*)@`)

// shownURL is a remote's URL, or any text holding URLs (an error from
// git), as it may be printed: a password in a URL's user information
// becomes xxxxx (http://git:TOKEN@host, a server's token), and so does a
// lone user name in an http(s) URL, which servers also take as a token
// (https://TOKEN@host). An ssh user name (ssh://git@host) is no secret
// and stays.
func shownURL(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfo.FindStringSubmatch(m)
		scheme, info := sub[1], sub[2]
		if user, _, ok := strings.Cut(info, ":"); ok {
			return scheme + "://" + user + ":xxxxx@"
		}
		if s := strings.ToLower(scheme); s == "http" || s == "https" {
			return scheme + "://xxxxx@"
		}
		return m
	})
}
