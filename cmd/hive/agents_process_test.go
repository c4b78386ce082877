package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/fixtures"
)

// These tests run the real hive binary as an MCP server (hive mcp over
// stdio, /mcp of hive serve over Streamable HTTP) and publish to a real
// hive serve, with the official Go SDK as the client.

// seedHive makes a hive at e.dir/name with instance_a's seed skill and
// instance_b's key, and returns the seed's id.
func seedHive(e *env, name string) string {
	e.t.Helper()
	e.run("init", name)
	e.run("--repo", name, "key", "add", "--instance", "instance_a")
	e.run("--repo", name, "key", "add", "--instance", "instance_b")
	seed := filepath.Join(e.dir, "seed.json")
	if err := os.WriteFile(seed, fixtures.Seed(), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return strings.TrimSpace(e.run("--repo", name, "add", seed))
}

// serve starts hive serve on the hive at e.dir/repo and returns its URL.
func (e *env) serve(repo string) string {
	e.t.Helper()
	srv := e.cmd("--repo", repo, "serve", "--addr", "127.0.0.1:0")
	logs := &syncBuffer{}
	srv.Stderr = logs
	if err := srv.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	for i := 0; i < 200; i++ {
		if _, rest, ok := strings.Cut(logs.String(), "addr="); ok {
			return "http://" + strings.Fields(rest)[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("hive serve did not say where it listens:\n%s", logs.String())
	return ""
}

// session connects the SDK's client to a transport.
func session(t *testing.T, tr sdk.Transport) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "process-test", Version: "1"}, nil).Connect(ctx, tr, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func callTool(t *testing.T, cs *sdk.ClientSession, name string, args any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	return string(b) + "\n" + text.String(), res.IsError
}

func toolNames(t *testing.T, cs *sdk.ClientSession) string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return strings.Join(names, ",")
}

// TestMCPStdio: hive mcp over stdio on a real hive: read-only by default;
// with --publish, a child skill is published, signed and committed, and
// the hive verifies.
func TestMCPStdio(t *testing.T) {
	skipShort(t)
	e := newEnv(t, "instance_a", "instance_b")
	seed := seedHive(e, "hive")
	cs := session(t, &sdk.CommandTransport{Command: e.cmd("--repo", "hive", "mcp")})
	if got := toolNames(t, cs); got != "get_skill,search_skills,skill_lineage,use_skill" {
		t.Errorf("tools = %s", got)
	}
	if out, isErr := callTool(t, cs, "search_skills", map[string]any{"query": "use environment variables for auth"}); isErr || !strings.Contains(out, seed) {
		t.Errorf("search_skills = %s", out)
	}
	if out, isErr := callTool(t, cs, "get_skill", map[string]any{"id": seed}); isErr || !strings.Contains(out, `"verified":true`) {
		t.Errorf("get_skill = %s", out)
	}
	if out, isErr := callTool(t, cs, "get_skill", map[string]any{"id": 42}); !isErr || !strings.Contains(out, "arguments-invalid") {
		t.Errorf("get_skill(42) = %s", out)
	}

	cs = session(t, &sdk.CommandTransport{Command: e.cmd("--repo", "hive", "mcp", "--instance", "instance_b", "--publish")})
	child := map[string]any{"intent": "Refactor auth to use env vars with a default", "reasoning_path": []map[string]any{{"step": 1, "action": "reuse_skill"}},
		"result": "os.getenv('DB_PASSWORD', '')", "confidence": 0.97, "verification_score": 0.99, "lineage": []string{seed}}
	out, isErr := callTool(t, cs, "publish_skill", child)
	if isErr {
		t.Fatalf("publish_skill: %s", out)
	}
	var pub struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &pub)
	e.run("--repo", "hive", "verify", "--full")
	if got := e.run("--repo", "hive", "lineage", seed); !strings.Contains(got, pub.ID) {
		t.Errorf("the published child %s is not in the seed's lineage:\n%s", pub.ID, got)
	}

	// A main that no longer verifies (a trace edited and committed with
	// plain git) serves nothing.
	hex := strings.TrimPrefix(seed, "sha256:")
	tf := filepath.Join(e.dir, "hive", "traces", hex[:2], hex+".json")
	b, _ := os.ReadFile(tf)
	os.WriteFile(tf, []byte(strings.Replace(string(b), "DB_PASSWORD", "EVIL", 1)), 0o644)
	git := exec.Command("git", "-C", filepath.Join(e.dir, "hive"), "commit", "-qam", "innocent")
	git.Env = e.cmd().Env
	if out, err := git.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	cs = session(t, &sdk.CommandTransport{Command: e.cmd("--repo", "hive", "mcp")})
	for tool, args := range map[string]any{"search_skills": map[string]any{"query": "auth"}, "use_skill": map[string]any{"intent": "auth"}} {
		if out, isErr := callTool(t, cs, tool, args); !isErr || !strings.Contains(out, "hive-unusable: main does not verify") {
			t.Errorf("%s on a main that does not verify = %s", tool, out)
		}
	}
	if _, err := cs.ReadResource(context.Background(), &sdk.ReadResourceParams{URI: "hive://skills/" + seed}); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("reading a skill of a main that does not verify = %v", err)
	}

	// Usage errors: no instance to sign with, a key that is not there.
	for _, args := range [][]string{{"mcp", "--publish"}, {"mcp", "--server", "http://x"}, {"mcp", "--publish", "--instance", "x", "--server", "ftp://x"}} {
		c := e.cmd(append([]string{"--repo", "hive"}, args...)...)
		if out, err := c.CombinedOutput(); exitCode(err) != 2 {
			t.Errorf("hive %s: exit %d, want 2\n%s", strings.Join(args, " "), exitCode(err), out)
		}
	}
	c := e.cmd("--repo", "hive", "mcp", "--publish", "--instance", "nobody")
	if out, err := c.CombinedOutput(); exitCode(err) != 1 || !strings.Contains(string(out), "hive keygen --instance nobody") {
		t.Errorf("hive mcp --publish for an instance without a key: exit %d\n%s", exitCode(err), out)
	}
}

