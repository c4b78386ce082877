package mcp

import (
	"context"
	"errors"
	"regexp"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// Codes that start a tool error's text, besides the hive's own rule codes
// (trace-schema, trace-threshold, lineage-missing...), which an error
// from the validator carries already.
const (
	codeArguments = "arguments-invalid" // the arguments do not fit the tool's input schema
	codeNotFound  = "not-found"         // no such skill on main
	codeExists    = "already-present"   // publish_skill of a skill the hive has
	codeHive      = "hive-unusable"     // main does not verify, or cannot be read
	codeKey       = "key-missing"       // no private key to sign with
	codeServer    = "server-refused"    // the hive server refused a publish
	codeCanceled  = "canceled"          // the client gave up
	codeInternal  = "internal"          // a bug
)

// hasCode matches a line that starts with a code already.
var hasCode = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+: `)

// toolError is an error with the code a tool error starts with.
type toolError struct {
	code string
	err  error
}

func (e *toolError) Error() string { return e.code + ": " + e.err.Error() }
func (e *toolError) Unwrap() error { return e.err }

// errorResult is the tool error (isError) for err: one line per problem,
// each starting with a code.
func errorResult(err error) *sdk.CallToolResult {
	return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: errorText(err)}}}
}

func errorText(err error) string {
	var te *toolError
	if errors.As(err, &te) {
		return te.Error()
	}
	if es := schema.All(err); len(es) > 0 {
		lines := make([]string, len(es))
		for i, e := range es {
			lines[i] = e.Error()
		}
		return strings.Join(lines, "\n")
	}
	var ce *client.Error
	if errors.As(err, &ce) && len(ce.Reasons) > 0 {
		return serverText(ce)
	}
	code := ""
	switch {
	case errors.Is(err, registry.ErrExists) || errors.As(err, &ce) && ce.Status == 409:
		code = codeExists
	case errors.As(err, &ce):
		code = codeServer
	case errors.Is(err, registry.ErrNotFound) && !errors.Is(err, signing.ErrNotFound):
		code = codeNotFound
	case errors.Is(err, signing.ErrNotFound):
		code = codeKey
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = codeCanceled
	}
	var lines []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimPrefix(line, publishInput+": ")
		if code != "" && !hasCode.MatchString(line) {
			line = code + ": " + line
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// serverText is a hive server's refusal: its status on the first line,
// then one line per reason, each starting with its rule code.
func serverText(ce *client.Error) string {
	code := codeServer
	if ce.Status == 409 {
		code = codeExists
	}
	head := *ce
	head.Reasons = nil
	lines := []string{code + ": " + head.Error()}
	for _, r := range ce.Reasons {
		for _, line := range strings.Split(r, "\n") {
			if !hasCode.MatchString(line) {
				line = code + ": " + line
			}
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}
