package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// tool is one MCP tool: what clients see of it, and its call.
type tool struct {
	def   sdk.Tool
	write bool // it changes a hive: offered only with Options.Publish
	in    *jsonschema.Schema
	out   *jsonschema.Schema
	call  func(ctx context.Context, h *hive, args json.RawMessage) (out any, text string, err error)
}

// typed makes a tool whose arguments are In and whose structured output
// is Out, both schemas inferred from the types (descriptions from their
// jsonschema tags), the input's adjusted by adjust. The arguments are
// checked against the input schema, then decoded strictly; run gets them
// and returns the output and its text for people and models that do not
// read structured output.
func typed[In, Out any](def sdk.Tool, adjust func(*jsonschema.Schema), run func(ctx context.Context, h *hive, in In) (Out, string, error)) tool {
	in, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("tool %s: input schema: %v", def.Name, err))
	}
	if adjust != nil {
		adjust(in)
	}
	out, err := jsonschema.For[Out](nil)
	if err != nil {
		panic(fmt.Sprintf("tool %s: output schema: %v", def.Name, err))
	}
	resolved, err := in.Resolve(nil)
	if err != nil {
		panic(fmt.Sprintf("tool %s: input schema: %v", def.Name, err))
	}
	return tool{def: def, in: in, out: out, call: func(ctx context.Context, h *hive, args json.RawMessage) (any, string, error) {
		if len(bytes.TrimSpace(args)) == 0 {
			args = json.RawMessage("{}")
		}
		var v any
		if err := json.Unmarshal(args, &v); err != nil {
			return nil, "", &toolError{codeArguments, fmt.Errorf("not JSON: %v", err)}
		}
		if err := resolved.Validate(v); err != nil {
			return nil, "", &toolError{codeArguments, argumentsError(err)}
		}
		var x In
		dec := json.NewDecoder(bytes.NewReader(args))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&x); err != nil {
			return nil, "", &toolError{codeArguments, err}
		}
		o, text, err := run(ctx, h, x)
		if err != nil {
			return nil, "", err
		}
		return o, text, nil
	}}
}

// argumentsError shortens the validator's message to the part that says
// what is wrong, and words a number out of bounds as a person would:
// "limit: 51 is more than the maximum 50", not "validating
// /properties/limit: maximum: 51/1 is greater than 50.000000".
func argumentsError(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "validating root: ")
	if m := patternMessage.FindStringSubmatch(msg); m != nil && m[1] == "id" {
		return errors.New("id: want sha256:<64 hex digits> or a prefix of at least 6 hex digits")
	}
	if m := boundMessage.FindStringSubmatch(msg); m != nil {
		n, ok := new(big.Rat).SetString(m[3])
		bound, err := strconv.ParseFloat(m[5], 64)
		if ok && err == nil {
			v, _ := n.Float64()
			words := map[string]string{
				"minimum": "is less than the minimum", "maximum": "is more than the maximum",
				"exclusiveMinimum": "is not more than", "exclusiveMaximum": "is not less than",
			}[m[2]]
			msg = fmt.Sprintf("%s: %s %s %s", m[1], strconv.FormatFloat(v, 'g', -1, 64), words, strconv.FormatFloat(bound, 'g', -1, 64))
		}
	}
	return fmt.Errorf("%s", msg)
}

// patternMessage is the validator's message for a string that does not
// match its pattern: the argument.
var patternMessage = regexp.MustCompile(`^validating /properties/([A-Za-z_]+): pattern: `)

// boundMessage is the validator's message for a number out of bounds:
// the argument, the bound's kind, the number as a fraction, and the bound.
var boundMessage = regexp.MustCompile(`^validating /properties/([A-Za-z_]+): (minimum|maximum|exclusiveMinimum|exclusiveMaximum): (-?[0-9]+/[0-9]+) is (less|greater) than (?:or equal to )?(-?[0-9.]+)$`)

// ptr returns a pointer to v, for schema bounds.
func ptr[T any](v T) *T { return &v }
