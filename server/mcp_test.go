package server_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/server"
	"github.com/hive-dev/hive/tokens"
)

// TestMCP: /mcp serves the read-only tools; it counts as a read (no token
// needed where tokens are configured for writes), and a private server
// wants a token for it as for every read.
func TestMCP(t *testing.T) {
	ts := tokens.Open(filepath.Join(t.TempDir(), "state"))
	tok, _, err := ts.Add(fixtures.Instance(0), tokens.Write, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	connect := func(url string, hc *http.Client) (*sdk.ClientSession, error) {
		return sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: hc}, nil)
	}
	open := newHiveWith(t, 6, server.Options{HiveBinary: "/bin/false", Limits: unlimited, Tokens: ts})
	cs, err := connect(open.url, nil)
	if err != nil {
		t.Fatalf("connect without a token to a server with tokens: %v", err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if got := strings.Join(names, ","); got != "get_skill,search_skills,skill_lineage,use_skill" {
		t.Errorf("tools at /mcp = %s, want the read-only four", got)
	}
	tr, _ := open.gen.Trace(2)
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "search_skills", Arguments: map[string]any{"query": tr.Intent, "limit": 1}})
	if err != nil || res.IsError || !strings.Contains(res.Content[0].(*sdk.TextContent).Text, tr.Intent) {
		t.Errorf("search_skills at /mcp = %+v, %v", res, err)
	}

	private := newHiveWith(t, 2, server.Options{HiveBinary: "/bin/false", Limits: unlimited, Tokens: ts, Private: true})
	if cs, err := connect(private.url, nil); err == nil {
		cs.Close()
		t.Error("connect without a token to a private server succeeded")
	}
	cs2, err := connect(private.url, &http.Client{Transport: client.TokenTransport(private.url, tok, nil)})
	if err != nil {
		t.Fatalf("connect with a token to a private server: %v", err)
	}
	cs2.Close()
}

// TestMCPNotMessage: over HTTP as on standard input, a message with an id
// and nothing else gets an invalid-request error with its id, not a 202
// and silence; a body over the limit is refused whole.
func TestMCPNotMessage(t *testing.T) {
	h := newHive(t, 2)
	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", h.url+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, b := send(t, req)
		return resp.StatusCode, b
	}
	if code, body := post(`{"jsonrpc":"2.0","id":30}`); code != 400 || !strings.Contains(body, `"id":30`) || !strings.Contains(body, `"code":-32600`) {
		t.Errorf("POST /mcp of an id alone = %d %s, want 400 with -32600 and id 30", code, body)
	}
	if code, body := post(`[{"jsonrpc":"2.0","id":33,"method":"tools/list"},{"jsonrpc":"2.0","id":34}]`); code != 400 || !strings.Contains(body, `"code":-32600`) || !strings.Contains(body, "batch member 2") {
		t.Errorf("POST /mcp of a batch with an id alone = %d %s, want 400 with -32600 naming member 2", code, body)
	}
	if code, body := post(`{"jsonrpc":"2.0","id":31,"method":"tools/list"}`); code != 200 || !strings.Contains(body, "search_skills") {
		t.Errorf("POST /mcp tools/list = %d %.200s, want the tools", code, body)
	}
	if code, body := post(`{"jsonrpc":"2.0","id":32,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`); code != 413 {
		t.Errorf("POST /mcp of 2 MiB = %d %.200s, want 413", code, body)
	}
}
