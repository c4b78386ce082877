package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/mcp"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// hive is a small in-memory hive: instance_a's seed skill, and instance_b's
// child of it.
type hive struct {
	st          *registry.Store
	seed, child schema.ID
}

const childIntent = "Refactor auth to use env vars with a default"

func newHive(t *testing.T) *hive {
	t.Helper()
	st := registry.NewMemory(registry.WithClock(fixtures.Clock()))
	if err := registry.InitStorage(st, "test", nil); err != nil {
		t.Fatal(err)
	}
	for _, inst := range []string{"instance_a", "instance_b"} {
		if _, err := st.AddKey(inst, fixtures.Key(inst).Public().MarshalPEM()); err != nil {
			t.Fatal(err)
		}
	}
	keys := fixtures.KeyFunc("instance_a", "instance_b")
	added, err := st.Add([]registry.Input{{Name: "seed", Data: fixtures.Seed()}}, keys)
	if err != nil {
		t.Fatal(err)
	}
	h := &hive{st: st, seed: added[0].ID}
	child := map[string]any{"intent": childIntent, "reasoning_path": []map[string]any{{"step": 1, "action": "reuse_skill"}, {"step": 2, "action": "add_default"}},
		"result": "import os\ndef get_password():\n    return os.getenv('DB_PASSWORD', '')", "confidence": 0.97, "verification_score": 0.99,
		"lineage": []schema.ID{h.seed}, "created_at": "2025-12-14T10:00:00Z", "instance_id": "instance_b"}
	b, _ := json.Marshal(child)
	if added, err = st.Add([]registry.Input{{Name: "child", Data: b}}, keys); err != nil {
		t.Fatal(err)
	}
	h.child = added[0].ID
	return h
}

// trustAll sets a local trust policy that trusts any author, proven by
// others or not.
func (h *hive) trustAll(t *testing.T) { h.policy(t, "0") }

// distrustAll sets a local trust policy that trusts no author here.
func (h *hive) distrustAll(t *testing.T) { h.policy(t, "0.99") }

func (h *hive) policy(t *testing.T, minReputation string) {
	t.Helper()
	cfg, err := h.st.Storer().Config()
	if err != nil {
		t.Fatal(err)
	}
	sub := cfg.Raw.Section("hive").Subsection("trust")
	sub.SetOption("min-reputation", minReputation)
	sub.SetOption("unproven-threshold", "0")
	if err := h.st.Storer().SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
}

// connect serves h through an MCP server with o and connects the SDK's
// client to it in memory.
func connect(t *testing.T, h *hive, o mcp.Options) *sdk.ClientSession {
	t.Helper()
	srv, err := mcp.New(mcp.NewLocal(h.st), o)
	if err != nil {
		t.Fatal(err)
	}
	ct, st := sdk.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Close() })
	return cs
}

// call calls a tool; a protocol error fails the test (bad arguments must be
// tool errors).
func call(t *testing.T, cs *sdk.ClientSession, name string, args any) *sdk.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s(%v): protocol error %v, want a result", name, args, err)
	}
	return res
}

