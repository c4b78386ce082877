package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/mcp"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/search"
)

// mcpHandler serves the hive's MCP tools over Streamable HTTP, read-only
// (publishing goes through POST /skills). Each request stands alone
// (stateless, JSON answers), so no session outlives it.
func (s *Server) mcpHandler() http.Handler {
	srv, err := mcp.New(source{s}, mcp.Options{Version: "serve"})
	if err != nil {
		panic(err) // only publishing options can fail, and none are given
	}
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv },
		&sdk.StreamableHTTPOptions{Stateless: true, JSONResponse: true, MaxRequestBodyBytes: s.opts.MaxBody,
			// The server's guard has checked the Host already, as the
			// SDK would (a loopback connection answers only a loopback
			// Host), and also lets the operator's --url through, which a
			// reverse proxy on the same machine sends.
			DisableLocalhostProtection: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		// A message with an id and nothing else would be taken for a
		// response and answered with 202 and nothing: answer it as
		// JSON-RPC says, as hive mcp does on its standard input.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			fail(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is over %d bytes", s.opts.MaxBody))
			return
		case err != nil:
			fail(w, r, http.StatusBadRequest, "bad_request", "reading the request body: "+err.Error())
			return
		}
		if answer, bad := mcp.NotMessage(body); bad {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write(answer)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
}

// source lends the MCP tools a reader of the served hive and its index.
type source struct{ s *Server }

func (src source) Read(ctx context.Context, fn func(st *registry.Store, ix *search.Index) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st, done, err := src.s.reader()
	if err != nil {
		return err
	}
	defer done()
	ix, err := src.s.index(st)
	if err != nil {
		return err
	}
	return fn(st, ix)
}
