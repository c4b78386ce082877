package gitfmt_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/packfile"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/gitfmt"
)

// versions returns n versions of a shard-like object: sorted lines, each
// version with one line more at a random place, as a hive's shard tree
// grows by one trace a commit.
func versions(n, lines int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var entries []string
	for range lines {
		entries = append(entries, fmt.Sprintf("100644 %016x.json\x00%020x", r.Uint64(), r.Uint64()))
	}
	var out [][]byte
	for range n {
		at := r.IntN(len(entries) + 1)
		entries = append(entries[:at], append([]string{fmt.Sprintf("100644 %016x.json\x00%020x", r.Uint64(), r.Uint64())}, entries[at:]...)...)
		out = append(out, []byte(fmt.Sprint(entries)))
	}
	return out
}

// chainOf returns the deltas that build each version from the one before,
// as git's delta search makes them.
func chainOf(vs [][]byte) [][]byte {
	var ds [][]byte
	for i := 1; i < len(vs); i++ {
		ds = append(ds, packfile.DiffDelta(vs[i-1], vs[i]))
	}
	return ds
}

// applyEach builds the end of a chain the plain way, one object at a time.
func applyEach(base []byte, deltas [][]byte) ([]byte, error) {
	cur := base
	for i, d := range deltas {
		next, err := gitfmt.ApplyDelta(nil, cur, d)
		if err != nil {
			return nil, fmt.Errorf("delta %d: %w", i, err)
		}
		cur = next
	}
	return cur, nil
}

func TestDeltaPlan(t *testing.T) {
	grown := versions(60, 700, 1)
	shrunk := versions(30, 50, 2)
	for i, j := 0, len(shrunk)-1; i < j; i, j = i+1, j-1 {
		shrunk[i], shrunk[j] = shrunk[j], shrunk[i]
	}
	abc := []byte("abcdefghij")
	tests := []struct {
		name   string
		base   []byte
		deltas [][]byte
	}{
		{"no delta", abc, nil},
		{"a shard tree's 59 versions, oldest first", grown[0], chainOf(grown)},
		{"newest first (git's own order)", shrunk[0], chainOf(shrunk)},
		{"inserts only", abc, [][]byte{fixtures.InsertDelta(10, []byte("xyz")), fixtures.InsertDelta(3, []byte("0123456789"))}},
		{"copies that overlap and repeat", abc, [][]byte{
			append(fixtures.DeltaHeader(10, 16), 0x91, 2, 5, 0x91, 0, 10, 1, '!'),
			append(fixtures.DeltaHeader(16, 9), 0x91, 14, 2, 0x91, 3, 6, 1, '?'),
			append(fixtures.DeltaHeader(9, 18), 0x90, 9, 0x90, 9),
		}},
		{"to one byte and back", abc, [][]byte{append(fixtures.DeltaHeader(10, 1), 0x91, 9, 1), append(fixtures.DeltaHeader(1, 4), 3, 'n', 'e', 'w', 0x90, 1)}},
		{"from an empty base", nil, [][]byte{fixtures.InsertDelta(0, []byte("made")), append(fixtures.DeltaHeader(4, 8), 0x90, 4, 0x90, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := applyEach(tt.base, tt.deltas)
			if err != nil {
				t.Fatal(err)
			}
			p := gitfmt.NewDeltaPlan(tt.base)
			for i, d := range tt.deltas {
				if err := p.Add(d); err != nil {
					t.Fatalf("Add(delta %d): %v", i, err)
				}
			}
			if got := p.Build(nil); !bytes.Equal(got, want) {
				t.Fatalf("Build = %q, want %q", got, want)
			}
			if p.Size() != uint64(len(want)) {
				t.Fatalf("Size = %d, want %d", p.Size(), len(want))
			}
			if p.Spans() > 1+3*len(tt.deltas)*4 && p.Spans() > len(want)/8 {
				t.Fatalf("%d spans for %d bytes from %d deltas", p.Spans(), len(want), len(tt.deltas))
			}
		})
	}
}

// A delta that does not apply to the object the plan builds is the error
// ApplyDelta gives, and leaves the plan as it was.
func TestDeltaPlanRefuses(t *testing.T) {
	base := []byte("abcdefghij")
	first := append(fixtures.DeltaHeader(10, 12), 0x90, 10, 2, 'x', 'y')
	built, err := gitfmt.ApplyDelta(nil, base, first)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		delta []byte
	}{
		{"shorter than git's minimum", []byte{12, 1, 1}},
		{"for a base of another size", fixtures.InsertDelta(10, []byte("abc"))},
		{"a copy past the end", append(fixtures.DeltaHeader(12, 5), 0x91, 10, 5)},
		{"a copy past the declared size", append(fixtures.DeltaHeader(12, 3), 0x90, 5)},
		{"a truncated copy", append(fixtures.DeltaHeader(12, 3), 0x93, 1)},
		{"an insert past the end of the delta", append(fixtures.DeltaHeader(12, 3), 3, 'a')},
		{"instruction 0", append(fixtures.DeltaHeader(12, 3), 0, 3, 'a', 'b', 'c')},
		{"fewer bytes than declared", append(fixtures.DeltaHeader(12, 4), 0x90, 3)},
		{"a size its instructions cannot reach", append(fixtures.DeltaHeader(12, 1<<40), 0x90, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, werr := gitfmt.ApplyDelta(nil, built, tt.delta)
			if werr == nil {
				t.Fatalf("ApplyDelta took %q", tt.delta)
			}
			p := gitfmt.NewDeltaPlan(base)
			if err := p.Add(first); err != nil {
				t.Fatal(err)
			}
			err := p.Add(tt.delta)
			if err == nil || err.Error() != werr.Error() || !errors.Is(err, gitfmt.ErrDelta) {
				t.Fatalf("Add = %v, want %v", err, werr)
			}
			if got := p.Build(nil); !bytes.Equal(got, built) {
				t.Fatalf("after the refusal, Build = %q, want %q", got, built)
			}
		})
	}
}

