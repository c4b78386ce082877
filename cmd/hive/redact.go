package main

import (
	"net/url"
	"regexp"
	"strings"
)

// userinfo finds the user information of URLs in a text: the scheme, the
// separator (":/" to ":///", for URLs typed with a slash too few or too
// many), and what stands between it and the last "@" before the host's end.
var userinfo = regexp.MustCompile(`\b([a-zA-Z][a-zA-Z0-9+.-]*)(:/{1,3})([^/?#\s@]*(?:@[^/?#\s@]*)*)@`)

// shownURL is a remote's URL, or any text holding URLs (an error from
// git), as it may be printed: a password in a URL's user information
// becomes xxxxx (http://git:TOKEN@host, a server's token), and so does a
// user name in an http(s) URL without a password, which servers also take
// as a token (https://TOKEN@host, https://TOKEN:@host); an ssh user name
// (ssh://git@host) is no secret and stays. A hive token (hive_ and 52
// letters and digits) is masked wherever it stands, however the URL around
// it was mistyped.
func shownURL(s string) string {
	if strings.Contains(s, "@") {
		s = userinfo.ReplaceAllStringFunc(s, func(m string) string {
			sub := userinfo.FindStringSubmatch(m)
			scheme, sep, info := sub[1], sub[2], sub[3]
			user, pw, _ := strings.Cut(info, ":")
			switch low := strings.ToLower(scheme); {
			case pw != "":
				return scheme + sep + user + ":xxxxx@"
			case low == "http" || low == "https":
				return scheme + sep + "xxxxx@"
			}
			return m
		})
		// A URL mistyped so that it is no URL (git:TOKEN@host/x without
		// its scheme) still hides a password.
		s = bareUserinfo.ReplaceAllString(s, "${1}${2}:xxxxx@")
	}
	return hiveToken.ReplaceAllString(s, "hive_xxxxx")
}

// copyableURL is a remote's URL as a command for the user to copy names
// it: without user information, which git then asks its credential
// helpers for (a masked password would make the command fail).
func copyableURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil && u.Host != "" {
		u.User = nil
		return u.String()
	}
	return shownURL(raw)
}

// bareUserinfo finds a user:password@ that stands outside a well-formed
// URL: a name, a colon, then a word with no slash, space, colon or quote
// up to an "@".
var bareUserinfo = regexp.MustCompile(`(^|[^A-Za-z0-9._~%+-])([A-Za-z0-9._~%+-]+):([^\s/@:"']+)@`)

// hiveToken is a token of hive serve (tokens: "hive_" and 32 random bytes
// in lower-case base32).
var hiveToken = regexp.MustCompile(`hive_[a-z2-7]{52}`)