// TestMCPServe: the same tools at /mcp of hive serve, read-only.
func TestMCPServe(t *testing.T) {
	skipShort(t)
	e := newEnv(t, "instance_a", "instance_b")
	seed := seedHive(e, "srv")
	url := e.serve("srv")
	cs := session(t, &sdk.StreamableClientTransport{Endpoint: url + "/mcp"})
	if got := toolNames(t, cs); got != "get_skill,search_skills,skill_lineage,use_skill" {
		t.Errorf("tools at /mcp = %s", got)
	}
	if out, isErr := callTool(t, cs, "search_skills", map[string]any{"query": "use environment variables for auth"}); isErr || !strings.Contains(out, seed) {
		t.Errorf("search_skills = %s", out)
	}
	if out, isErr := callTool(t, cs, "skill_lineage", map[string]any{"id": seed[7:19]}); isErr || !strings.Contains(out, `"ancestors":[]`) {
		t.Errorf("skill_lineage = %s", out)
	}
	if out, isErr := callTool(t, cs, "search_skills", map[string]any{"query": 42}); !isErr || !strings.Contains(out, "arguments-invalid") {
		t.Errorf("search_skills(42) = %s", out)
	}
	if _, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "publish_skill", Arguments: map[string]any{}}); err == nil {
		t.Error("publish_skill at /mcp answered, want an unknown tool")
	}
}

