package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// outcomeEnvelope is reporter's signed outcome about trace, signed by
// signer's fixture key.
func outcomeEnvelope(t *testing.T, trace schema.ID, reporter, signer string, success bool) []byte {
	t.Helper()
	o := &schema.Outcome{Kind: "outcome", Trace: trace, Outcome: schema.OutcomeFailure, InstanceID: reporter, CreatedAt: "2026-01-02T03:04:05Z"}
	if success {
		o.Outcome = schema.OutcomeSuccess
	}
	b, err := o.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := signing.Sign(fixtures.Key(signer), b)
	if err != nil {
		t.Fatal(err)
	}
	env, err := registry.MarshalOutcomeEnvelope(b, bundle)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestOutcomes: POST /skills/{id}/outcomes commits a signed outcome by an
// instance other than the author, once; the skill's standing and its
// author's reputation follow, in every answer that shows them.
func TestOutcomes(t *testing.T) {
	h := newHive(t, 4)
	c := client.New(h.url)
	ctx := context.Background()
	tr, _ := h.gen.Trace(0)
	id, _ := h.gen.ID(0)
	author := tr.InstanceID
	other := map[string]string{"instance_0": "instance_1", "instance_1": "instance_0"}[author]

	var before struct{ Reputation float64 }
	getJSON(t, h.url+"/instances/"+author, &before)
	r, err := c.ReportOutcome(ctx, id, outcomeEnvelope(t, id, other, other, true))
	if err != nil || r.TraceID != id || r.Reporter != other || r.Outcome != "success" || len(r.Commit) != 40 {
		t.Fatalf("ReportOutcome = %+v, %v; want 201", r, err)
	}
	var after struct {
		Reputation float64
		Successes  int
	}
	getJSON(t, h.url+"/instances/"+author, &after)
	if after.Reputation <= before.Reputation || after.Successes != 1 {
		t.Errorf("author after a success: %+v, before %+v", after, before)
	}
	var list struct {
		Standing struct {
			Successes int
			Standing  float64
		}
		Outcomes []schema.Outcome
	}
	getJSON(t, h.url+"/skills/"+string(id)+"/outcomes", &list)
	if len(list.Outcomes) != 1 || list.Outcomes[0].InstanceID != other || list.Standing.Successes != 1 || list.Standing.Standing <= 0.5 {
		t.Errorf("GET outcomes = %+v", list)
	}
	var skill struct{ Standing struct{ Successes int } }
	getJSON(t, h.url+"/skills/"+string(id), &skill)
	if skill.Standing.Successes != 1 {
		t.Errorf("GET /skills/{id} standing = %+v", skill.Standing)
	}
	var ranked struct {
		Skills []struct {
			ID       schema.ID
			Standing *struct{ Successes int }
		}
	}
	getJSON(t, h.url+"/skills?intent="+strings.ReplaceAll(tr.Intent, " ", "+"), &ranked)
	if len(ranked.Skills) == 0 || ranked.Skills[0].ID != id || ranked.Skills[0].Standing == nil || ranked.Skills[0].Standing.Successes != 1 {
		t.Errorf("GET /skills?intent= = %+v", ranked)
	}

	id1, _ := h.gen.ID(1)
	tr1, _ := h.gen.Trace(1)
	other1 := map[string]string{"instance_0": "instance_1", "instance_1": "instance_0"}[tr1.InstanceID]
	for _, c := range []struct {
		name   string
		path   schema.ID
		body   []byte
		status int
		reason string
	}{
		{"again", id, outcomeEnvelope(t, id, other, other, false), 409, "already reported"},
		{"by the author", id, outcomeEnvelope(t, id, author, author, true), 400, "outcome-self"},
		{"signed by another key", id1, outcomeEnvelope(t, id1, other1, tr1.InstanceID, true), 400, "sig-invalid"},
		{"by an unregistered instance", id, outcomeEnvelope(t, id, "stranger", "stranger", true), 403, "sig-key-unknown"},
		{"about no skill", schema.Digest([]byte("x")), outcomeEnvelope(t, schema.Digest([]byte("x")), other, other, true), 404, "outcome-unknown-trace"},
		{"posted to another skill", id1, outcomeEnvelope(t, id, other, other, true), 400, "another skill"},
		{"posted to a prefix of another skill", schema.ID(id1.Hex()[:10]), outcomeEnvelope(t, id, other, other, true), 400, "posted to " + string(id1)},
		{"posted to a prefix of no skill", "000000", outcomeEnvelope(t, id, other, other, true), 404, "not found"},
		{"posted to a short prefix", "abc", outcomeEnvelope(t, id, other, other, true), 400, "at least 6 hex digits"},
		{"not an outcome", id, []byte(`{"outcome":{},"signature":{}}`), 400, "outcome"},
		{"garbage", id, []byte("nope"), 400, ""},
		{"too large", id, make([]byte, registry.MaxOutcomeEnvelopeSize+1), 413, ""},
	} {
		_, err := client.New(h.url).ReportOutcome(ctx, c.path, c.body)
		if status(err) != c.status || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v, want %d naming %q", c.name, err, c.status, c.reason)
		}
	}
	// A unique prefix names the skill, as on the other routes.
	id2, _ := h.gen.ID(2)
	tr2, _ := h.gen.Trace(2)
	other2 := map[string]string{"instance_0": "instance_1", "instance_1": "instance_0"}[tr2.InstanceID]
	if r, err := client.New(h.url).ReportOutcome(ctx, schema.ID(id2.Hex()[:8]), outcomeEnvelope(t, id2, other2, other2, true)); err != nil || r.TraceID != id2 {
		t.Errorf("POST /skills/%s/outcomes (a prefix) = %+v, %v; want 201", id2.Hex()[:8], r, err)
	}
	s, err := registry.Open(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head, _ := s.Head()
	if rep, err := s.Verify(head, registry.VerifyOptions{Full: true}); err != nil || rep.Err() != nil {
		t.Errorf("Verify after the posts: %v %v", err, rep.Err())
	}
	if list, _ := s.Outcomes(id); len(list) != 1 {
		t.Errorf("%d outcomes on main, want 1", len(list))
	}
}

// TestPostNearDuplicate: a skill nearly identical to one on main is
// accepted, with a warning.
func TestPostNearDuplicate(t *testing.T) {
	h := newHive(t, 2)
	tr, _ := h.gen.Trace(0)
	tr.CreatedAt = "2030-01-01T00:00:00Z" // another trace, the same words
	env, _ := sign(t, tr)
	p, err := client.New(h.url).PublishEnvelope(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "nearly identical") || !strings.Contains(p.Warnings[0], "also by "+tr.InstanceID) {
		t.Errorf("Publish(near duplicate) warnings = %q", p.Warnings)
	}
	env, _ = h.envelope(t, 5)
	if p, err := client.New(h.url).PublishEnvelope(context.Background(), env); err != nil || len(p.Warnings) != 0 {
		t.Errorf("Publish(new skill) = %+v, %v; want no warning", p, err)
	}
}