func text(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// structured decodes a result's structured content into v.
func structured(t *testing.T, res *sdk.CallToolResult, v any) {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
}

func TestToolsOffered(t *testing.T) {
	h := newHive(t)
	for _, tt := range []struct {
		publish bool
		want    []string
	}{
		{false, []string{"search_skills", "get_skill", "use_skill", "skill_lineage"}},
		{true, []string{"search_skills", "get_skill", "use_skill", "skill_lineage", "publish_skill", "report_outcome"}},
	} {
		o := mcp.Options{}
		if tt.publish {
			o = mcp.Options{Publish: true, Instance: "instance_b", Keys: fixtures.KeyFunc("instance_b")}
		}
		cs := connect(t, h, o)
		res, err := cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tl := range res.Tools {
			got = append(got, tl.Name)
			if tl.Description == "" || tl.InputSchema == nil || tl.OutputSchema == nil {
				t.Errorf("tool %s lacks a description, an input or an output schema", tl.Name)
			}
			if ro := tl.Annotations != nil && tl.Annotations.ReadOnlyHint; ro == (tl.Name == "publish_skill" || tl.Name == "report_outcome") {
				t.Errorf("tool %s: read-only hint %v", tl.Name, ro)
			}
		}
		if strings.Join(got, ",") != strings.Join(sortedCopy(tt.want), ",") {
			t.Errorf("publish=%v: tools %v, want %v", tt.publish, got, tt.want)
		}
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestNewRefusesPublishWithoutKeys(t *testing.T) {
	h := newHive(t)
	for _, o := range []mcp.Options{{Publish: true}, {Publish: true, Instance: "instance_b"}} {
		if _, err := mcp.New(mcp.NewLocal(h.st), o); err == nil {
			t.Errorf("New(%+v) = nil error, want one", o)
		}
	}
}

// TestBadArguments: every malformed call is a tool error whose text starts
// with a code, and the server keeps serving.
func TestBadArguments(t *testing.T) {
	h := newHive(t)
	cs := connect(t, h, mcp.Options{Publish: true, Instance: "instance_b", Keys: fixtures.KeyFunc("instance_b")})
	zero := "sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		tool string
		args any
		code string
		text string // part of the message, when given
	}{
		{"search_skills", map[string]any{"query": 42}, "arguments-invalid", ""},
		{"search_skills", map[string]any{}, "arguments-invalid", ""},
		{"search_skills", map[string]any{"query": ""}, "arguments-invalid", ""},
		{"search_skills", map[string]any{"query": "auth", "limit": 51}, "arguments-invalid", "limit: 51 is more than the maximum 50"},
		{"search_skills", map[string]any{"query": "auth", "limit": -1}, "arguments-invalid", "limit: -1 is less than the minimum 1"},
		{"search_skills", map[string]any{"query": "auth", "min_score": 1.5}, "arguments-invalid", "min_score: 1.5 is more than the maximum 1"},
		{"search_skills", map[string]any{"query": "auth", "mood": "happy"}, "arguments-invalid", ""},
		{"search_skills", []int{1}, "arguments-invalid", ""},
		{"search_skills", map[string]any{"query": "auth", "instance": "nobody"}, "not-found", `no instance "nobody" in the hive; it has instance_`},
		{"get_skill", map[string]any{}, "arguments-invalid", ""},
		{"get_skill", map[string]any{"id": "not an id"}, "arguments-invalid", "id: want sha256:<64 hex digits> or a prefix of at least 6 hex digits"},
		{"get_skill", map[string]any{"id": zero}, "not-found", ""},
		{"get_skill", map[string]any{"id": "abcdef"}, "not-found", ""},
		{"skill_lineage", map[string]any{"id": zero}, "not-found", ""},
		{"skill_lineage", map[string]any{"id": 7}, "arguments-invalid", ""},
		{"use_skill", map[string]any{"intent": ""}, "arguments-invalid", ""},
		{"use_skill", map[string]any{"task": "x"}, "arguments-invalid", ""},
		{"publish_skill", map[string]any{}, "trace-schema", ""},
		{"publish_skill", []int{1}, "arguments-invalid", ""},
	}
	for _, tt := range tests {
		res := call(t, cs, tt.tool, tt.args)
		if !res.IsError || !strings.HasPrefix(text(res), tt.code+": ") || !strings.Contains(text(res), tt.text) {
			t.Errorf("%s(%v) = error %v %q, want a tool error starting %q and saying %q", tt.tool, tt.args, res.IsError, text(res), tt.code, tt.text)
		}
		if res.StructuredContent != nil {
			t.Errorf("%s(%v): an error with structured content %v", tt.tool, tt.args, res.StructuredContent)
		}
	}
	if res := call(t, cs, "get_skill", map[string]any{"id": string(h.seed)}); res.IsError {
		t.Fatalf("after the bad calls get_skill fails: %s", text(res))
	}
	// An id in upper case is read as lower case, as the pages and the API do.
	if res := call(t, cs, "get_skill", map[string]any{"id": "SHA256:" + strings.ToUpper(h.seed.Hex()[:10])}); res.IsError || !strings.Contains(text(res), string(h.seed)) {
		t.Errorf("get_skill of an upper-case prefix: %s", text(res))
	}
}

type hitOut struct {
	ID           schema.ID   `json:"id"`
	Intent       string      `json:"intent"`
	Score        float64     `json:"score"`
	InstanceID   string      `json:"instance_id"`
	Reputation   float64     `json:"reputation"`
	LineageSize  int         `json:"lineage_size"`
	Trusted      bool        `json:"trusted"`
	Why          string      `json:"why"`
	OpenDisputes []schema.ID `json:"open_disputes"`
	Standing     struct {
		Successes, Failures int
		Failed              bool
	} `json:"standing"`
}

func TestSearchSkills(t *testing.T) {
	h := newHive(t)
	h.distrustAll(t)
	cs := connect(t, h, mcp.Options{})
	res := call(t, cs, "search_skills", map[string]any{"query": "use environment variables for database credentials in auth"})
	if res.IsError {
		t.Fatal(text(res))
	}
	var out struct {
		Query  string   `json:"query"`
		Skills []hitOut `json:"skills"`
	}
	structured(t, res, &out)
	if len(out.Skills) != 2 {
		t.Fatalf("skills %+v, want the seed and its child", out.Skills)
	}
	for _, s := range out.Skills {
		if s.LineageSize != 1 || s.Trusted || !strings.Contains(s.Why, "reputation") || s.Reputation <= 0 || s.Reputation >= 0.99 {
			t.Errorf("hit %+v: want lineage 1, untrusted by a policy over its author's reputation", s)
		}
		if !strings.Contains(text(res), string(s.ID)) {
			t.Errorf("the text does not name %s:\n%s", s.ID, text(res))
		}
	}
	res = call(t, cs, "search_skills", map[string]any{"query": "use environment variables for auth", "instance": "instance_b", "limit": 5})
	structured(t, res, &out)
	if len(out.Skills) != 1 || out.Skills[0].ID != h.child {
		t.Errorf("search by instance_b = %+v, want only the child", out.Skills)
	}
	res = call(t, cs, "search_skills", map[string]any{"query": "compile a kernel for a toaster"})
	structured(t, res, &out)
	if res.IsError || len(out.Skills) != 0 {
		t.Errorf("an unrelated query = %v %+v, want no skills and no error", res.IsError, out.Skills)
	}
	h.trustAll(t)
	cs = connect(t, h, mcp.Options{})
	res = call(t, cs, "search_skills", map[string]any{"query": childIntent, "limit": 1})
	structured(t, res, &out)
	if len(out.Skills) != 1 || out.Skills[0].ID != h.child || !out.Skills[0].Trusted {
		t.Errorf("under a policy trusting all, limit 1 = %+v, want the child, trusted", out.Skills)
	}
}

func TestGetSkill(t *testing.T) {
	h := newHive(t)
	cs := connect(t, h, mcp.Options{})
	for _, q := range []string{string(h.seed), h.seed.Hex()[:8]} {
		res := call(t, cs, "get_skill", map[string]any{"id": q})
		if res.IsError {
			t.Fatal(text(res))
		}
		var out struct {
			ID         schema.ID    `json:"id"`
			Resource   string       `json:"resource"`
			Trace      schema.Trace `json:"trace"`
			Provenance struct {
				Commit         string `json:"commit"`
				Signer         string `json:"signer"`
				KeyFingerprint string `json:"key_fingerprint"`
				Cosign         string `json:"cosign"`
				Verified       bool   `json:"verified"`
			} `json:"provenance"`
		}
		structured(t, res, &out)
		p := out.Provenance
		if out.ID != h.seed || out.Trace.Intent != "Refactor auth to use env vars" || out.Resource != "hive://skills/"+string(h.seed) {
			t.Errorf("get_skill(%s) = %+v", q, out)
		}
		if !p.Verified || p.Signer != "instance_a" || len(p.Commit) != 40 || p.KeyFingerprint != fixtures.Key("instance_a").Public().Fingerprint() ||
			!strings.Contains(p.Cosign, "cosign verify-blob --key keys/instance_a.pub") {
			t.Errorf("get_skill(%s) provenance = %+v", q, p)
		}
		if !strings.Contains(text(res), "DB_PASSWORD") {
			t.Errorf("get_skill's text lacks the result:\n%s", text(res))
		}
	}
}

// TestGetSkillAfterRotation: a skill signed before its author's key was
// rotated still verifies, with the key registered when it was committed,
// and the cosign command takes that key from history.
func TestGetSkillAfterRotation(t *testing.T) {
	h := newHive(t)
	next := fixtures.Key("instance_a_next")
	if _, err := h.st.RotateKey("instance_a", next.Public().MarshalPEM(), "laptop replaced", "instance_a", fixtures.Key("instance_a")); err != nil {
		t.Fatal(err)
	}
	cs := connect(t, h, mcp.Options{})
	res := call(t, cs, "get_skill", map[string]any{"id": string(h.seed)})
	if res.IsError {
		t.Fatal(text(res))
	}
	var out struct {
		Provenance struct {
			KeyFingerprint string `json:"key_fingerprint"`
			Cosign         string `json:"cosign"`
			Verified       bool   `json:"verified"`
			Problem        string `json:"problem"`
		} `json:"provenance"`
	}
	structured(t, res, &out)
	p := out.Provenance
	if !p.Verified || p.KeyFingerprint != fixtures.Key("instance_a").Public().Fingerprint() ||
		!strings.Contains(p.Cosign, ":keys/instance_a.pub > signer.pub && cosign verify-blob --key signer.pub") {
		t.Errorf("get_skill after the author's key was rotated: provenance %+v", p)
	}
}

func TestUseSkill(t *testing.T) {
	h := newHive(t)
	h.distrustAll(t)
	cs := connect(t, h, mcp.Options{})
	var out struct {
		Found  bool      `json:"found"`
		ID     schema.ID `json:"id"`
		Result string    `json:"result"`
		Why    string    `json:"why"`
	}
	res := call(t, cs, "use_skill", map[string]any{"intent": childIntent})
	structured(t, res, &out)
	if res.IsError || out.Found || !strings.Contains(out.Why, "none is trusted") || !strings.Contains(out.Why, "reputation") {
		t.Errorf("use_skill under a policy trusting no one = %v %+v, want not found and why", res.IsError, out)
	}
	h.trustAll(t)
	cs = connect(t, h, mcp.Options{})
	res = call(t, cs, "use_skill", map[string]any{"intent": childIntent})
	structured(t, res, &out)
	if !out.Found || out.ID != h.child || !strings.Contains(out.Result, "DB_PASSWORD', ''") || !strings.Contains(out.Why, "reputation") {
		t.Errorf("use_skill trusting all = %+v, want the child's result and why", out)
	}
	res = call(t, cs, "use_skill", map[string]any{"intent": "compile a kernel for a toaster"})
	structured(t, res, &out)
	if out.Found || !strings.Contains(out.Why, "no skill matches it") {
		t.Errorf("use_skill for an unknown task = %+v", out)
	}
}

func TestSkillLineage(t *testing.T) {
	h := newHive(t)
	cs := connect(t, h, mcp.Options{})
	type rel struct {
		ID         schema.ID `json:"id"`
		Generation int       `json:"generation"`
		Commit     string    `json:"commit"`
		InstanceID string    `json:"instance_id"`
	}
	var out struct {
		Ancestors, Descendants []rel
	}
	structured(t, call(t, cs, "skill_lineage", map[string]any{"id": string(h.seed)}), &out)
	if len(out.Ancestors) != 0 || len(out.Descendants) != 1 || out.Descendants[0].ID != h.child || out.Descendants[0].Generation != 1 ||
		len(out.Descendants[0].Commit) != 40 || out.Descendants[0].InstanceID != "instance_b" {
		t.Errorf("lineage of the seed = %+v", out)
	}
	structured(t, call(t, cs, "skill_lineage", map[string]any{"id": string(h.child)}), &out)
	if len(out.Ancestors) != 1 || out.Ancestors[0].ID != h.seed || out.Ancestors[0].Generation != -1 || len(out.Descendants) != 0 {
		t.Errorf("lineage of the child = %+v", out)
	}
}

func TestPublishSkill(t *testing.T) {
	h := newHive(t)
	cs := connect(t, h, mcp.Options{Publish: true, Instance: "instance_a", Keys: fixtures.KeyFunc("instance_a")})
	good := func() map[string]any {
		return map[string]any{"intent": "Rotate the database password without downtime", "reasoning_path": []map[string]any{{"step": 1, "action": "add the new password"}, {"step": 2, "action": "switch clients", "detail": "one at a time\nthen drop the old"}},
			"result": "ALTER USER app PASSWORD 'new';", "confidence": 0.95, "verification_score": 0.97, "lineage": []string{string(h.child)}, "tags": []string{"db"}}
	}
	// A search first: the index it opens is held, and must follow main.
	call(t, cs, "search_skills", map[string]any{"query": "rotate the database password"})
	res := call(t, cs, "publish_skill", good())
	if res.IsError {
		t.Fatal(text(res))
	}
	var out struct {
		ID         schema.ID `json:"id"`
		InstanceID string    `json:"instance_id"`
		Commit     string    `json:"commit"`
	}
	structured(t, res, &out)
	e, err := h.st.Trace(out.ID)
	if err != nil || e.Trace.InstanceID != "instance_a" || len(out.Commit) != 40 || e.Trace.Lineage[0] != h.child {
		t.Fatalf("published %+v: in the hive %+v, %v", out, e, err)
	}
	head, _ := h.st.Head()
	if rep, err := h.st.Verify(head, registry.VerifyOptions{Full: true}); err != nil || rep.Err() != nil {
		t.Fatalf("the hive does not verify after publish_skill: %v %v", err, rep.Err())
	}
	var found struct{ Skills []hitOut }
	structured(t, call(t, cs, "search_skills", map[string]any{"query": "rotate the database password"}), &found)
	if len(found.Skills) == 0 || found.Skills[0].ID != out.ID || found.Skills[0].LineageSize != 2 {
		t.Errorf("search after publish = %+v, want the new skill first with lineage 2", found.Skills)
	}

	with := func(k string, v any) map[string]any {
		m := good()
		m["intent"] = "a variant: " + k
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		args map[string]any
		code string
	}{
		{"confidence over 1", with("confidence", 1.5), "trace-schema"},
		{"below the threshold", with("confidence", 0.5), "trace-threshold"},
		{"no steps", with("reasoning_path", []any{}), "trace-schema"},
		{"steps out of order", with("reasoning_path", []map[string]any{{"step": 2, "action": "a"}}), "trace-steps"},
		{"no result", with("result", nil), "trace-schema"},
		{"a string for a number", with("verification_score", "high"), "trace-schema"},
		{"an unknown parent", with("lineage", []string{"sha256:" + strings.Repeat("1", 64)}), "lineage-missing"},
		{"an unknown field", with("mood", "happy"), "trace-unknown-field"},
		{"its own instance id", with("instance_id", "instance_a"), "arguments-invalid"},
		{"a time", with("created_at", "2020-01-01T00:00:00Z"), "arguments-invalid"},
		{"a control character", with("intent", "bad\u0007bell"), "trace-text"},
		{"the same skill again", good(), "already-present"},
	}
	for _, tt := range tests {
		res := call(t, cs, "publish_skill", tt.args)
		if !res.IsError || !strings.HasPrefix(text(res), tt.code+": ") {
			t.Errorf("publish_skill(%s) = error %v %q, want a tool error starting %q", tt.name, res.IsError, text(res), tt.code)
		}
	}
	if head2, _ := h.st.Head(); head2 != head {
		t.Errorf("refused publishes moved main from %s to %s", head, head2)
	}
}

// TestReportOutcome: report_outcome commits a signed outcome through the
// validator hive outcome uses; the skill's standing shows it in
// search_skills, get_skill and use_skill; a failed skill is no longer
// used; every bad report is a tool error with a code, and main stays.
func TestReportOutcome(t *testing.T) {
	h := newHive(t)
	h.trustAll(t)
	b := connect(t, h, mcp.Options{Publish: true, Instance: "instance_b", Keys: fixtures.KeyFunc("instance_b")})
	res := call(t, b, "report_outcome", map[string]any{"id": h.seed.Hex()[:10], "outcome": "success", "detail": "pytest tests/auth: exit 0"})
	if res.IsError {
		t.Fatal(text(res))
	}
	var out struct {
		TraceID  schema.ID `json:"trace_id"`
		Reporter string    `json:"reporter"`
		Outcome  string    `json:"outcome"`
		Commit   string    `json:"commit"`
	}
	structured(t, res, &out)
	list, err := h.st.Outcomes(h.seed)
	if err != nil || len(list) != 1 || list[0].InstanceID != "instance_b" || !list[0].Success() || list[0].Detail != "pytest tests/auth: exit 0" ||
		out.TraceID != h.seed || out.Reporter != "instance_b" || out.Outcome != "success" || len(out.Commit) != 40 {
		t.Fatalf("report_outcome = %+v; outcomes of the seed %+v, %v", out, list, err)
	}
	head, _ := h.st.Head()
	if rep, err := h.st.Verify(head, registry.VerifyOptions{Full: true}); err != nil || rep.Err() != nil {
		t.Fatalf("the hive does not verify after report_outcome: %v %v", err, rep.Err())
	}

	var found struct{ Skills []hitOut }
	structured(t, call(t, b, "search_skills", map[string]any{"query": "Refactor auth to use env vars"}), &found)
	for _, s := range found.Skills {
		if want := s.ID == h.seed; (s.Standing.Successes == 1) != want {
			t.Errorf("search_skills: %s has standing %+v; want one success only on the seed", s.ID, s.Standing)
		}
	}
	var got struct {
		Trust struct {
			Standing struct{ Successes int } `json:"standing"`
		} `json:"trust"`
	}
	structured(t, call(t, b, "get_skill", map[string]any{"id": string(h.seed)}), &got)
	if got.Trust.Standing.Successes != 1 {
		t.Errorf("get_skill's standing = %+v, want one success", got.Trust)
	}

	bad := []struct {
		name string
		args map[string]any
		code string
	}{
		{"the same report again", map[string]any{"id": string(h.seed), "outcome": "success"}, "already-present"},
		{"another report of the same skill", map[string]any{"id": string(h.seed), "outcome": "failure"}, "already-present"},
		{"on its own skill", map[string]any{"id": string(h.child), "outcome": "success"}, "outcome-self"},
		{"an unknown skill", map[string]any{"id": strings.Repeat("1", 64), "outcome": "success"}, "not-found"},
		{"neither success nor failure", map[string]any{"id": string(h.seed), "outcome": "maybe"}, "arguments-invalid"},
		{"no outcome", map[string]any{"id": string(h.seed)}, "arguments-invalid"},
		{"a detail too long", map[string]any{"id": string(h.child), "outcome": "success", "detail": strings.Repeat("x", schema.MaxOutcomeDetail+1)}, "arguments-invalid"},
		{"a control character in the detail", map[string]any{"id": string(h.child), "outcome": "success", "detail": "exit\u00070"}, "outcome-invalid"},
	}
	for _, tt := range bad {
		res := call(t, b, "report_outcome", tt.args)
		if !res.IsError || !strings.HasPrefix(text(res), tt.code+": ") {
			t.Errorf("report_outcome(%s) = error %v %q, want a tool error starting %q", tt.name, res.IsError, text(res), tt.code)
		}
	}
	if h2, _ := h.st.Head(); h2 != head {
		t.Errorf("refused reports moved main from %s to %s", head, h2)
	}

	// instance_a reports that instance_b's child failed: use_skill no
	// longer returns it, and search_skills says why.
	a := connect(t, h, mcp.Options{Publish: true, Instance: "instance_a", Keys: fixtures.KeyFunc("instance_a")})
	if res := call(t, a, "report_outcome", map[string]any{"id": string(h.child), "outcome": "failure", "detail": "exit 1"}); res.IsError {
		t.Fatal(text(res))
	}
	var used struct {
		Found bool      `json:"found"`
		ID    schema.ID `json:"id"`
	}
	structured(t, call(t, a, "use_skill", map[string]any{"intent": childIntent}), &used)
	if used.ID == h.child {
		t.Errorf("use_skill chose the failed child: %+v", used)
	}
	structured(t, call(t, a, "search_skills", map[string]any{"query": childIntent, "limit": 1}), &found)
	if len(found.Skills) != 1 || found.Skills[0].ID != h.child || found.Skills[0].Trusted || !found.Skills[0].Standing.Failed ||
		!strings.Contains(found.Skills[0].Why, "failures outweigh successes") {
		t.Errorf("search_skills of the failed child = %+v", found.Skills)
	}
}

// TestPublishWarnsNearDuplicate: publish_skill of a skill nearly identical
// to another author's, without lineage to it, is published with a warning
// that names the other skill and the similarity, as hive add warns.
func TestPublishWarnsNearDuplicate(t *testing.T) {
	h := newHive(t)
	cs := connect(t, h, mcp.Options{Publish: true, Instance: "instance_b", Keys: fixtures.KeyFunc("instance_b")})
	var seed map[string]any
	if err := json.Unmarshal(fixtures.Seed(), &seed); err != nil {
		t.Fatal(err)
	}
	delete(seed, "instance_id")
	delete(seed, "created_at")
	seed["confidence"] = 0.97 // another skill, the same words
	res := call(t, cs, "publish_skill", seed)
	var out struct {
		ID       schema.ID `json:"id"`
		Warnings []string  `json:"warnings"`
	}
	structured(t, res, &out)
	if res.IsError || len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], "nearly identical to "+h.seed.Short()+" by instance_a (similarity 1.00)") ||
		!strings.Contains(text(res), "warning: ") {
		t.Errorf("publish_skill of a near duplicate = %v %+v\n%s", res.IsError, out, text(res))
	}
	if _, err := h.st.Trace(out.ID); err != nil {
		t.Errorf("the near duplicate was not published: %v", err)
	}
}

