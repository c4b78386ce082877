package search

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// fakeEmbedder is a deterministic embedding server: a text's vector is the
// sum of its words' hashed directions, where words of one synonym group
// share a direction (so it finds what the lexical search cannot: zorp and
// flib mean the same to it). mode makes it slow, failing or lying.
type fakeEmbedder struct {
	mode     string // "", "slow", "fail", "dims", "nan", "count"
	ollama   bool
	mu       sync.Mutex
	requests int
	texts    int
	batches  []int
}

var fakeSynonyms = map[string]string{"flib": "zorp", "quux": "zorp"}

const fakeDim = 64

func fakeVector(text string) []float32 {
	v := make([]float32, fakeDim)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
		if s, ok := fakeSynonyms[w]; ok {
			w = s
		}
		h := fnv.New64a()
		h.Write([]byte(w))
		x := h.Sum64()
		v[x%fakeDim] += 1
		v[(x>>8)%fakeDim] += 0.5
	}
	v[0] += 0.01 // never zero
	return v
}

func (f *fakeEmbedder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "fake-model" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests++
	f.texts += len(req.Input)
	f.batches = append(f.batches, len(req.Input))
	f.mu.Unlock()
	vs := make([][]float32, len(req.Input))
	for i, t := range req.Input {
		vs[i] = fakeVector(t)
	}
	switch f.mode {
	case "slow":
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
			return
		}
	case "fail":
		http.Error(w, "model not loaded", http.StatusInternalServerError)
		return
	case "dims":
		vs[len(vs)-1] = vs[len(vs)-1][:fakeDim-1]
	case "nan":
		// JSON has no NaN; a server that sends one sends this.
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data":[{"index":0,"embedding":[0.1,NaN]}],"embeddings":[[0.1,NaN]]}`))
		return
	case "count":
		vs = vs[:len(vs)-1]
	}
	w.Header().Set("Content-Type", "application/json")
	if f.ollama {
		json.NewEncoder(w).Encode(map[string]any{"embeddings": vs})
		return
	}
	type item struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	var data []item
	for i, v := range vs {
		data = append(data, item{i, v})
	}
	json.NewEncoder(w).Encode(map[string]any{"data": data})
}

