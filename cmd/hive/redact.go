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
	s = userinfo.ReplaceAllStringFunc(s, func(m string) string {
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
	// A URL mistyped so that it is no URL (git:TOKEN@host/x without its
	// scheme, http:/git:TOKEN@host with one slash) still hides a password.
	return bareUserinfo.ReplaceAllString(s, "${1}${2}:xxxxx@")
}

// bareUserinfo finds a user:password@ that stands outside a well-formed
// URL: a name, a colon, then a word with no slash, space, colon or quote
// up to an "@".
var bareUserinfo = regexp.MustCompile(`(^|[^A-Za-z0-9._~%+-])([A-Za-z0-9._~%+-]+):([^\s/@:"']+)@`)
