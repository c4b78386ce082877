package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/reuse"
	"github.com/hive-dev/hive/schema"
)

// publishInput names a publish_skill call in the registry's messages.
const publishInput = "publish_skill"

type publishOut struct {
	ID         schema.ID `json:"id"`
	InstanceID string    `json:"instance_id" jsonschema:"the instance that signed it"`
	CreatedAt  string    `json:"created_at"`
	Commit     string    `json:"commit" jsonschema:"the commit that added it"`
	Server     string    `json:"server,omitempty" jsonschema:"the hive server it was posted to; empty when committed to the local hive"`
	Resource   string    `json:"resource"`
	Warnings   []string  `json:"warnings,omitempty" jsonschema:"skills on main the new one is nearly identical to: by you (it counts once), or by another author without lineage to it (name it in lineage)"`
}

// publishTool is publish_skill. Its arguments are not checked against the
// input schema by the SDK's validator but by the hive's own (the one hive
// add runs), so that a refusal names the hive's rule codes.
func (h *hive) publishTool() tool {
	out, err := jsonschema.For[publishOut](nil)
	if err != nil {
		panic(err)
	}
	return tool{
		def: sdk.Tool{
			Name:  "publish_skill",
			Title: "Publish a skill",
			Description: "Add a skill you just learned to the hive, so that other agents can find and reuse it: what the task was (intent), " +
				"the steps you took, and the result (the code or instructions that worked), with your confidence and how well you verified it. " +
				"The server fills in your instance id and the time, checks it with the hive's validator, signs it with your instance's key and commits it " +
				"(or posts it to the hive server). Name in lineage the ids of skills you built on. The hive refuses a skill below its thresholds " +
				"(by default confidence over 0.9 and verification score at least 0.95) and says which rule it broke.",
			Annotations: &sdk.ToolAnnotations{DestructiveHint: ptr(false), IdempotentHint: true, OpenWorldHint: ptr(true)},
		},
		write: true,
		in:    publishSchema(),
		out:   out,
		call: func(ctx context.Context, h *hive, args json.RawMessage) (any, string, error) {
			o, err := h.publish(ctx, args)
			if err != nil {
				return nil, "", err
			}
			where := "committed to the hive in commit " + short(o.Commit)
			if o.Server != "" {
				where = "posted to " + o.Server + " (commit " + short(o.Commit) + ")"
			}
			text := fmt.Sprintf("published %s as %s: %s\n", o.ID, o.InstanceID, where)
			for _, w := range o.Warnings {
				text += "warning: " + w + "\n"
			}
			return o, text, nil
		},
	}
}