// TestPublishToServer: hive publish signs in the key store and posts, with
// no local hive; hive mcp --publish --server posts too, and the local hive
// does not move.
func TestPublishToServer(t *testing.T) {
	skipShort(t)
	e := newEnv(t, "instance_a", "instance_b")
	seed := seedHive(e, "srv")
	url := e.serve("srv")
	draft := filepath.Join(e.dir, "draft.json")
	os.WriteFile(draft, []byte(`{"intent":"Rotate the database password","reasoning_path":[{"step":1,"action":"rotate"}],"result":"ALTER USER app PASSWORD 'x';","confidence":0.95,"verification_score":0.96,"lineage":["`+seed+`"],"created_at":"2026-01-02T03:04:05Z"}`), 0o644)
	empty := filepath.Join(e.dir, "nohive")
	os.Mkdir(empty, 0o755)
	c := e.cmd("publish", draft, "--server", url, "--instance", "instance_b")
	c.Dir = empty
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("hive publish: %v\n%s", err, out)
	}
	id := strings.TrimSpace(string(out))
	if got := e.run("--repo", "srv", "show", id); !strings.Contains(got, "instance   instance_b") {
		t.Errorf("the server's hive shows:\n%s", got)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("hive publish wrote %d files where it ran", len(ents))
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"publish", draft, "--server", url, "--instance", "instance_b"}, 1, "409 exists"},
		{[]string{"publish", draft, "--server", url}, 1, "instance_id"},
		{[]string{"publish", draft, "--server", url, "--instance", "nobody"}, 1, "hive keygen --instance nobody"},
		{[]string{"publish", filepath.Join(e.dir, "seed.json"), "--server", url, "--instance", "instance_b"}, 1, "names instance \"instance_a\", not \"instance_b\""},
		{[]string{"publish", draft, "--server", "localhost:1"}, 2, "want http://HOST:PORT"},
		{[]string{"publish", draft}, 2, "publish needs --server URL"},
	} {
		c := e.cmd(tc.args...)
		out, err := c.CombinedOutput()
		if exitCode(err) != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("hive %s: exit %d, want %d saying %q\n%s", strings.Join(tc.args, " "), exitCode(err), tc.code, tc.want, out)
		}
	}

	// The server's near-duplicate warning reaches the publisher.
	dup := filepath.Join(e.dir, "dup.json")
	os.WriteFile(dup, []byte(`{"intent":"Refactor auth to use env vars","reasoning_path":[{"step":1,"action":"analyze_auth_dependencies"},{"step":2,"action":"generate_env_var_code"}],"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')","confidence":0.97,"verification_score":1}`), 0o644)
	if out, err := e.cmd("publish", dup, "--server", url, "--instance", "instance_b").CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "hive: warning: ") || !strings.Contains(string(out), "by instance_a (similarity 1.00)") {
		t.Errorf("hive publish of a near duplicate: %v\n%s", err, out)
	}

	// A server with tokens wants one for a post: --token or $HIVE_TOKEN.
	seedHive(e, "srv2")
	token := strings.TrimSpace(e.run("--repo", "srv2", "serve", "token", "add", "--instance", "instance_b"))
	url2 := e.serve("srv2")
	c = e.cmd("publish", draft, "--server", url2, "--instance", "instance_b")
	if out, err := c.CombinedOutput(); exitCode(err) != 1 || !strings.Contains(string(out), "401") {
		t.Errorf("hive publish to a server with tokens, without one: exit %d\n%s", exitCode(err), out)
	}
	c = e.cmd("publish", draft, "--server", url2, "--instance", "instance_b")
	c.Env = append(c.Env, "HIVE_TOKEN="+token)
	if out, err := c.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != id {
		t.Errorf("hive publish with $HIVE_TOKEN: %v\n%s", err, out)
	}

	// hive mcp --publish --server: the agent's skill goes to the server.
	seedHive(e, "local")
	before := e.run("--repo", "local", "verify")
	cs := session(t, &sdk.CommandTransport{Command: e.cmd("--repo", "local", "mcp", "--instance", "instance_a", "--publish", "--server", url)})
	res, isErr := callTool(t, cs, "publish_skill", map[string]any{"intent": "Rotate the API token", "reasoning_path": []map[string]any{{"step": 1, "action": "rotate"}},
		"result": "token rotate", "confidence": 0.95, "verification_score": 0.96})
	if isErr || !strings.Contains(res, `"server":"`+url) {
		t.Fatalf("publish_skill to the server: %s", res)
	}
	if got := e.run("--repo", "srv", "search", "rotate the api token"); !strings.Contains(got, "instance_a") {
		t.Errorf("the server's hive lacks the skill:\n%s", got)
	}
	if after := e.run("--repo", "local", "verify"); after != before {
		t.Errorf("the local hive changed: %q -> %q", before, after)
	}

	// report_outcome --server: instance_b's signed report of the seed goes
	// to the server, through its validator; a second one is refused there.
	cb := session(t, &sdk.CommandTransport{Command: e.cmd("--repo", "local", "mcp", "--instance", "instance_b", "--publish", "--server", url)})
	res, isErr = callTool(t, cb, "report_outcome", map[string]any{"id": seed, "outcome": "success", "detail": "exit 0"})
	if isErr || !strings.Contains(res, `"server":"`+url) {
		t.Fatalf("report_outcome to the server: %s", res)
	}
	if got := e.run("--repo", "srv", "outcomes", seed); !strings.Contains(got, "success  instance_b") {
		t.Errorf("the server's hive lacks the outcome:\n%s", got)
	}
	if res, isErr = callTool(t, cb, "report_outcome", map[string]any{"id": seed, "outcome": "failure"}); !isErr || !strings.Contains(res, "\nalready-present: ") {
		t.Errorf("a second report to the server: %v %s", isErr, res)
	}
	if after := e.run("--repo", "local", "verify"); after != before {
		t.Errorf("the local hive changed: %q -> %q", before, after)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(interface{ ExitCode() int }); ok {
		return ee.ExitCode()
	}
	return -1
}