func TestResource(t *testing.T) {
	h := newHive(t)
	cs := connect(t, h, mcp.Options{})
	ctx := context.Background()
	tpl, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tpl.ResourceTemplates) != 1 || tpl.ResourceTemplates[0].URITemplate != "hive://skills/{+id}" {
		t.Fatalf("resource templates = %+v, %v", tpl, err)
	}
	res, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "hive://skills/" + string(h.seed)})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := h.st.Trace(h.seed)
	if len(res.Contents) != 1 || res.Contents[0].Text != string(e.Data) || res.Contents[0].MIMEType != "application/json" {
		t.Errorf("resource = %+v, want the trace's bytes", res.Contents)
	}
	for _, uri := range []string{"hive://skills/sha256:" + strings.Repeat("0", 64), "hive://skills/nonsense"} {
		if _, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri}); err == nil {
			t.Errorf("ReadResource(%s) = nil error, want not found", uri)
		}
	}
}

// TestConcurrentCalls: calls in parallel, reads and publishes mixed, all
// answer and the hive stays valid.
func TestConcurrentCalls(t *testing.T) {
	h := newHive(t)
	h.trustAll(t)
	cs := connect(t, h, mcp.Options{Publish: true, Instance: "instance_a", Keys: fixtures.KeyFunc("instance_a")})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res *sdk.CallToolResult
			var err error
			switch i % 4 {
			case 0:
				res, err = cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "publish_skill", Arguments: map[string]any{
					"intent": "parallel skill " + string(rune('a'+i)), "reasoning_path": []map[string]any{{"step": 1, "action": "a"}},
					"result": "r", "confidence": 0.95, "verification_score": 0.97}})
			case 1:
				res, err = cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "search_skills", Arguments: map[string]any{"query": "parallel skill"}})
			case 2:
				res, err = cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "use_skill", Arguments: map[string]any{"intent": childIntent}})
			default:
				res, err = cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "skill_lineage", Arguments: map[string]any{"id": string(h.seed)}})
			}
			if err != nil || res.IsError {
				errs <- fmt.Sprintf("call %d: %v %s", i, err, text(res))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	head, _ := h.st.Head()
	if rep, err := h.st.Verify(head, registry.VerifyOptions{Full: true}); err != nil || rep.Err() != nil {
		t.Fatalf("the hive does not verify: %v %v", err, rep.Err())
	}
}
