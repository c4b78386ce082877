package odb_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/odb"
	"github.com/hive-dev/hive/registry"
)

// The contract suite: every way git stores a repository reads the same
// through odb as through git itself. Like restic's backend tests, it runs
// one list of checks over every implementation: memory, and each of
// fixtures.Layouts of one hive.

// contractSpec is the hive the suite reads: one commit a trace, so that
// the root and traces trees have a version per commit and git's deltas on
// them chain deep (past 100, the old reader's limit, at depth 250).
var contractSpec = fixtures.Spec{Instances: 3, Traces: 240, PerCommit: 1, LineageEvery: 4, Bare: true}

var contract struct {
	once    sync.Once
	dir     string            // temporary folder of everything below
	src     string            // the loose hive
	layouts map[string]string // layout -> folder to open
	err     error
}

type object struct {
	hash plumbing.Hash
	typ  plumbing.ObjectType
	data []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if contract.dir != "" {
		os.RemoveAll(contract.dir)
	}
	os.Exit(code)
}

// layouts builds the contract hive and its copies once for the package.
func layouts(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the layouts are git's")
	}
	c := &contract
	c.once.Do(func() {
		if c.dir, c.err = os.MkdirTemp("", "hive-odb-contract-"); c.err != nil {
			return
		}
		c.src = filepath.Join(c.dir, "src")
		s, err := fixtures.Hive(c.src, contractSpec)
		if err != nil {
			c.err = err
			return
		}
		s.Close()
		c.layouts, c.err = fixtures.MakeLayouts(c.src, c.dir)
	})
	if c.err != nil {
		t.Fatal(c.err)
	}
}

// catFile is every object of the repository at dir as git reads it.
func catFile(t *testing.T, dir string) []object {
	t.Helper()
	var objs []object
	err := fixtures.AllObjects(dir, func(h plumbing.Hash, typ plumbing.ObjectType, data []byte) error {
		objs = append(objs, object{hash: h, typ: typ, data: data})
		return nil
	})
	if err != nil {
		t.Fatalf("git cat-file --batch-all-objects in %s: %v", dir, err)
	}
	return objs
}

// checkObjects reads every object of want through db and compares.
func checkObjects(t *testing.T, db odb.DB, want []object) {
	t.Helper()
	if len(want) < 2*contractSpec.Traces {
		t.Fatalf("git lists %d objects, want at least %d", len(want), 2*contractSpec.Traces)
	}
	bad := 0
	for _, o := range want {
		got, err := db.Read(o.typ, o.hash, int64(len(o.data)))
		if err == nil && !bytes.Equal(got, o.data) {
			err = fmt.Errorf("%d bytes differ from git's %d", len(got), len(o.data))
		}
		if err != nil {
			if bad++; bad <= 5 {
				t.Errorf("Read(%s %s): %v", o.typ, o.hash, err)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... and %d more objects", bad-5)
	}
}

// revisions are compared with git rev-parse in every layout.
var revisions = []string{"main", "refs/heads/main", "main~1", "main~3", "main^", "main~2^1", "main^{commit}", "main~7~3"}

func TestContractObjects(t *testing.T) {
	layouts(t)
	for _, mode := range []string{"read", "mapped"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "mapped" {
				odb.MapPacks(t)
			}
			contractObjects(t)
		})
	}
	t.Run("memory", func(t *testing.T) {
		s, err := fixtures.Memory(contractSpec)
		if err != nil {
			t.Fatal(err)
		}
		checkObjects(t, s.DB(), catFile(t, contract.src))
	})
}

func contractObjects(t *testing.T) {
	for _, l := range fixtures.Layouts {
		t.Run(l, func(t *testing.T) {
			dir := contract.layouts[l]
			before := odb.Mappings()
			s, err := registry.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			db := s.DB()
			checkObjects(t, db, catFile(t, dir))
			for _, rev := range append(revisions, "HEAD") {
				want, err := fixtures.Git(dir, nil, "rev-parse", "--verify", "-q", rev)
				if err != nil {
					t.Fatalf("git rev-parse %s: %v", rev, err)
				}
				got, err := odb.Resolve(db, rev)
				if err != nil || got.String() != strings.TrimSpace(want) {
					t.Errorf("Resolve(%s) = %s, %v; git says %s", rev, got, err, strings.TrimSpace(want))
				}
			}
			head, _ := s.Head()
			abbrev := head.String()[:9]
			if got, err := odb.Resolve(db, abbrev); err != nil || got != head {
				t.Errorf("Resolve(%s) = %s, %v; want %s", abbrev, got, err, head)
			}
			s.Close()
			if after := odb.Mappings(); after != before {
				t.Errorf("after Close, %d files are mapped, %d before Open", after, before)
			}
		})
	}
}