// denseHive is an on-disk hive with a few skills, one of which only the
// fake embedder relates to "zorp".
func denseHive(t *testing.T) *registry.Store {
	t.Helper()
	sp := fixtures.Spec{Instances: 2, Traces: 40, PerCommit: 40}
	s, err := fixtures.Hive(t.TempDir(), sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	addSkill(t, s, sp, "Polish the flib of a quux", "polish_flib")
	return s
}

func addSkill(t *testing.T, s *registry.Store, sp fixtures.Spec, intent, action string) schema.ID {
	t.Helper()
	tr := fixtures.Trace(fixtures.Instance(0), 900)
	tr.Intent, tr.Tags = intent, nil
	tr.ReasoningPath = []schema.Step{{Step: 1, Action: action}}
	tr.Result = "done\n"
	b, err := tr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	added, err := s.AddBatch([]registry.Input{{Name: intent, Data: b}}, sp.KeyFunc(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return added[0].ID
}

func TestSearchHybrid(t *testing.T) {
	s := denseHive(t)
	ix, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEmbedder{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	emb, err := ParseEmbedder("openai "+srv.URL+"/v1/embeddings fake-model", "", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	q := Query{Text: "zorp", Limit: 3}
	if rs := ix.Search(q); len(rs) != 0 {
		t.Fatalf("lexical search for zorp found %v, want nothing (the test needs a word only the embedder knows)", rs)
	}
	rs, warns := ix.SearchHybrid(context.Background(), s, q, Dense{Embedder: emb, Batch: 8})
	if len(warns) != 0 {
		t.Fatalf("warnings from a good embedder: %v", warns)
	}
	if len(rs) == 0 || rs[0].Intent != "Polish the flib of a quux" {
		t.Fatalf("hybrid search for zorp = %v, want the flib skill first", rs)
	}
	// Every skill embedded once, in batches of at most 8, and cached.
	if f.texts != ix.Len()+1 { // the skills, and the query
		t.Fatalf("embedded %d texts, want %d skills and the query", f.texts, ix.Len())
	}
	for _, b := range f.batches {
		if b > 8 {
			t.Fatalf("a batch of %d texts, want at most 8", b)
		}
	}
	path := vectorFile(s, emb.Name())
	vc, err := readVectors(path, emb.Name())
	if err != nil || len(vc.v) != ix.Len() || vc.dim != fakeDim {
		t.Fatalf("vector cache: %v skills of dim %v, %v; want %d of %d", len(vc.v), vc.dim, err, ix.Len(), fakeDim)
	}
	// Next search: only the query is embedded. A new skill: only it.
	before := f.texts
	ix.SearchHybrid(context.Background(), s, q, Dense{Embedder: emb})
	if f.texts != before+1 {
		t.Fatalf("second search embedded %d texts, want only the query", f.texts-before)
	}
	addSkill(t, s, fixtures.Spec{Instances: 2}, "Sand the zorp smooth", "sand_it")
	ix, err = OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	before = f.texts
	rs, warns = ix.SearchHybrid(context.Background(), s, q, Dense{Embedder: emb})
	if f.texts != before+2 || len(warns) != 0 {
		t.Fatalf("after one add: embedded %d texts (want the new skill and the query), warnings %v", f.texts-before, warns)
	}
	if len(rs) == 0 {
		t.Fatal("no result after the add")
	}
	// A corrupt cache is rebuilt with a warning.
	os.WriteFile(path, []byte("junk"), 0o644)
	_, warns = ix.SearchHybrid(context.Background(), s, q, Dense{Embedder: emb})
	if len(warns) != 1 || !strings.Contains(warns[0], "rebuilding") {
		t.Fatalf("corrupt cache: warnings %v, want one saying it is rebuilt", warns)
	}
	if _, err := readVectors(path, emb.Name()); err != nil {
		t.Fatalf("rebuilt cache: %v", err)
	}
}

// TestSearchHybridFallsBack: a slow, failing or lying embedder leaves the
// lexical results and a warning, and nothing of its answers in the cache.
func TestSearchHybridFallsBack(t *testing.T) {
	s := denseHive(t)
	ix, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	q := Query{Text: "cache layer with request deadlines", Threshold: 0.1, Limit: 5}
	want := ix.Search(q)
	if len(want) == 0 {
		t.Fatal("the lexical search finds nothing; the test needs results")
	}
	for _, tc := range []struct {
		mode, warn string
		ollama     bool
	}{
		{"slow", "took over", false},
		{"fail", "500", false},
		{"fail", "500", true},
		{"dims", "dimensions", false},
		{"dims", "dimensions", true},
		{"nan", "bad answer", false},
		{"nan", "bad answer", true},
		{"count", "vectors for", true},
	} {
		f := &fakeEmbedder{mode: tc.mode, ollama: tc.ollama}
		srv := httptest.NewServer(f)
		kind, url := "openai", srv.URL+"/v1/embeddings"
		if tc.ollama {
			kind, url = "ollama", srv.URL
		}
		emb, err := ParseEmbedder(kind+" "+url+" fake-model", "", srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		got, warns := ix.SearchHybrid(context.Background(), s, q, Dense{Embedder: emb, Budget: 300 * time.Millisecond, QueryTimeout: 300 * time.Millisecond})
		srv.Close()
		if len(warns) == 0 || !strings.Contains(strings.Join(warns, "; "), tc.warn) || !strings.Contains(warns[len(warns)-1], "lexical results only") {
			t.Errorf("%s embedder (ollama %v): warnings %q, want one saying %q and lexical results only", tc.mode, tc.ollama, warns, tc.warn)
		}
		if len(got) != len(want) || got[0].ID != want[0].ID {
			t.Errorf("%s embedder: results %v, want the lexical %v", tc.mode, got, want)
		}
		if vc, err := readVectors(vectorFile(s, emb.Name()), emb.Name()); err == nil && len(vc.v) > 0 {
			t.Errorf("%s embedder: %d vectors cached from its answers", tc.mode, len(vc.v))
		}
	}
	// A server that is not there at all.
	emb, _ := ParseEmbedder("ollama http://127.0.0.1:1 fake-model", "", nil)
	got, warns := ix.SearchHybrid(context.Background(), s, q, Dense{Embedder: emb})
	if len(warns) == 0 || len(got) != len(want) {
		t.Errorf("unreachable embedder: %v, %v; want the lexical results and a warning", got, warns)
	}
}

func TestParseEmbedder(t *testing.T) {
	for _, spec := range []string{"", "openai", "openai http://x", "gpt http://x m", "openai ftp://x m", "ollama localhost:11434 m", "openai http://x m extra"} {
		if _, err := ParseEmbedder(spec, "", nil); err == nil {
			t.Errorf("ParseEmbedder(%q): no error", spec)
		}
	}
	e, err := ParseEmbedder("ollama http://localhost:11434/ nomic-embed-text", "", nil)
	if err != nil || e.Name() != "ollama http://localhost:11434/api/embed nomic-embed-text" {
		t.Errorf("ParseEmbedder(ollama) = %v, %v", e, err)
	}
	// The API key is sent to an OpenAI-compatible server.
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		(&fakeEmbedder{}).ServeHTTP(w, r)
	}))
	defer srv.Close()
	e, _ = ParseEmbedder("openai "+srv.URL+" fake-model", "sk-test", nil)
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil || auth != "Bearer sk-test" {
		t.Errorf("Embed: %v, Authorization %q", err, auth)
	}
}

func TestVectorCacheCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.bin")
	vc := &vectors{name: "m", dim: 2, v: map[schema.ID][]float32{fixtures.SeedID: {0.6, 0.8}}}
	if err := vc.write(path); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	if got, err := readVectors(path, "m"); err != nil || len(got.v) != 1 {
		t.Fatalf("readVectors: %v, %v", got, err)
	}
	if _, err := readVectors(path, "other model"); err == nil {
		t.Error("vectors of another model read without error")
	}
	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 1
		os.WriteFile(path, bad, 0o644)
		if _, err := readVectors(path, "m"); err == nil {
			t.Fatalf("a flipped bit at %d: no error", i)
		}
	}
}

func TestCheckVectors(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		vs   [][]float32
		n    int
		dim  int
		fine bool
	}{
		{[][]float32{{1, 0}, {0, 1}}, 2, 0, true},
		{[][]float32{{1, 0}, {0, 1}}, 2, 2, true},
		{[][]float32{{1, 0}, {0, 1}}, 2, 3, false},
		{[][]float32{{1, 0}, {0, 1, 0}}, 2, 0, false},
		{[][]float32{{1, 0}}, 2, 0, false},
		{[][]float32{{1, float32(math.NaN())}}, 1, 0, false},
		{[][]float32{{inf, 0}}, 1, 0, false},
		{[][]float32{{0, 0}}, 1, 0, false},
		{[][]float32{{}}, 1, 0, false},
	} {
		if err := checkVectors(tc.vs, tc.n, tc.dim); (err == nil) != tc.fine {
			t.Errorf("checkVectors(%v, %d, %d) = %v, want fine %v", tc.vs, tc.n, tc.dim, err, tc.fine)
		}
	}
}

