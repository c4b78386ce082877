package mcp_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hive-dev/hive/mcp"
)

// lockedBuffer is a bytes.Buffer safe for the server's writer goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestStdioAnswersBeforeEOF: requests piped in and followed by the end of
// input are all answered before the server stops, as `hive mcp < file`.
func TestStdioAnswersBeforeEOF(t *testing.T) {
	h := newHive(t)
	in := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_skills","arguments":{"query":"use environment variables for auth"}}}
{"jsonrpc":"2.0","id":"three","method":"tools/call","params":{"name":"get_skill","arguments":{"id":"` + string(h.seed) + `"}}}
{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_skill","arguments":{"id":42}}}
`
	for round := range 10 {
		srv, err := mcp.New(mcp.NewLocal(h.st), mcp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out lockedBuffer
		if err := srv.Run(context.Background(), mcp.Stdio(strings.NewReader(in), &out)); err != nil && !strings.Contains(err.Error(), "EOF") {
			t.Fatalf("round %d: Run = %v", round, err)
		}
		got := out.b.String()
		for _, id := range []string{`"id":1,`, `"id":2,`, `"id":"three",`, `"id":4,`} {
			if !strings.Contains(got, id) {
				t.Fatalf("round %d: no answer with %s:\n%s", round, id, got)
			}
		}
		if n := strings.Count(got, "\n"); n != 4 {
			t.Fatalf("round %d: %d lines, want 4:\n%s", round, n, got)
		}
		if !strings.Contains(got, `"isError":true`) || !strings.Contains(got, "DB_PASSWORD") {
			t.Fatalf("round %d: answers:\n%s", round, fmt.Sprint(got))
		}
	}
}
