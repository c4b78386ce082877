package trust

import (
	"math"
	"reflect"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/search"
)

func TestCompute(t *testing.T) {
	var events []Event
	for i := range 10 {
		events = append(events, Event{Instance: "a", Quality: 0.98})
		st := Compute(events).Of("a")
		want := 0.98 - 0.48*math.Pow(0.9, float64(i+1))
		if math.Abs(st.Reputation-want) > 1e-12 {
			t.Fatalf("after %d traces: reputation %v, want %v", i+1, st.Reputation, want)
		}
		if st.Trusted != (i+1 >= 10) {
			t.Errorf("after %d traces: trusted %v (reputation %.4f)", i+1, st.Trusted, st.Reputation)
		}
	}
	events = append(events, UpheldDispute("c", "sha256:x", "a"))
	st := Compute(events).Of("a")
	if st.Trusted || st.Upheld != 1 || st.Traces != 10 {
		t.Errorf("after an upheld dispute: %+v, want untrusted, 1 upheld, 10 traces", st)
	}
	if got := Compute(nil).Of("z"); got.Reputation != Start || got.Trusted {
		t.Errorf("Of(unknown) = %+v, want neutral", got)
	}
}

// TestReputationSameEverywhere: the same history on disk and in memory
// gives the same table.
func TestReputationSameEverywhere(t *testing.T) {
	sp := fixtures.Spec{Instances: 3, Traces: 90, PerCommit: 4, LineageEvery: 5}
	mem, err := fixtures.Memory(sp)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := fixtures.Hive(t.TempDir(), sp)
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	var tables [][]Standing
	for _, s := range []*registry.Store{mem, disk} {
		ix, err := search.OpenIndex(s)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := Reputation(s, ix)
		if err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tab.All())
	}
	if !reflect.DeepEqual(tables[0], tables[1]) {
		t.Errorf("memory %v, disk %v", tables[0], tables[1])
	}
	if n := len(tables[0]); n != 3 {
		t.Errorf("%d instances, want 3", n)
	}
}
