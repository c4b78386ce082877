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

// TestStdioMalformedLines: a line that is no JSON-RPC message gets an
// error answer as JSON-RPC 2.0 says, and the server reads on: the requests
// before and after it are answered, and Run ends at the end of input, not
// at the bad line.
func TestStdioMalformedLines(t *testing.T) {
	h := newHive(t)
	const (
		initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}`
		list       = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
		after      = `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`
	)
	cases := []struct {
		name, line string
		want       string // the answer to line
	}{
		{"not JSON", `this is not json`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: invalid character 'h' in literal true (expecting 'r')"}}`},
		{"truncated", `{"jsonrpc":"2.0","id":9,"method":"tools/li`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: unexpected end of JSON input"}}`},
		{"two values", `{"jsonrpc":"2.0","id":9,"method":"tools/list"} {}`, `"code":-32700`},
		{"no version", `{"id":10}`, `{"jsonrpc":"2.0","id":10,"error":{"code":-32600,"message":"invalid request: invalid message version tag \"\"; expected \"2.0\""}}`},
		{"wrong version", `{"jsonrpc":"1.0","id":"x","method":"tools/list"}`, `{"jsonrpc":"2.0","id":"x","error":{"code":-32600,`},
		{"no method, no id", `{"jsonrpc":"2.0"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: a message needs a method, or an id and a result or error"}}`},
		{"an id alone", `{"jsonrpc":"2.0","id":30}`, `{"jsonrpc":"2.0","id":30,"error":{"code":-32600,"message":"invalid request: a message needs a method, or an id and a result or error"}}`},
		{"id of a bad kind", `{"jsonrpc":"2.0","id":[1],"method":"tools/list"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,`},
		{"not an object", `42`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: a message is a JSON object"}}`},
		{"empty batch", `[]`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"empty batch"}}`},
		{"batch in 2025-06-18", `[` + after + `]`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"protocol 2025-06-18 has no batches (since 2025-06-18)"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := mcp.New(mcp.NewLocal(h.st), mcp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := strings.Join([]string{initialize, list, tc.line, "", after}, "\n") + "\n"
			var out lockedBuffer
			if err := srv.Run(context.Background(), mcp.Stdio(strings.NewReader(in), &out)); err != nil && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("Run = %v", err)
			}
			lines := strings.Split(strings.TrimSuffix(out.b.String(), "\n"), "\n")
			if len(lines) != 4 {
				t.Fatalf("%d answers, want 4:\n%s", len(lines), out.b.String())
			}
			found := 0
			for _, l := range lines {
				switch {
				case strings.HasPrefix(l, `{"jsonrpc":"2.0","id":1,"result":`),
					strings.HasPrefix(l, `{"jsonrpc":"2.0","id":2,"result":`),
					strings.HasPrefix(l, `{"jsonrpc":"2.0","id":3,"result":`):
					found++
				case strings.Contains(l, tc.want):
					found++
				default:
					t.Errorf("unexpected answer %.200s", l)
				}
			}
			if found != 4 {
				t.Fatalf("%d answers as expected, want 4", found)
			}
		})
	}
}

// TestStdioBatchBeforeJune2025: a client that asked for a protocol with
// batches has its batch answered as one.
func TestStdioBatchBeforeJune2025(t *testing.T) {
	h := newHive(t)
	in := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}
[{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"jsonrpc":"2.0","id":3,"method":"tools/list"}]
[{"jsonrpc":"2.0","id":4,"method":"tools/list"},{"id":5}]
`
	srv, err := mcp.New(mcp.NewLocal(h.st), mcp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	if err := srv.Run(context.Background(), mcp.Stdio(strings.NewReader(in), &out)); err != nil && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("Run = %v", err)
	}
	got := out.b.String()
	if !strings.Contains(got, `[{"jsonrpc":"2.0","id":2,"result":`) || !strings.Contains(got, `},{"jsonrpc":"2.0","id":3,"result":`) {
		t.Fatalf("no batch answer:\n%s", got)
	}
	if !strings.Contains(got, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch member 2: invalid request: invalid message version tag \"\"; expected \"2.0\""}}`) {
		t.Fatalf("no answer to the bad batch:\n%s", got)
	}
	if n := strings.Count(got, "\n"); n != 3 {
		t.Fatalf("%d lines, want 3:\n%s", n, got)
	}
}
