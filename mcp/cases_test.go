package mcp_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/mcp"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/server"
)

// TestDisputed: a skill with an open dispute is shown as disputed and not
// trusted by search_skills and get_skill, and use_skill passes it over,
// even under a policy that trusts its author.
func TestDisputed(t *testing.T) {
	h := newHive(t)
	h.trustAll(t)
	d, _, err := h.st.OpenDispute(h.child, "drops the password when unset", "instance_a", fixtures.Key("instance_a"))
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, h, mcp.Options{})

	var found struct{ Skills []hitOut }
	structured(t, call(t, cs, "search_skills", map[string]any{"query": childIntent}), &found)
	byID := map[schema.ID]hitOut{}
	for _, s := range found.Skills {
		byID[s.ID] = s
	}
	if c := byID[h.child]; c.Trusted || len(c.OpenDisputes) != 1 || c.OpenDisputes[0] != d || !strings.Contains(c.Why, "disput") {
		t.Errorf("search_skills: the disputed child = %+v, want untrusted with dispute %s", c, d)
	}
	if s := byID[h.seed]; !s.Trusted || len(s.OpenDisputes) != 0 {
		t.Errorf("search_skills: the undisputed seed = %+v, want trusted", s)
	}

	var got struct {
		Trust struct {
			Trusted  bool        `json:"trusted"`
			Disputes []schema.ID `json:"open_disputes"`
		} `json:"trust"`
	}
	structured(t, call(t, cs, "get_skill", map[string]any{"id": string(h.child)}), &got)
	if got.Trust.Trusted || len(got.Trust.Disputes) != 1 || got.Trust.Disputes[0] != d {
		t.Errorf("get_skill of the disputed child: trust %+v", got.Trust)
	}

	var used struct {
		Found bool      `json:"found"`
		ID    schema.ID `json:"id"`
	}
	structured(t, call(t, cs, "use_skill", map[string]any{"intent": childIntent}), &used)
	if used.ID == h.child {
		t.Errorf("use_skill = %+v: the disputed child was used", used)
	}
}

// TestReadOnlyByDefault: without Publish, publish_skill does not exist: a
// call to it is refused and the hive does not move.
func TestReadOnlyByDefault(t *testing.T) {
	h := newHive(t)
	cs := connect(t, h, mcp.Options{Instance: "instance_a", Keys: fixtures.KeyFunc("instance_a")})
	head, _ := h.st.Head()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "publish_skill", Arguments: map[string]any{
		"intent": "x", "reasoning_path": []map[string]any{{"step": 1, "action": "a"}}, "result": "r", "confidence": 0.95, "verification_score": 0.97}})
	if err == nil && !res.IsError {
		t.Errorf("publish_skill on a read-only server = %q, want refused", text(res))
	}
	if h2, _ := h.st.Head(); h2 != head {
		t.Error("a read-only server moved main")
	}
}

// TestPublishKeys: an instance with no registered key, or whose private
// key is not in the key store, publishes nothing, and the code says which.
func TestPublishKeys(t *testing.T) {
	h := newHive(t)
	head, _ := h.st.Head()
	for _, tt := range []struct {
		name, instance, keyOf, code string
	}{
		{"no registered key", "stranger", "stranger", "sig-key-unknown"},
		{"no private key", "instance_a", "instance_b", "key-missing"},
	} {
		cs := connect(t, h, mcp.Options{Publish: true, Instance: tt.instance, Keys: fixtures.KeyFunc(tt.keyOf)})
		res := call(t, cs, "publish_skill", map[string]any{"intent": "x", "reasoning_path": []map[string]any{{"step": 1, "action": "a"}},
			"result": "r", "confidence": 0.95, "verification_score": 0.97})
		if !res.IsError || !strings.HasPrefix(text(res), tt.code+": ") {
			t.Errorf("%s: publish_skill = %v %q, want a tool error starting %q", tt.name, res.IsError, text(res), tt.code)
		}
	}
	if h2, _ := h.st.Head(); h2 != head {
		t.Error("main moved")
	}
}

// TestPublishToServer: with Options.Server, publish_skill signs locally
// and posts to a hive server: the server's hive gets the skill, the local
// hive does not move, and the server's refusals are tool errors with codes.
func TestPublishToServer(t *testing.T) {
	t.Setenv("HIVE_KNOWN_KEYS", filepath.Join(t.TempDir(), "known_keys"))
	dir := t.TempDir()
	remote, err := registry.Init(dir, registry.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.AddKey("instance_a", fixtures.Key("instance_a").Public().MarshalPEM()); err != nil {
		t.Fatal(err)
	}
	remote.Close()
	srv, err := server.New(dir, server.Options{HiveBinary: "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	h := newHive(t) // the local hive knows instance_b; the server does not
	head, _ := h.st.Head()
	publishAs := func(inst string) *sdk.ClientSession {
		return connect(t, h, mcp.Options{Publish: true, Instance: inst, Keys: fixtures.KeyFunc(inst), Server: client.New(hs.URL),
			Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}) // "the same skill again" is the same, however slow the first post
	}
	skill := map[string]any{"intent": "Rotate the API token", "reasoning_path": []map[string]any{{"step": 1, "action": "rotate"}},
		"result": "token rotate", "confidence": 0.95, "verification_score": 0.96}

	cs := publishAs("instance_a")
	res := call(t, cs, "publish_skill", skill)
	if res.IsError {
		t.Fatal(text(res))
	}
	var out struct {
		ID     schema.ID `json:"id"`
		Server string    `json:"server"`
		Commit string    `json:"commit"`
	}
	structured(t, res, &out)
	if out.Server != hs.URL || len(out.Commit) != 40 {
		t.Errorf("publish_skill to the server = %+v", out)
	}
	remote, err = registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := remote.Trace(out.ID)
	remote.Close()
	if err != nil || e.Trace.InstanceID != "instance_a" {
		t.Errorf("the server's hive: %v, %v", e, err)
	}

	tests := []struct {
		name string
		inst string
		args map[string]any
		code string // the first line's
		rule string // a later line's, the server's reason
	}{
		{"the same skill again", "instance_a", skill, "already-present", ""},
		{"an instance the server does not know", "instance_b", skill, "server-refused", ""},
		{"below the server's threshold", "instance_a", map[string]any{"intent": "y", "reasoning_path": []map[string]any{{"step": 1, "action": "a"}},
			"result": "r", "confidence": 0.5, "verification_score": 0.96}, "server-refused", "trace-threshold"},
		{"a bad trace, refused before posting", "instance_a", map[string]any{"intent": "y", "reasoning_path": []map[string]any{{"step": 2, "action": "a"}},
			"result": "r", "confidence": 0.95, "verification_score": 0.96}, "trace-steps", ""},
	}
	for _, tt := range tests {
		res := call(t, publishAs(tt.inst), "publish_skill", tt.args)
		if !res.IsError || !strings.HasPrefix(text(res), tt.code+": ") || tt.rule != "" && !strings.Contains(text(res), "\n"+tt.rule+": ") {
			t.Errorf("%s: publish_skill = %v %q, want a tool error starting %q with a line %q", tt.name, res.IsError, text(res), tt.code, tt.rule)
		}
	}
	if h2, _ := h.st.Head(); h2 != head {
		t.Error("publishing to a server moved the local hive's main")
	}
}