// TestContractDeepChains: the depth-250 copy really chains deltas past
// 100 (so that the suite tests what the issue found), and the ref-delta
// copy really has reference deltas.
func TestContractDeepChains(t *testing.T) {
	layouts(t)
	pack := func(l string) (dir, idx string) {
		dir = contract.layouts[l]
		idxs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.idx"))
		if len(idxs) == 0 {
			t.Fatalf("layout %s: no pack", l)
		}
		return dir, idxs[0]
	}
	dir, idx := pack("depth-250")
	out, err := fixtures.Git(dir, nil, "verify-pack", "-v", idx)
	if err != nil {
		t.Fatal(err)
	}
	deepest := 0
	for _, line := range strings.Split(out, "\n") {
		if n, ok := strings.CutPrefix(line, "chain length = "); ok {
			d, _ := strconv.Atoi(strings.TrimSuffix(strings.Fields(n)[0], ":"))
			deepest = max(deepest, d)
		}
	}
	if deepest <= 100 {
		t.Errorf("depth-250: deepest delta chain %d, want more than 100", deepest)
	}
	if dir, idx := pack("ref-delta"); !hasRefDelta(t, dir, idx) {
		t.Errorf("ref-delta: no reference delta in the pack")
	}
}

// hasRefDelta reports whether the pack of idx holds a REF_DELTA object:
// git show-index lists offsets, and a REF_DELTA's header has type 7.
func hasRefDelta(t *testing.T, dir, idx string) bool {
	b, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "show-index")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git show-index: %v", err)
	}
	pack, err := os.ReadFile(strings.TrimSuffix(idx, ".idx") + ".pack")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		off, _ := strconv.Atoi(strings.Fields(line)[0])
		if off < len(pack) && (pack[off]>>4)&7 == 7 {
			return true
		}
	}
	return false
}

// TestContractErrorsAreNotMissing: an object no layout holds is
// ErrNotFound in each, nothing else.
func TestContractErrorsAreNotMissing(t *testing.T) {
	layouts(t)
	missing := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	for _, l := range fixtures.Layouts {
		dir, ok := contract.layouts[l]
		if !ok {
			continue
		}
		s, err := registry.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Read(plumbing.BlobObject, missing, 1<<20); !errors.Is(err, odb.ErrNotFound) || errors.Is(err, odb.ErrCorrupt) {
			t.Errorf("%s: Read(missing) = %v, want ErrNotFound", l, err)
		}
		s.Close()
	}
}

// TestBasesDroppedAfterUse: when delta bases are kept by count (as after a
// long walk's first deltas), reading every object once, in git's order or
// the reverse, leaves no base kept: each is dropped after the last delta
// on it and its own read.
func TestBasesDroppedAfterUse(t *testing.T) {
	layouts(t)
	for _, l := range []string{"gc", "depth-250", "ref-delta"} {
		for _, reverse := range []bool{false, true} {
			d, err := odb.Open(contract.layouts[l])
			if err != nil {
				t.Fatal(err)
			}
			odb.CountBasesNow(d)
			objs := catFile(t, contract.layouts[l])
			if reverse {
				slices.Reverse(objs)
			}
			for _, o := range objs {
				if _, err := d.Read(o.typ, o.hash, int64(len(o.data))); err != nil {
					t.Fatal(err)
				}
			}
			if n, size := odb.PackBases(d); n != 0 || size != 0 {
				t.Errorf("%s (reverse %v): after every object was read, %d bases (%d bytes) are kept, want none %v", l, reverse, n, size, odb.DumpBases(d))
			}
			d.Close()
		}
	}
}