// A delta that would split a plan into more parts than its object has
// bytes to spare is refused with ErrPlanSpans, and the plan kept: a chain
// of such deltas cannot make a plan take more memory than its object.
func TestDeltaPlanSpansBounded(t *testing.T) {
	base := bytes.Repeat([]byte("0123456789abcdef"), 64) // 1 KiB
	// 1,024 one-byte copies, in reverse: no two parts join.
	d := fixtures.DeltaHeader(len(base), len(base))
	for i := len(base) - 1; i >= 0; i-- {
		d = append(d, 0x93, byte(i), byte(i>>8), 1)
	}
	want, err := gitfmt.ApplyDelta(nil, base, d)
	if err != nil {
		t.Fatal(err)
	}
	p := gitfmt.NewDeltaPlan(base)
	if err := p.Add(d); !errors.Is(err, gitfmt.ErrPlanSpans) {
		t.Fatalf("Add = %v, want ErrPlanSpans", err)
	}
	if p.Spans() != 1 || !bytes.Equal(p.Build(nil), base) {
		t.Fatalf("after the refusal the plan has %d spans", p.Spans())
	}
	// The caller's way on: build, apply, plan again.
	got, err := gitfmt.ApplyDelta(nil, p.Build(nil), d)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ApplyDelta after the refusal = %v", err)
	}
}

// FuzzDeltaPlan: a plan of two deltas builds what applying them one after
// the other builds, or fails where that fails (a plan past its bound is
// built and the delta applied, as odb does).
func FuzzDeltaPlan(f *testing.F) {
	f.Add([]byte("abcdefghij"), append(fixtures.DeltaHeader(10, 12), 0x90, 10, 2, 'x', 'y'), append(fixtures.DeltaHeader(12, 6), 0x91, 8, 4, 2, '-', '-'))
	f.Add([]byte("hello world"), []byte{11, 5, 0x90, 5}, []byte{5, 10, 0x90, 5, 0x90, 5})
	f.Add([]byte{}, fixtures.InsertDelta(0, []byte("abc")), append(fixtures.DeltaHeader(3, 1), 0x91, 2, 1))
	f.Fuzz(func(t *testing.T, base, d1, d2 []byte) {
		for _, d := range [][]byte{d1, d2} {
			if _, size, _, err := gitfmt.DeltaSizes(d); err == nil && size > 1<<20 {
				return
			}
		}
		add := func(p *gitfmt.DeltaPlan, d []byte) (*gitfmt.DeltaPlan, error) {
			err := p.Add(d)
			if !errors.Is(err, gitfmt.ErrPlanSpans) {
				return p, err
			}
			b, err := gitfmt.ApplyDelta(nil, p.Build(nil), d)
			if err != nil {
				t.Fatalf("ErrPlanSpans for a delta ApplyDelta refuses: %v", err)
			}
			return gitfmt.NewDeltaPlan(b), nil
		}
		mid, err1 := gitfmt.ApplyDelta(nil, base, d1)
		p, err := add(gitfmt.NewDeltaPlan(base), d1)
		if (err == nil) != (err1 == nil) {
			t.Fatalf("Add(d1): %v; ApplyDelta: %v", err, err1)
		}
		if err1 != nil {
			return
		}
		if p.Spans() > int(p.Size()/32+64) {
			t.Fatalf("%d spans for %d bytes", p.Spans(), p.Size())
		}
		end, err2 := gitfmt.ApplyDelta(nil, mid, d2)
		p, err = add(p, d2)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Add(d2): %v; ApplyDelta: %v", err, err2)
		}
		want := end
		if err2 != nil {
			want = mid
		}
		if got := p.Build(nil); !bytes.Equal(got, want) {
			t.Fatalf("Build = %q, want %q", got, want)
		}
	})
}

// BenchmarkDeltaChain builds the newest of 50 versions of an 80 KB shard
// tree from the oldest, as a range verification of a packed hive does for
// each shard: one delta at a time, or composed into one plan.
func BenchmarkDeltaChain(b *testing.B) {
	vs := versions(51, 1000, 3)
	ds := chainOf(vs)
	b.Run("apply-each", func(b *testing.B) {
		b.SetBytes(int64(len(vs[len(vs)-1])))
		for b.Loop() {
			if _, err := applyEach(vs[0], ds); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plan", func(b *testing.B) {
		b.SetBytes(int64(len(vs[len(vs)-1])))
		for b.Loop() {
			p := gitfmt.NewDeltaPlan(vs[0])
			for _, d := range ds {
				if err := p.Add(d); err != nil {
					b.Fatal(err)
				}
			}
			p.Build(nil)
		}
	})
}