func (h *hive) publish(ctx context.Context, args json.RawMessage) (*publishOut, error) {
	draft, err := schema.Canonical(args)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(draft, &fields); err != nil {
		return nil, &toolError{codeArguments, errors.New("the arguments are not an object")}
	}
	for _, f := range []string{"instance_id", "created_at"} {
		if _, ok := fields[f]; ok {
			return nil, &toolError{codeArguments, fmt.Errorf("%s: filled in by the server (it publishes as %s), leave it out", f, h.opts.Instance)}
		}
	}
	trace, err := schema.Complete(draft, h.opts.Instance, h.opts.Now())
	if err != nil {
		return nil, err
	}
	t, err := schema.ParseCanonical(trace)
	if err != nil {
		return nil, err
	}
	id := schema.Digest(trace)
	out := &publishOut{ID: id, InstanceID: t.InstanceID, CreatedAt: t.CreatedAt, Resource: resourcePrefix + string(id)}
	if c := h.opts.Server; c != nil {
		key, err := h.opts.Keys(t.InstanceID)
		if err != nil {
			return nil, err
		}
		p, err := c.Publish(ctx, trace, key)
		if err != nil {
			return nil, err
		}
		out.Commit, out.Server, out.Warnings = p.Commit, c.BaseURL, p.Warnings
		return out, nil
	}
	err = h.src.(Writer).Write(ctx, func(st *registry.Store) error {
		added, err := st.Add([]registry.Input{{Name: publishInput, Data: trace}}, h.opts.Keys)
		if err != nil {
			return err
		}
		out.Commit = added[0].Commit.String()
		out.Warnings = nearDuplicates(st, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// publishSchema is the input schema of publish_skill: the trace schema
// without what the server fills in, with descriptions for a model.
func publishSchema() *jsonschema.Schema {
	str := func(desc string, lo, hi int) *jsonschema.Schema {
		s := &jsonschema.Schema{Type: "string", Description: desc, MaxLength: ptr(hi)}
		if lo > 0 {
			s.MinLength = ptr(lo)
		}
		return s
	}
	score := func(desc string) *jsonschema.Schema {
		return &jsonschema.Schema{Type: "number", Description: desc, Minimum: ptr(0.0), Maximum: ptr(1.0)}
	}
	return &jsonschema.Schema{
		Type:                 "object",
		AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}},
		Required:             []string{"intent", "reasoning_path", "result", "confidence", "verification_score"},
		Properties: map[string]*jsonschema.Schema{
			"intent": str("the task the skill does, in one line of plain words, as another agent would ask for it", 1, schema.MaxIntent),
			"reasoning_path": {
				Type:        "array",
				Description: "the steps you took, in order, numbered 1, 2, 3...",
				MinItems:    ptr(1),
				MaxItems:    ptr(schema.MaxSteps),
				Items: &jsonschema.Schema{
					Type:                 "object",
					AdditionalProperties: &jsonschema.Schema{Not: &jsonschema.Schema{}},
					Required:             []string{"step", "action"},
					Properties: map[string]*jsonschema.Schema{
						"step":   {Type: "integer", Description: "1 for the first step, then 2, 3...", Minimum: ptr(1.0), Maximum: ptr(float64(schema.MaxSteps))},
						"action": str("what you did, in a few words", 1, schema.MaxAction),
						"detail": str("more about the step, when it helps (may hold newlines)", 1, schema.MaxDetail),
					},
				},
			},
			"result":             str("the skill itself: the code or instructions that solved the task (may hold newlines)", 0, schema.MaxResult),
			"confidence":         score("how sure you are that the result is right, from 0 to 1"),
			"verification_score": score("how well you checked the result (tests passed, a run, a review), from 0 to 1"),
			"lineage": {
				Type:        "array",
				Description: "ids of the skills this one was derived from (sha256:...), if any",
				MaxItems:    ptr(schema.MaxLineage),
				UniqueItems: true,
				Items:       &jsonschema.Schema{Type: "string", Pattern: `^sha256:[0-9a-f]{64}$`},
			},
			"tags": {
				Type:        "array",
				Description: "a few lower-case labels (a-z, 0-9, '.', '_', '-'), if useful",
				MinItems:    ptr(1),
				MaxItems:    ptr(schema.MaxTags),
				UniqueItems: true,
				Items:       &jsonschema.Schema{Type: "string", Pattern: `^[a-z0-9][a-z0-9._-]{0,31}$`},
			},
		},
	}
}

// resourcePrefix starts the URI of a skill.
const resourcePrefix = "hive://skills/"

// readResource reads hive://skills/{id}: the trace file's exact bytes.
func (h *hive) readResource(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
	uri := req.Params.URI
	q, ok := strings.CutPrefix(uri, resourcePrefix)
	if !ok {
		return nil, sdk.ResourceNotFoundError(uri)
	}
	var data []byte
	missing := false
	err := h.read(ctx, func(st *registry.Store, _ *reuse.View) error { // the view: main verified first
		id, err := st.ResolveID(q)
		if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrInvalid) {
			missing = true
			return nil
		}
		if err != nil {
			return err
		}
		e, err := st.Trace(id)
		if err != nil {
			return err
		}
		data = e.Data
		return nil
	})
	if err != nil {
		return nil, errors.New(errorText(err))
	}
	if missing {
		return nil, sdk.ResourceNotFoundError(uri)
	}
	return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(data)}}}, nil
}
