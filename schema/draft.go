package schema

import (
	"encoding/json"
	"fmt"
	"time"
)

// Complete turns a draft of a trace into a whole one: what an agent that
// publishes may leave out is filled in, instance_id from instance,
// created_at from now (UTC, to the second) and lineage as [] when absent.
// A draft that names another instance_id than instance is refused; with
// instance "" the draft must name its own. The draft passes the structural
// checks of Canonical first (duplicate keys, null, unknown fields...), and
// the result is canonical bytes that the caller still checks with Parse.
func Complete(draft []byte, instance string, now time.Time) ([]byte, error) {
	c, err := Canonical(draft)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(c, &fields); err != nil {
		return nil, newError(RuleSchema, "", "a trace is a JSON object")
	}
	if raw, ok := fields["instance_id"]; ok {
		var got string
		if err := json.Unmarshal(raw, &got); err == nil && instance != "" && got != instance {
			return nil, newError(RuleSchema, "/instance_id", fmt.Sprintf("the draft names instance %s, not %s", Quote(got, 70), Quote(instance, 70)))
		}
	} else {
		if instance == "" {
			return nil, newError(RuleSchema, "/instance_id", "missing, and no instance was given to fill it")
		}
		fields["instance_id"], _ = json.Marshal(instance)
	}
	if _, ok := fields["created_at"]; !ok {
		fields["created_at"], _ = json.Marshal(now.UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	if _, ok := fields["lineage"]; !ok {
		fields["lineage"] = json.RawMessage("[]")
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, newError(RuleJSON, "", "encode: "+err.Error())
	}
	return Canonical(b)
}
