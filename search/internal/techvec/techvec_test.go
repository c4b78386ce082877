package techvec_test

import (
	"os"
	"testing"

	"github.com/hive-dev/hive/search/internal/techvec"
)

// TestDecode: the committed table decodes, and any truncation of it, or a
// neighbour beyond the terms, is an error, never a panic.
func TestDecode(t *testing.T) {
	b, err := os.ReadFile("../../techvec.bin")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := techvec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Terms) < 30000 || len(tb.Terms) > 50000 || tb.Dims != 128 {
		t.Fatalf("%d terms of %d dimensions, want 30,000 to 50,000 of 128", len(tb.Terms), tb.Dims)
	}
	for _, n := range []int{0, 5, len(techvec.Magic), len(techvec.Magic) + 3, len(b) / 3, len(b) / 2, len(b) - 1} {
		if _, err := techvec.Decode(b[:n]); err == nil {
			t.Errorf("a table cut at %d bytes decodes", n)
		}
	}
	if _, err := techvec.Decode(append(append([]byte{}, b...), 0)); err == nil {
		t.Error("a table with a byte more decodes")
	}
	bad := append([]byte{}, b...)
	bad[len(bad)-2], bad[len(bad)-3] = 0xff, 0xff // the last neighbour's term number
	if tb.Nbrs[len(tb.Nbrs)-1] != nil && len(tb.Nbrs[len(tb.Nbrs)-1]) > 0 {
		if _, err := techvec.Decode(bad); err == nil {
			t.Error("a neighbour beyond the terms decodes")
		}
	}
}

// BenchmarkDecode: what the first search of a process pays to decode the
// embedded table.
func BenchmarkDecode(b *testing.B) {
	t, err := os.ReadFile("../../techvec.bin")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := techvec.Decode(t); err != nil {
			b.Fatal(err)
		}
	}
}
