package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// SplitInput splits what a user gave in one file (name is where it came
// from, for messages) into the traces it holds: a JSON array of traces,
// or JSON values one after another (JSON Lines among them). Each is named
// name[i]. A file that does not split, or holds one value, is one input,
// whole, so that the strict parser names what is wrong with it.
func SplitInput(name string, b []byte) []Input {
	whole := []Input{{Name: name, Data: b}}
	trimmed := bytes.TrimSpace(b)
	var items []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return whole
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		for {
			var m json.RawMessage
			err := dec.Decode(&m)
			if err == io.EOF {
				break
			}
			if err != nil {
				return whole
			}
			items = append(items, m)
		}
		if len(items) <= 1 {
			return whole
		}
	}
	out := make([]Input, len(items))
	for i, m := range items {
		out[i] = Input{Name: fmt.Sprintf("%s[%d]", name, i), Data: m}
	}
	return out
}