// TestSearchHybridFusion: the hybrid keeps Search's scores, orders by the
// ranker score plus the dense similarity's weight, and a weight near zero
// gives Search's order.
func TestSearchHybridFusion(t *testing.T) {
	s := denseHive(t)
	ix, err := OpenIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&fakeEmbedder{})
	defer srv.Close()
	emb, err := ParseEmbedder("openai "+srv.URL+"/v1/embeddings fake-model", "", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	q := Query{Text: "zorp zorp zorp zorp the cache layer", Limit: 10}
	lexical := ix.Search(Query{Text: q.Text})
	score := map[schema.ID]float64{}
	for _, r := range lexical {
		score[r.ID] = r.Score
	}
	search := func(f fusion) []Result {
		t.Helper()
		rs, warns := ix.SearchHybrid(context.Background(), s, q, Dense{Embedder: emb, fusion: &f})
		if len(warns) != 0 || len(rs) == 0 {
			t.Fatalf("fusion %+v: %v, warnings %v", f, rs, warns)
		}
		return rs
	}
	for _, r := range search(defaultFusion) {
		if want, ok := score[r.ID]; ok && r.Score != want {
			t.Errorf("hybrid score of %s = %v, want Search's %v", r.ID, r.Score, want)
		}
	}
	tiny := defaultFusion
	tiny.cos, tiny.cal = 1e-9, ix.p.cal // Search's order is by its own calibration
	var got []schema.ID                 // the skills Search finds, in the hybrid's order (the dense ones are extra)
	for _, r := range search(tiny) {
		if _, ok := score[r.ID]; ok {
			got = append(got, r.ID)
		}
	}
	for i, id := range got {
		if id != lexical[i].ID {
			t.Fatalf("with the dense weight near zero, Search's skills come in another order: %d-th %s, want %s", i, id, lexical[i].ID)
		}
	}
	// With a dominant dense weight, the nearest skill by the embedder comes first.
	huge := defaultFusion
	huge.cos = 1e3
	qv := normalize(fakeVector(q.Text))
	best, bestCos := schema.ID(""), -2.0
	tr := &indexed{}
	for _, d := range ix.docs {
		e, err := s.Trace(d.id)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeIndexed(e.Data, tr); err != nil {
			t.Fatal(err)
		}
		var dot float64
		for j, x := range normalize(fakeVector(embedText(tr))) {
			dot += float64(x) * float64(qv[j])
		}
		if dot > bestCos {
			best, bestCos = d.id, dot
		}
	}
	if best == lexical[0].ID {
		t.Fatal("the embedder's nearest skill is Search's first: the test needs them apart")
	}
	if rs := search(huge); rs[0].ID != best {
		t.Errorf("with a dominant dense weight, first %s, want the nearest %s", rs[0].ID, best)
	}
}

func TestZScores(t *testing.T) {
	z := zScores([]float64{1, 2, 3, 4})
	var mean, sq float64
	for _, x := range z {
		mean += x
		sq += x * x
	}
	if math.Abs(mean) > 1e-12 || math.Abs(sq/4-1) > 1e-12 || z[3] <= z[0] {
		t.Errorf("zScores = %v, want mean 0, variance 1, order kept", z)
	}
	for _, x := range zScores([]float64{0.5, 0.5}) {
		if x != 0 {
			t.Errorf("zScores of equal values = %v, want zeros", x)
		}
	}
}
