package search

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
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

// bruteForce scores every trace on main with Score, the reference the
// index must agree with.
func bruteForce(t *testing.T, s *registry.Store, q Query) []Result {
	t.Helper()
	ids, err := s.TraceIDs()
	if err != nil {
		t.Fatal(err)
	}
	words := Tokens(q.Text)
	var out []Result
	for _, id := range ids {
		e, err := s.Trace(id)
		if err != nil {
			t.Fatal(err)
		}
		sc := Score(words, NewDoc(e.Trace))
		if sc == 0 || sc < q.Threshold {
			continue
		}
		out = append(out, Result{ID: id, Score: sc, Intent: e.Trace.Intent, InstanceID: e.Trace.InstanceID,
			Confidence: e.Trace.Confidence, VerificationScore: e.Trace.VerificationScore})
	}
	sortResults(out)
	return out
}

func sortResults(rs []Result) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && (rs[j].Score > rs[j-1].Score || rs[j].Score == rs[j-1].Score && rs[j].ID < rs[j-1].ID); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func sameResults(t *testing.T, what string, got, want []Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Intent != w.Intent || g.InstanceID != w.InstanceID || g.Confidence != w.Confidence ||
			g.VerificationScore != w.VerificationScore || abs(g.Score-w.Score) > 1e-12 {
			t.Fatalf("%s: result %d = %+v, want %+v", what, i, g, w)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestIndexAgreesWithScore(t *testing.T) {
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
			sameResults(t, text, ix.Search(q), bruteForce(t, s, q))
		}
	}
	all := ix.Search(Query{Text: "parse the config file"})
	if len(all) < 3 {
		t.Fatalf("Search found %d, want at least 3 for the limit test", len(all))
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
	g := fixtures.NewGenerator(sp)
	in, err := g.Inputs(60, 90)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddBatch(in, sp.KeyFunc(), 5); err != nil {
		t.Fatal(err)
	}
	head, _ := s.Head()
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
	// The update merged the new skills into the old in id order.
	for i := range fresh.docs {
		if ix.docs[i].id != fresh.docs[i].id || i > 0 && fresh.docs[i-1].id >= fresh.docs[i].id {
			t.Fatalf("doc %d: updated index has %s, built %s; want both in strictly increasing id order", i, ix.docs[i].id, fresh.docs[i].id)
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
	forged.docs = []doc{{id: fixtures.SeedID, intent: "Refactor auth to use env vars", instance: "instance_0"}}
	forged.docs[0].intentWords = wordSet(forged.number(Tokens("refactor auth env vars")), nil)
	forged.reindex()
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

// TestIndexDeterministic: words are numbered as the traces happen to be
// read, on several goroutines; builds of the same commit still write the
// same bytes, and every word keeps the number the vocabulary gives it.
func TestIndexDeterministic(t *testing.T) {
	sp := fixtures.Spec{Instances: 3, Traces: 400, PerCommit: 50, LineageEvery: 5}
	s, err := fixtures.Hive(t.TempDir(), sp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head, _ := s.Head()
	var first []byte
	for i := range 5 {
		ix, err := Build(s, head)
		if err != nil {
			t.Fatal(err)
		}
		for w, n := range ix.vocab {
			if ix.words[n] != w {
				t.Fatalf("word %q is numbered %d, which is %q", w, n, ix.words[n])
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
		if len(b) != ix.fileSize() {
			t.Fatalf("index file of %d bytes; fileSize says %d", len(b), ix.fileSize())
		}
		if i == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("build %d wrote other bytes than build 0", i)
		}
	}
}
