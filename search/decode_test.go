package search

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hive-dev/hive/fixtures"
)

// decodeCases are documents where decodeIndexed must agree with
// json.Unmarshal: the scanner's own path, and each kind of input it hands
// over to encoding/json.
var decodeCases = []string{
	`{"intent":"Refactor auth","instance_id":"a","confidence":0.9,"verification_score":1,"tags":["x","y"],"reasoning_path":[{"action":"read","n":[1,{"z":true}]},{"action":"edit"}],"result":"ok"}`,
	` { "intent" : "spaces" , "tags" : [ ] , "reasoning_path" : [ ] } `,
	`{"intent":"esc\"aped \u00e9","tags":["caf\u00e9"]}`,
	`{"intent":"non-ASCII é","result":"ünïcode \ud83d\ude00"}`,
	`{"intent":null,"tags":null,"reasoning_path":null}`,
	`{"intent":5}`,
	`{"confidence":"high"}`,
	`{"confidence":1e400}`,
	`{"confidence":-0.5e-3,"verification_score":0}`,
	`{"Intent":"folded key"}`,
	`{"reasoning_path":[{"ACTION":"folded"}]}`,
	`{"tags":["a"],"tags":["b","c"]}`,
	`{"reasoning_path":[{"action":"a"}],"reasoning_path":[{}]}`,
	`{"intent":"a","intent":"b"}`,
	`{"intent":"trailing"} x`,
	`{"intent":"unterminated}`,
	`{"confidence":01}`,
	`{"x":[1,2,}`,
	`[1,2]`,
	`{"x":tru}`,
	`{"x":"\x"}`,
	"{\"intent\":\"ctl\x01\"}",
	"{\"intent\":\"bad utf8 \xff\"}",
	``,
}

func agree(t *testing.T, doc []byte) {
	t.Helper()
	var want, got indexed
	wantErr := json.Unmarshal(doc, &want)
	gotErr := decodeIndexed(doc, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: decodeIndexed error %v, json.Unmarshal %v", doc, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decodeIndexed = %+v, json.Unmarshal %+v", doc, got, want)
	}
}

// TestDecodeIndexed: the index's decoder gives json.Unmarshal's result on
// the fixtures' traces and on every case above.
func TestDecodeIndexed(t *testing.T) {
	for _, doc := range decodeCases {
		agree(t, []byte(doc))
	}
	g := fixtures.NewGenerator(fixtures.Spec{Instances: 3, Traces: 200, LineageEvery: 4})
	in, err := g.Inputs(0, 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range in {
		agree(t, x.Data)
		// And the scanner, not encoding/json, reads them.
		var d indexed
		if !(&scan{b: x.Data}).trace(&d) {
			t.Fatalf("%s: the scanner handed a canonical trace to encoding/json", x.Name)
		}
	}
}

// FuzzDecodeIndexed: on any input, decodeIndexed and json.Unmarshal agree.
func FuzzDecodeIndexed(f *testing.F) {
	for _, doc := range decodeCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { agree(t, doc) })
}
