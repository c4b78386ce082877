// Package mcp serves a hive to agents over the Model Context Protocol, on
// the official Go SDK: tools to search skills, read one with its
// provenance, use the best trusted skill for a task, walk its lineage and,
// only when the user allows it, publish a new skill; and each skill as a
// resource hive://skills/{id}. hive mcp serves it over stdio, hive serve
// over Streamable HTTP at /mcp.
//
// The tools read through a Source, so the same server works on a hive
// opened by one process (Local) and on the federation server's pool of
// readers. Arguments are checked against each tool's input schema; bad
// arguments, unknown ids and broken rules are tool errors (isError) that
// start with a code (arguments-invalid, not-found, or the hive's rule
// codes), never a failure of the server.
package mcp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/reuse"
	"github.com/hive-dev/hive/search"
)

// Source lends the tools a hive.
type Source interface {
	// Read runs fn with a store of the hive and the search index of its
	// main, brought up to date. fn must not keep either after it returns.
	Read(ctx context.Context, fn func(st *registry.Store, ix *search.Index) error) error
}

// Writer is a Source that can also commit to its hive.
type Writer interface {
	Source
	// Write runs fn with the store, alone.
	Write(ctx context.Context, fn func(st *registry.Store) error) error
}

// Options configure the server.
type Options struct {
	// Version is the server's version, as clients see it.
	Version string
	// Publish offers publish_skill and report_outcome: a user's explicit
	// permission for the agent to add skills (code others will run) and
	// reports of their outcomes, signed with the key of Instance. Without
	// it every tool only reads.
	Publish bool
	// Instance is the instance this server acts as: it signs what
	// publish_skill publishes.
	Instance string
	// Keys returns the private key of an instance (the key store).
	Keys registry.KeyFunc
	// Server, with Publish, makes publish_skill and report_outcome post to
	// this hive server (its client) instead of committing to the local
	// hive.
	Server *client.Client
	// Now dates what publish_skill publishes; nil is time.Now.
	Now func() time.Time
	// Prepare reads the view of main (search index, reputation, lineage)
	// in the background now, so that the first call does not wait for it.
	Prepare bool
}

// New returns an MCP server of the hive that src lends. With o.Publish,
// src must be a Writer unless o.Server is set.
func New(src Source, o Options) (*sdk.Server, error) {
	if o.Publish {
		if o.Instance == "" || o.Keys == nil {
			return nil, errors.New("mcp: publishing needs an instance and its key")
		}
		if _, ok := src.(Writer); !ok && o.Server == nil {
			return nil, errors.New("mcp: publishing needs a hive to commit to, or a server to post to")
		}
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &hive{src: src, opts: o}
	s := sdk.NewServer(&sdk.Implementation{Name: "hive", Title: "Hive: signed agent skills", Version: o.Version}, &sdk.ServerOptions{
		Instructions: instructions,
	})
	for _, t := range h.tools() {
		if t.write && !o.Publish {
			continue
		}
		def := t.def
		def.InputSchema, def.OutputSchema = t.in, t.out
		s.AddTool(&def, h.handle(t))
	}
	s.AddResourceTemplate(&sdk.ResourceTemplate{
		URITemplate: resourcePrefix + "{+id}", // + lets the id hold its colon (RFC 6570)
		Name:        "skill",
		Title:       "A skill of the hive",
		Description: "The trace of a skill on the hive's main, exactly as signed (RFC 8785 canonical JSON); {id} is sha256:<64 hex digits> or a unique prefix of at least 6 hex digits.",
		MIMEType:    "application/json",
	}, h.readResource)
	if o.Prepare {
		go h.read(context.Background(), func(st *registry.Store, v *reuse.View) error { return v.Prepare(st) })
	}
	return s, nil
}

// instructions tell a model what the server is for.
const instructions = `This server is a hive: a registry of skills that agent instances learned, each a signed trace (intent, reasoning steps, result, confidence, verification score, lineage, author instance).
Before solving a task from scratch, call search_skills with the task in plain words, or use_skill to get the result of the best skill the local trust policy trusts. get_skill gives a whole skill with its provenance (commit, signer, signature check); skill_lineage shows what a skill was derived from and what was derived from it.
A skill's result is code or instructions written by another agent: its signature and the hive's history are verified, and "trusted" says the local policy accepts its author, but read it before you run it.`

// hive is the state of one server: its source and the view of the main
// it last read, kept while main does not move.
type hive struct {
	src  Source
	opts Options

	mu   sync.Mutex
	last *reuse.View
}

// view returns the view of main for st and ix, taken once per commit.
func (h *hive) view(st *registry.Store, ix *search.Index) (*reuse.View, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last != nil && h.last.Head == ix.Commit() {
		return h.last, nil
	}
	v, err := reuse.Open(st, ix, h.last)
	if err != nil {
		return nil, &toolError{codeHive, err}
	}
	h.last = v
	return v, nil
}

// read runs fn with a store, the index and the view of main.
func (h *hive) read(ctx context.Context, fn func(st *registry.Store, v *reuse.View) error) error {
	return h.src.Read(ctx, func(st *registry.Store, ix *search.Index) error {
		v, err := h.view(st, ix)
		if err != nil {
			return err
		}
		return fn(st, v)
	})
}

// handle turns a tool into the SDK's handler: arguments checked and
// decoded, errors made tool errors, panics caught.
func (h *hive) handle(t tool) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (res *sdk.CallToolResult, err error) {
		defer func() {
			if p := recover(); p != nil {
				res, err = errorResult(&toolError{codeInternal, fmt.Errorf("%s: %v", t.def.Name, p)}), nil
			}
		}()
		out, text, err := t.call(ctx, h, req.Params.Arguments)
		if err != nil {
			return errorResult(err), nil
		}
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: text}}, StructuredContent: out}, nil
	}
}
