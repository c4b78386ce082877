package registry

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/hive-dev/hive/odb"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// seedTrace is the seed's example trace in its canonical form.
const seedTrace = `{"confidence":0.98,"created_at":"2025-12-13T03:45:00Z","instance_id":"instance_a","intent":"Refactor auth to use env vars","lineage":[],"reasoning_path":[{"action":"analyze_auth_dependencies","step":1},{"action":"generate_env_var_code","step":2}],"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')","verification_score":1}`

// Instances of the test hive: a and b add traces, m maintains hive.json, c
// has a key pair but no registered key.
const (
	instA = "instance_a"
	instB = "instance_b"
	instC = "instance_c"
	instM = "instance_m"
)

// testKey returns the deterministic ed25519 key of an instance.
func testKey(t testing.TB, instance string) *signing.PrivateKey {
	t.Helper()
	seed := sha256.Sum256([]byte("hive registry test key " + instance))
	k, err := signing.NewEd25519FromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testKeys(t testing.TB) KeyFunc {
	return func(instance string) (*signing.PrivateKey, error) { return testKey(t, instance), nil }
}

// traceBytes returns the canonical bytes of a valid trace: the seed with
// another instance, intent and lineage.
func traceBytes(t testing.TB, instance, intent string, lineage ...schema.ID) []byte {
	t.Helper()
	if lineage == nil {
		lineage = []schema.ID{}
	}
	m := map[string]any{
		"confidence":  0.98,
		"created_at":  "2025-12-13T03:45:00Z",
		"instance_id": instance,
		"intent":      intent,
		"lineage":     lineage,
		"reasoning_path": []any{
			map[string]any{"action": "analyze_auth_dependencies", "step": 1},
			map[string]any{"action": "generate_env_var_code", "step": 2},
		},
		"result":             "import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')",
		"verification_score": 1,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := schema.Canonical(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schema.ParseCanonical(c); err != nil {
		t.Fatalf("traceBytes(%s, %q) is not a valid trace: %v", instance, intent, err)
	}
	return c
}

// testHive is an in-memory hive with a clock that ticks a second a commit.
type testHive struct {
	t    testing.TB
	s    *Store
	w    *writer
	tick time.Time
}

// clock returns a deterministic clock that moves one second each call.
func (h *testHive) clock() time.Time {
	h.tick = h.tick.Add(time.Second)
	return h.tick
}

// newTestHive makes a hive over db (a new in-memory one when nil) with
// maintainer m, keys of a, b and m registered, and opts.
func newTestHive(t testing.TB, db odb.DB, opts ...Option) *testHive {
	t.Helper()
	if db == nil {
		db = odb.NewMemory()
	}
	return initTestHive(t, func(o []Option) *Store { return newStore(db, memory.NewStorage(), "", o) }, opts)
}

// openDisk opens the repository in dir (bare) as tests need it.
func openDisk(t testing.TB, dir string, opts []Option) *Store {
	t.Helper()
	s, err := openAt(dir, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// diskTemplate is a test hive in a bare repository on disk, made once,
// which copyDiskTestHive copies: making each anew costs dozens of fsyncs.
var diskTemplate struct {
	once sync.Once
	dir  string
	tick time.Time
	err  error
}

// copyDiskTestHive is newFixture in a bare repository on disk, read by
// hive's own readers of loose files rather than through go-git.
func copyDiskTestHive(t *testing.T) (*testHive, fixture) {
	t.Helper()
	tp := &diskTemplate
	tp.once.Do(func() {
		tp.dir, tp.err = os.MkdirTemp("", "hive-test-")
		if tp.err != nil {
			return
		}
		h := initTestHive(t, func(o []Option) *Store {
			if _, err := git.PlainInit(tp.dir, true); err != nil {
				t.Fatal(err)
			}
			return openDisk(t, tp.dir, o)
		}, nil)
		fixtureIn(t, h)
		tp.tick = h.tick
		tp.err = h.s.Close()
	})
	if tp.err != nil {
		t.Fatal(tp.err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(tp.dir)); err != nil {
		t.Fatal(err)
	}
	h := &testHive{t: t, tick: tp.tick}
	h.s = openDisk(t, dir, []Option{WithClock(h.clock)})
	h.w = &writer{s: h.s}
	t.Cleanup(func() { h.s.Close() })
	head := h.head()
	t1 := traceBytes(t, instA, "Refactor auth to use env vars")
	return h, fixture{base: head, t1: schema.Digest(t1), t1Data: t1}
}

func initTestHive(t testing.TB, open func([]Option) *Store, opts []Option) *testHive {
	t.Helper()
	h := &testHive{t: t, tick: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	h.s = open(append([]Option{WithClock(h.clock)}, opts...))
	h.w = &writer{s: h.s}
	if err := InitStorage(h.s, "test", []string{instM}); err != nil {
		t.Fatal(err)
	}
	for _, inst := range []string{instA, instB, instM} {
		if _, err := h.s.AddKey(inst, testKey(t, inst).Public().MarshalPEM()); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *testHive) head() plumbing.Hash {
	h.t.Helper()
	c, err := h.s.Head()
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// add adds traces with Add and returns their ids.
func (h *testHive) add(data ...[]byte) []schema.ID {
	h.t.Helper()
	var in []Input
	for i, d := range data {
		in = append(in, Input{Name: fmt.Sprintf("t%d.json", i), Data: d})
	}
	added, err := h.s.Add(in, testKeys(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []schema.ID
	for _, a := range added {
		ids = append(ids, a.ID)
	}
	return ids
}

func (h *testHive) treeOf(c plumbing.Hash) plumbing.Hash {
	h.t.Helper()
	cc, err := (&validator{s: h.s}).readCommit(c)
	if err != nil {
		h.t.Fatal(err)
	}
	return cc.TreeHash
}

func (h *testHive) parents(c plumbing.Hash) []plumbing.Hash {
	h.t.Helper()
	cc, err := (&validator{s: h.s}).readCommit(c)
	if err != nil {
		h.t.Fatal(err)
	}
	return cc.ParentHashes
}

func (h *testHive) blob(b []byte) plumbing.Hash {
	h.t.Helper()
	bh, err := h.w.blob(b)
	if err != nil {
		h.t.Fatal(err)
	}
	return bh
}

// file is a regular file entry holding b.
func (h *testHive) file(b []byte) *entry {
	return &entry{mode: filemode.Regular, hash: h.blob(b)}
}

// edit returns the tree of commit c with files changed (nil removes).
func (h *testHive) edit(c plumbing.Hash, files map[string]*entry) plumbing.Hash {
	h.t.Helper()
	var root plumbing.Hash
	if !c.IsZero() {
		root = h.treeOf(c)
	}
	r, err := h.w.edit(root, files)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// commitTree writes a commit of tree with the given parents; main does not move.
func (h *testHive) commitTree(tree plumbing.Hash, parents ...plumbing.Hash) plumbing.Hash {
	h.t.Helper()
	c, err := h.w.commit(tree, parents, "x", h.clock(), "test commit\n")
	if err == nil {
		err = h.w.sync() // on disk: the objects into place, readable
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// commit writes a child of parent with files changed; main does not move.
func (h *testHive) commit(parent plumbing.Hash, files map[string]*entry) plumbing.Hash {
	h.t.Helper()
	return h.commitTree(h.edit(parent, files), parent)
}

// traceFiles returns the files of a trace at the name of its bytes, with a
// bundle over those bytes signed by signer's key.
func (h *testHive) traceFiles(data []byte, signer string) map[string]*entry {
	h.t.Helper()
	id := schema.Digest(data)
	return map[string]*entry{TracePath(id): h.file(data), BundlePath(id): h.file(h.sign(signer, data))}
}

func (h *testHive) sign(signer string, data []byte) []byte {
	h.t.Helper()
	b, err := signing.Sign(testKey(h.t, signer), data)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// config returns the hive.json of commit c.
func (h *testHive) config(c plumbing.Hash) Config {
	h.t.Helper()
	cfg, err := h.s.configAt(h.s.trees, h.treeOf(c))
	if err != nil {
		h.t.Fatal(err)
	}
	return *cfg
}

// configFiles returns a new hive.json and, when signer is not "", its bundle.
func (h *testHive) configFiles(cfg Config, signer string) map[string]*entry {
	h.t.Helper()
	raw, err := cfg.Marshal()
	if err != nil {
		h.t.Fatal(err)
	}
	files := map[string]*entry{ConfigPath: h.file(raw)}
	if signer != "" {
		files[ConfigBundlePath] = h.file(h.sign(signer, raw))
	}
	return files
}

// merge combines file maps; later maps win.
func merge(ms ...map[string]*entry) map[string]*entry {
	out := map[string]*entry{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// verify runs Verify and fails the test on an error.
func (h *testHive) verify(head plumbing.Hash, opts VerifyOptions) *Report {
	h.t.Helper()
	r, err := h.s.Verify(head, opts)
	if err != nil {
		h.t.Fatalf("Verify(%s) error: %v", short(head), err)
	}
	return r
}

// want is a violation expected: the commit, the path and the rule.
type want struct {
	commit plumbing.Hash
	path   string
	rule   Rule
}

func (w want) String() string {
	c := "-"
	if !w.commit.IsZero() {
		c = short(w.commit)
	}
	return fmt.Sprintf("%s %s %s", c, w.path, w.rule)
}

// found returns the distinct (commit, path, rule) of the violations, sorted.
func found(vs Violations) []want {
	var out []want
	for _, v := range vs {
		w := want{v.Commit, v.Path, v.Rule}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	sortWants(out)
	return out
}

func sortWants(ws []want) {
	sort.Slice(ws, func(i, j int) bool { return ws[i].String() < ws[j].String() })
}

func wantsString(ws []want) string {
	var b []string
	for _, w := range ws {
		b = append(b, w.String())
	}
	return "[" + strings.Join(b, "; ") + "]"
}

// checkViolations reports unless the violations are exactly wants.
func checkViolations(t testing.TB, what string, r *Report, wants []want) {
	t.Helper()
	got := found(r.Violations)
	ws := slices.Clone(wants)
	sortWants(ws)
	if !slices.Equal(got, ws) {
		t.Errorf("%s = %s, want %s\nviolations:\n%v", what, wantsString(got), wantsString(ws), r.Violations)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if diskTemplate.dir != "" {
		os.RemoveAll(diskTemplate.dir)
	}
	os.Exit(code)
}
