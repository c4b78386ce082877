package search

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

var testQueries = []string{
	"Refactor auth to use env vars",
	"parse the config file",
	"retry http requests with backoff",
	"validate user input",
	"cache database queries",
	"compile a kernel module",
	"",
}

// bruteForce scores every trace on main with Index.Similarity, the
// reference Search must agree with.
func bruteForce(t *testing.T, s *registry.Store, ix *Index, q Query) []Result {
	t.Helper()
	ids, err := s.TraceIDs()
	if err != nil {
		t.Fatal(err)
	}
	var out []Result
	for _, id := range ids {
		e, err := s.Trace(id)
		if err != nil {
			t.Fatal(err)
		}
		sc := ix.Similarity(q.Text, e.Trace)
		if sc == 0 || sc < q.Threshold || q.Instance != "" && e.Trace.InstanceID != q.Instance {
			continue
		}
		out = append(out, Result{ID: id, Score: sc, Intent: e.Trace.Intent, InstanceID: e.Trace.InstanceID,
			Confidence: e.Trace.Confidence, VerificationScore: e.Trace.VerificationScore})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// sameResults compares result lists; scores agree to float32 precision
// (Search adds up in float32, Similarity in float64), and skills whose
// scores are that close may come in either order.
func sameResults(t *testing.T, what string, got, want []Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	byID := map[schema.ID]Result{}
	for _, w := range want {
		byID[w.ID] = w
	}
	for i, g := range got {
		w, ok := byID[g.ID]
		if !ok || g.Intent != w.Intent || g.InstanceID != w.InstanceID || g.Confidence != w.Confidence ||
			g.VerificationScore != w.VerificationScore || math.Abs(g.Score-w.Score) > 1e-4 {
			t.Fatalf("%s: result %d = %+v, want %+v", what, i, g, w)
		}
		if math.Abs(g.Score-want[i].Score) > 1e-4 {
			t.Fatalf("%s: result %d scores %.6f, want %.6f in that place", what, i, g.Score, want[i].Score)
		}
	}
}

func TestIndexAgreesWithSimilarity(t *testing.T) {
	s, err := fixtures.Memory(fixtures.Spec{Instances: 3, Traces: 120, PerCommit: 7, LineageEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 120 {
		t.Fatalf("Len() = %d, want 120", ix.Len())
	}
	for _, text := range testQueries {
		for _, th := range []float64{0, 0.3, DefaultThreshold} {
			q := Query{Text: text, Threshold: th}
			sameResults(t, text, ix.Search(q), bruteForce(t, s, ix, q))
		}
	}
	all := ix.Search(Query{Text: "parse the config file"})
	if len(all) < 3 {
		t.Fatalf("Search found %d, want at least 3 for the limit test", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Score > all[i-1].Score {
			t.Fatalf("results out of order: %.4f after %.4f", all[i].Score, all[i-1].Score)
		}
	}
	if got := ix.Search(Query{Text: "parse the config file", Limit: 2}); !reflect.DeepEqual(got, all[:2]) {
		t.Errorf("Limit 2 = %v, want %v", got, all[:2])
	}
	for _, r := range ix.Search(Query{Text: "parse the config file", Instance: "instance_1"}) {
		if r.InstanceID != "instance_1" {
			t.Errorf("Instance filter let through %s of %s", r.ID, r.InstanceID)
		}
	}
}

// TestIndexFile: the index is written under the git folder, updated from
// the commit it reflects, and rebuilt when the file is corrupt or its
// commit is not an ancestor of main.
func TestIndexFile(t *testing.T) {
	sp := fixtures.Spec{Instances: 2, Traces: 60, PerCommit: 10, LineageEvery: 4}
	s, err := fixtures.Hive(t.TempDir(), sp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ix, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.GitDir(), "hive", "index", "search.idx")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("index file: %v", err)
	}
	old := ix.Commit()

	// Add 30 traces: the next OpenIndex updates from old to the new head.
	head := addGenerated(t, s, sp, 60, 90)
	stale, err := readIndexFile(path)
	if err != nil || stale.Commit() != old {
		t.Fatalf("index file before update: commit %v, %v; want %v", stale.Commit(), err, old)
	}
	ix, err = OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Commit() != head || ix.Len() != 90 {
		t.Fatalf("updated index: commit %v, %d skills; want %v, 90", ix.Commit(), ix.Len(), head)
	}
	onDisk, err := readIndexFile(path)
	if err != nil || onDisk.Commit() != head {
		t.Fatalf("index file after update: %v, %v", onDisk, err)
	}
	fresh, err := Build(s, head)
	if err != nil {
		t.Fatal(err)
	}
	// The statistics kept incrementally are those of a fresh build.
	if !reflect.DeepEqual(ix.total, fresh.total) {
		t.Fatalf("field lengths: updated %v, built %v", ix.total, fresh.total)
	}
	for w, n := range fresh.vocab {
		if m, ok := ix.vocab[w]; !ok || ix.df[m] != fresh.df[n] {
			t.Fatalf("document frequency of %q: updated %d, built %d", w, ix.df[m], fresh.df[n])
		}
	}
	for _, text := range testQueries {
		q := Query{Text: text}
		sameResults(t, "updated vs built: "+text, ix.Search(q), fresh.Search(q))
		sameResults(t, "read vs built: "+text, onDisk.Search(q), fresh.Search(q))
	}

	// A flipped byte: the checksum fails, the index is rebuilt.
	raw, _ := os.ReadFile(path)
	raw[len(raw)/2] ^= 0x20
	os.WriteFile(path, raw, 0o644)
	if _, err := readIndexFile(path); err == nil {
		t.Fatal("readIndexFile of a corrupt file: no error")
	}
	ix, err = OpenIndex(s)
	if err != nil || ix.Commit() != head || ix.Len() != 90 {
		t.Fatalf("after corruption: %v, %v", ix, err)
	}
	if _, err := readIndexFile(path); err != nil {
		t.Fatalf("rebuilt file: %v", err)
	}

	// An index of a commit main does not descend from is not trusted,
	// even with a good checksum: it claims a skill main does not have.
	forged := newIndex(plumbing.NewHash("0123456789abcdef0123456789abcdef01234567"))
	seed, err := schema.Parse(fixtures.Seed())
	if err != nil {
		t.Fatal(err)
	}
	forged.addTraces(seed)
	if err := forged.writeFile(path); err != nil {
		t.Fatal(err)
	}
	ix, err = OpenIndex(s)
	if err != nil || ix.Commit() != head || ix.Len() != 90 {
		t.Fatalf("after a forged index: %v, %v", ix, err)
	}
	for _, r := range ix.Search(Query{Text: "refactor auth env vars"}) {
		if r.ID == fixtures.SeedID {
			t.Fatal("search answered from a forged index")
		}
	}
}

// TestIndexCorruptFiles: every truncation and a flipped byte at each
// place of an index file is refused (never a panic), by the checksum or,
// with the checksum recomputed, by the decoder.
func TestIndexCorruptFiles(t *testing.T) {
	ix := newIndex(plumbing.ZeroHash)
	seed, _ := schema.Parse(fixtures.Seed())
	ix.addTraces(seed, fixtures.Trace("instance_0", 1), fixtures.Trace("instance_1", 2))
	path := filepath.Join(t.TempDir(), "search.idx")
	if err := ix.writeFile(path); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	if _, err := decodeIndex(good); err != nil {
		t.Fatalf("decodeIndex of a good file: %v", err)
	}
	body := good[:len(good)-32]
	for i := range body {
		for _, b := range [][]byte{body[:i], flip(body, i)} {
			sum := sha256Sum(b)
			if got, err := decodeIndex(append(append([]byte(nil), b...), sum[:]...)); err == nil && len(b) < len(body) {
				t.Fatalf("decodeIndex of the file cut at %d: %v, no error", i, got.Len())
			}
		}
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x41
	return c
}

// TestIndexDeterministic: terms are numbered as the traces happen to be
// read, on several goroutines; builds of the same commit still write the
// same bytes, and every term keeps the number the vocabulary gives it.
func TestIndexDeterministic(t *testing.T) {
	sp := fixtures.Spec{Instances: 3, Traces: 300, PerCommit: 50, LineageEvery: 5}
	s, err := fixtures.Hive(t.TempDir(), sp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head, _ := s.Head()
	var first []byte
	for i := range 4 {
		ix, err := Build(s, head)
		if err != nil {
			t.Fatal(err)
		}
		for w, n := range ix.vocab {
			if ix.terms[n] != w {
				t.Fatalf("term %q is numbered %d, which is %q", w, n, ix.terms[n])
			}
		}
		path := filepath.Join(t.TempDir(), "search.idx")
		if err := ix.writeFile(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("build %d wrote other bytes than build 0", i)
		}
	}
}

// TestIndexUpdate: Update brings an index held in memory up to a later
// commit as a fresh build would have it, while searches run on the old
// index, which stays as it was; a second update of the same old index (its
// appended slices now shared) is as good, and leaves the first alone.
func TestIndexUpdate(t *testing.T) {
	sp := fixtures.Spec{Instances: 2, Traces: 60, PerCommit: 10, LineageEvery: 4}
	s, err := fixtures.Memory(sp)
	if err != nil {
		t.Fatal(err)
	}
	old, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]Result{}
	for _, text := range testQueries {
		before[text] = old.Search(Query{Text: text})
	}
	head := addGenerated(t, s, sp, 60, 90)

	stop := make(chan struct{})
	done := make(chan error)
	for range 2 {
		go func() {
			for {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				for _, text := range testQueries {
					if got := old.Search(Query{Text: text}); !reflect.DeepEqual(got, before[text]) {
						done <- fmt.Errorf("search on the old index during the update: %q changed", text)
						return
					}
				}
			}
		}()
	}
	first, err := old.Update(s, head)
	if err != nil {
		t.Fatal(err)
	}
	second, err := old.Update(s, head)
	if err != nil {
		t.Fatal(err)
	}
	close(stop)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := Build(s, head)
	if err != nil {
		t.Fatal(err)
	}
	if old.Commit() == head || old.Len() != 60 {
		t.Fatalf("old index after Update: commit %v, %d skills", old.Commit(), old.Len())
	}
	for name, ix := range map[string]*Index{"first update": first, "second update": second} {
		if ix.Commit() != head || ix.Len() != 90 {
			t.Fatalf("%s: commit %v, %d skills; want %v, 90", name, ix.Commit(), ix.Len(), head)
		}
		if ix.total != fresh.total || ix.n != fresh.n {
			t.Fatalf("%s: field lengths %v (weight %d), built %v (%d)", name, ix.total, ix.n, fresh.total, fresh.n)
		}
		for w, n := range fresh.vocab {
			if m, ok := ix.vocab[w]; !ok || ix.df[m] != fresh.df[n] {
				t.Fatalf("%s: document frequency of %q: %d, built %d", name, w, ix.df[m], fresh.df[n])
			}
		}
		for _, text := range testQueries {
			q := Query{Text: text}
			sameResults(t, name+" vs built: "+text, ix.Search(q), fresh.Search(q))
		}
	}
	for _, text := range testQueries {
		if got := old.Search(Query{Text: text}); !reflect.DeepEqual(got, before[text]) {
			t.Fatalf("old index after the updates: %q changed", text)
		}
	}
	if same, err := first.Update(s, head); err != nil || same != first {
		t.Fatalf("Update to the index's own commit: %p, %v; want the index itself", same, err)
	}
}

// TestIndexDelta: an update of a few skills writes them to a delta beside
// the index file, which stays as it was; reading both gives the index a
// build gives; many more skills rewrite the file whole; a delta that is
// corrupt, or extends another file, is ignored (the update from the file's
// commit brings the index up all the same).
func TestIndexDelta(t *testing.T) {
	sp := fixtures.Spec{Instances: 2, Traces: 600, PerCommit: 100, LineageEvery: 4}
	s, err := fixtures.Hive(t.TempDir(), sp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := OpenIndex(s); err != nil {
		t.Fatal(err)
	}
	path := indexFile(s)
	base, _ := os.ReadFile(path)
	add := func(from, to int) plumbing.Hash { return addGenerated(t, s, sp, from, to) }
	check := func(what string, ix *Index, head plumbing.Hash, n int) {
		t.Helper()
		if ix.Commit() != head || ix.Len() != n {
			t.Fatalf("%s: commit %v, %d skills; want %v, %d", what, ix.Commit(), ix.Len(), head, n)
		}
		fresh, err := Build(s, head)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range testQueries {
			q := Query{Text: text}
			sameResults(t, what+": "+text, ix.Search(q), fresh.Search(q))
		}
	}

	head := add(600, 610)
	ix, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	check("updated", ix, head, 610)
	if now, _ := os.ReadFile(path); !bytes.Equal(now, base) {
		t.Fatal("an update of 10 skills rewrote the index file")
	}
	if _, err := os.Stat(path + deltaSuffix); err != nil {
		t.Fatalf("no delta after an update of 10 skills: %v", err)
	}
	read, err := readIndexFile(path)
	if err != nil {
		t.Fatal(err)
	}
	check("read with its delta", read, head, 610)

	head = add(610, 620) // the delta grows
	ix, err = OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	check("updated again", ix, head, 620)
	if now, _ := os.ReadFile(path); !bytes.Equal(now, base) {
		t.Fatal("a second small update rewrote the index file")
	}

	// A corrupt delta, or one of another base, is left out.
	good, _ := os.ReadFile(path + deltaSuffix)
	os.WriteFile(path+deltaSuffix, flip(good, len(good)/2), 0o644)
	if read, err := readIndexFile(path); err != nil || read.Len() != 600 || read.Len() != len(read.byID) {
		t.Fatalf("with a corrupt delta: %v, %v; want the file's 600 skills", read, err)
	}
	ix, err = OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	check("after a corrupt delta", ix, head, 620)
	other := newIndex(plumbing.ZeroHash)
	other.addTraces(fixtures.Trace("instance_0", 1))
	b, err := other.encode(deltaVersion, 0, 0, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path+deltaSuffix, b, 0o644)
	if read, err := readIndexFile(path); err != nil || read.Len() != 600 {
		t.Fatalf("with the delta of another file: %v, %v; want the file's 600 skills", read, err)
	}

	// Past an eighth of the file's skills, the file is rewritten whole.
	head = add(620, 700)
	ix, err = OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	check("after many more", ix, head, 700)
	if now, _ := os.ReadFile(path); bytes.Equal(now, base) {
		t.Fatal("an update of 100 skills since the file left it as it was")
	}
	if _, err := os.Stat(path + deltaSuffix); !os.IsNotExist(err) {
		t.Fatalf("delta after a whole rewrite: %v", err)
	}
}

// addGenerated commits the generator's traces from to to (in batches of
// five) and returns the new head.
func addGenerated(t *testing.T, s *registry.Store, sp fixtures.Spec, from, to int) plumbing.Hash {
	t.Helper()
	in, err := fixtures.NewGenerator(sp).Inputs(from, to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddBatch(in, sp.KeyFunc(), 5); err != nil {
		t.Fatal(err)
	}
	head, _ := s.Head()
	return head
}
