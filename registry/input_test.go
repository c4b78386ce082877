package registry

import (
	"slices"
	"testing"
)

func TestSplitInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Input
	}{
		{"one trace", `{"a":1}`, []Input{{"f", []byte(`{"a":1}`)}}},
		{"one trace, spaced", " {\"a\":1}\n", []Input{{"f", []byte(" {\"a\":1}\n")}}},
		{"an array", `[{"a":1}, {"b":2}]`, []Input{{"f[0]", []byte(`{"a":1}`)}, {"f[1]", []byte(`{"b":2}`)}}},
		{"an empty array", `[]`, []Input{}},
		{"JSON Lines", "{\"a\":1}\n{\"b\":2}\n", []Input{{"f[0]", []byte(`{"a":1}`)}, {"f[1]", []byte(`{"b":2}`)}}},
		{"values one after another", `{"a":1}{"b":2}`, []Input{{"f[0]", []byte(`{"a":1}`)}, {"f[1]", []byte(`{"b":2}`)}}},
		{"a broken array, whole", `[{"a":1},`, []Input{{"f", []byte(`[{"a":1},`)}}},
		{"a broken second line, whole", "{\"a\":1}\n{\"b\":", []Input{{"f", []byte("{\"a\":1}\n{\"b\":")}}},
		{"empty, whole", ``, []Input{{"f", []byte(``)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitInput("f", []byte(tc.in))
			if !slices.EqualFunc(got, tc.want, func(a, b Input) bool { return a.Name == b.Name && string(a.Data) == string(b.Data) }) {
				t.Errorf("SplitInput(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
