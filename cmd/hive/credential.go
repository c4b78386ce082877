package main

import (
	"errors"
	"net/http"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	gitclient "github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/hive-dev/hive/client"
)

// useCredentials has git's http(s) transport answer a server that asks for
// credentials (401) as git does, for a command about remoteURL: with
// $HIVE_TOKEN, offered to remoteURL's host only, then with git's
// credential helpers, run in dir (the hive's folder, for its own
// credential.* settings). A token in the URL itself is sent as it is.
func useCredentials(dir, remoteURL string) {
	var cs []client.Credentials
	if t := os.Getenv("HIVE_TOKEN"); t != "" {
		cs = append(cs, client.TokenCredentials(remoteURL, t))
	}
	cs = append(cs, client.GitCredentials{Dir: dir})
	tr := githttp.NewClient(&http.Client{Transport: client.AuthTransport(nil, cs...)})
	gitclient.InstallProtocol("http", tr)
	gitclient.InstallProtocol("https", tr)
}

// remoteHint adds to a refusal by a remote server what to do about it.
func remoteHint(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return &hintError{err, "the server wants a token (its operator makes one: hive serve token add --instance YOU): " +
			"give it as HIVE_TOKEN=... for this command, or keep it in a git credential helper (docs/sync.md, Tokens)"}
	case errors.Is(err, transport.ErrAuthorizationFailed) && strings.Contains(err.Error(), "read-only"):
		return &hintError{err, "this server takes no git push until its operator makes tokens; ask them for one " +
			"(hive serve token add --instance YOU, which also lets your first push register your key)"}
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return &hintError{err, "the server refused the token: it may have expired, been revoked, or be for another instance (docs/sync.md, Tokens)"}
	}
	return err
}
