package server

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// TestCatalogIncremental: the catalog brought forward from an older main
// (new skills, a merge of another hive's, a skill removed by a dispute)
// is the catalog made from scratch.
func TestCatalogIncremental(t *testing.T) {
	tmp := t.TempDir()
	names := []string{"instance_0", "instance_1", "maint"}
	keys := fixtures.KeyFunc(names...)
	a, err := registry.Init(filepath.Join(tmp, "a"), registry.InitOptions{Maintainers: []string{"maint"}}, registry.WithClock(fixtures.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, n := range names {
		if _, err := a.AddKey(n, fixtures.Key(n).Public().MarshalPEM()); err != nil {
			t.Fatal(err)
		}
	}
	add := func(s *registry.Store, inst string, i int, lineage ...schema.ID) schema.ID {
		t.Helper()
		b, err := fixtures.Trace(inst, i, lineage...).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		added, err := s.Add([]registry.Input{{Name: "t", Data: b}}, keys)
		if err != nil {
			t.Fatal(err)
		}
		return added[0].ID
	}
	first := add(a, "instance_0", 0)
	second := add(a, "instance_1", 1, first)
	old, err := buildCatalog(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another hive cloned from a adds its own; a adds, removes, then merges.
	b, _, err := registry.Clone(filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), nil, registry.WithClock(fixtures.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	add(b, "instance_1", 10, second)
	add(b, "instance_0", 11)
	third := add(a, "instance_0", 2, second)
	add(a, "instance_1", 3, third, first)
	d, _, err := a.OpenDispute(first, "wrong", "instance_1", fixtures.Key("instance_1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ResolveDispute(d, registry.DecisionRemove, "confirmed", "maint", fixtures.Key("maint")); err != nil {
		t.Fatal(err)
	}
	r, err := a.ResolveRemote(filepath.Join(tmp, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := a.Pull(r, nil); err != nil || !res.Merged {
		t.Fatalf("pull: %v (merged %v)", err, res != nil && res.Merged)
	}
	inc, err := buildCatalog(a, old)
	if err != nil {
		t.Fatal(err)
	}
	full, err := buildCatalog(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if inc.head != full.head || len(inc.commits) != len(full.commits) {
		t.Fatalf("incremental: head %s, %d commits; full: head %s, %d commits", inc.head, len(inc.commits), full.head, len(full.commits))
	}
	ids := func(c *catalog) []schema.ID {
		var out []schema.ID
		for _, sk := range c.skills {
			out = append(out, sk.ID)
		}
		return out
	}
	if got, want := ids(inc), ids(full); !reflect.DeepEqual(got, want) {
		t.Errorf("skills, newest first:\nincremental %v\nfull        %v", got, want)
	}
	for id, sk := range full.byID {
		if got := inc.byID[id]; got == nil || got.Commit != sk.Commit || got.Intent != sk.Intent {
			t.Errorf("skill %s: incremental %+v, full %+v", id.Short(), got, sk)
		}
	}
	if !reflect.DeepEqual(inc.children, full.children) {
		t.Errorf("children: incremental %v, full %v", inc.children, full.children)
	}
	if len(inc.removed) != 1 || len(full.removed) != 1 || *inc.removed[first] != *full.removed[first] {
		t.Errorf("removed: incremental %v, full %v", inc.removed, full.removed)
	}
	if inc.byID[first] != nil {
		t.Error("the removed skill is still listed")
	}
	if len(inc.disputes) != 1 || inc.disputes[0].Resolution == nil {
		t.Errorf("disputes = %+v", inc.disputes)
	}
	if same, err := buildCatalog(a, inc); err != nil || same != inc {
		t.Errorf("the catalog of an unmoved main was rebuilt (%v)", err)
	}
}
