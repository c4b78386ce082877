package search

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// Dense retrieval is optional: a user with an embedding model names it in
// the hive's local git config,
//
//	git config hive.search.embedder "openai https://api.example.com/v1/embeddings text-embedding-3-small"
//	git config hive.search.embedder "ollama http://localhost:11434 nomic-embed-text"
//
// (the API key of an OpenAI-compatible server, if it needs one, in the
// environment variable HIVE_EMBEDDER_KEY). Skills' vectors are cached per
// trace and model under <gitDir>/hive/index/, computed in batches as
// skills arrive; a search then fuses the lexical ranking with the dense
// one. Without an embedder everything works offline, and any trouble with
// one (slow, failing, or answering nonsense) leaves the lexical search
// with a warning: a search never fails for it.

// Embedder turns texts into vectors.
type Embedder interface {
	// Embed returns one vector per text, all of one dimension.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Name names the model and endpoint: vectors are cached under it.
	Name() string
}

// ErrEmbedder is wrapped by every error of an embedding server.
var ErrEmbedder = errors.New("embedder")

// EmbedderKeyEnv is the environment variable holding the API key sent to
// an OpenAI-compatible embedding server.
const EmbedderKeyEnv = "HIVE_EMBEDDER_KEY"

// LoadEmbedder reads hive.search.embedder from s's local git config: nil
// when it is not set.
func LoadEmbedder(s *registry.Store) (Embedder, error) {
	cfg, err := s.Storer().Config()
	if err != nil {
		return nil, fmt.Errorf("read git config: %w", err)
	}
	if !cfg.Raw.HasSection("hive") || !cfg.Raw.Section("hive").HasSubsection("search") {
		return nil, nil
	}
	vs := cfg.Raw.Section("hive").Subsection("search").Options.GetAll("embedder")
	if len(vs) == 0 || strings.TrimSpace(vs[len(vs)-1]) == "" {
		return nil, nil
	}
	return ParseEmbedder(vs[len(vs)-1], os.Getenv(EmbedderKeyEnv), nil)
}

// ParseEmbedder parses an embedder spec "KIND URL MODEL", KIND openai (an
// OpenAI-compatible /v1/embeddings endpoint) or ollama (an Ollama server's
// root URL). key is sent as a bearer token to an OpenAI-compatible server
// when not empty; hc nil means a client with no timeout of its own (each
// call has its context's).
func ParseEmbedder(spec, key string, hc *http.Client) (Embedder, error) {
	f := strings.Fields(spec)
	if len(f) != 3 {
		return nil, fmt.Errorf("git config hive.search.embedder = %q: want \"openai|ollama URL MODEL\": %w", spec, registry.ErrInvalid)
	}
	if !strings.HasPrefix(f[1], "http://") && !strings.HasPrefix(f[1], "https://") {
		return nil, fmt.Errorf("git config hive.search.embedder: %q is not an http(s) URL: %w", f[1], registry.ErrInvalid)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	switch f[0] {
	case "openai":
		return &httpEmbedder{kind: "openai", url: f[1], model: f[2], key: key, hc: hc}, nil
	case "ollama":
		return &httpEmbedder{kind: "ollama", url: strings.TrimSuffix(f[1], "/") + "/api/embed", model: f[2], hc: hc}, nil
	}
	return nil, fmt.Errorf("git config hive.search.embedder: kind %q: want openai or ollama: %w", f[0], registry.ErrInvalid)
}

// httpEmbedder calls an OpenAI-compatible or an Ollama embedding endpoint.
type httpEmbedder struct {
	kind, url, model, key string
	hc                    *http.Client
}

func (e *httpEmbedder) Name() string { return e.kind + " " + e.url + " " + e.model }

// maxEmbedResponse bounds what is read of an embedding server's answer.
const maxEmbedResponse = 256 << 20

func (e *httpEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	var body any
	if e.kind == "openai" {
		body = map[string]any{"model": e.model, "input": texts}
	} else {
		body = map[string]any{"model": e.model, "input": texts}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrEmbedder, e.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if e.key != "" {
		req.Header.Set("Authorization", "Bearer "+e.key)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrEmbedder, e.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxEmbedResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%w %s: read answer: %v", ErrEmbedder, e.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w %s: %s: %s", ErrEmbedder, e.url, resp.Status, schema.Quote(string(raw), 200))
	}
	if len(raw) > maxEmbedResponse {
		return nil, fmt.Errorf("%w %s: answer over %d bytes", ErrEmbedder, e.url, maxEmbedResponse)
	}
	var vs [][]float32
	if e.kind == "openai" {
		var out struct {
			Data []struct {
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("%w %s: bad answer: %v", ErrEmbedder, e.url, err)
		}
		vs = make([][]float32, len(out.Data))
		for _, d := range out.Data {
			if d.Index < 0 || d.Index >= len(vs) || vs[d.Index] != nil {
				return nil, fmt.Errorf("%w %s: bad answer: index %d", ErrEmbedder, e.url, d.Index)
			}
			vs[d.Index] = d.Embedding
		}
	} else {
		var out struct {
			Embeddings [][]float32 `json:"embeddings"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("%w %s: bad answer: %v", ErrEmbedder, e.url, err)
		}
		vs = out.Embeddings
	}
	if err := checkVectors(vs, len(texts), 0); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrEmbedder, e.url, err)
	}
	return vs, nil
}

// checkVectors refuses what a lying server may send: another number of
// vectors than texts, vectors of differing or (when dim > 0) other
// dimensions, empty or zero vectors, NaN or infinite values.
func checkVectors(vs [][]float32, n, dim int) error {
	if len(vs) != n {
		return fmt.Errorf("%d vectors for %d texts", len(vs), n)
	}
	for i, v := range vs {
		if len(v) == 0 {
			return fmt.Errorf("vector %d is empty", i)
		}
		if dim == 0 {
			dim = len(v)
		}
		if len(v) != dim {
			return fmt.Errorf("vector %d has %d dimensions, want %d", i, len(v), dim)
		}
		var norm float64
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("vector %d has a value %v", i, x)
			}
			norm += float64(x) * float64(x)
		}
		if norm == 0 {
			return fmt.Errorf("vector %d is zero", i)
		}
	}
	return nil
}

// Dense says how a search uses an embedder.
type Dense struct {
	Embedder Embedder
	// Budget is the most one search spends embedding skills not yet in
	// the cache (default 30 s); the rest wait for the next search.
	Budget time.Duration
	// QueryTimeout is the most a search waits for the query's vector
	// (default 10 s).
	QueryTimeout time.Duration
	// Batch is how many texts go in one request (default 32).
	Batch int

	fusion *fusion               // nil: defaultFusion (tests measure others)
	text   func(*indexed) string // nil: embedText (tests measure others)
}

// fusion is how SearchHybrid fuses the two rankings. With cos > 0 (score
// fusion, in use: scoreFuse) a candidate's ranker score gains cos times its
// dense similarity's z-score, and cal calibrates the sum; with cos 0
// (reciprocal rank fusion, measured and not in use) a skill scores
// 1/(k+rank) in the lexical ranking and dense/(k+rank) in the dense one. The
// dense ranking takes part down to depth skills (0: as many as the lexical
// candidates). lexicalScores keeps Search's calibrated scores for the
// threshold; the order stays the fusion's.
type fusion struct {
	k     float64
	dense float64
	depth int

	cos           float64
	cal           calibration
	lexicalScores bool
}

// defaultFusion is the fusion in use, chosen and fitted on the labelled
// set's dev split out of fold with the Universal Sentence Encoder
// (TestDenseQuality; docs/search.md, "Dense retrieval, measured").
var defaultFusion = fusion{
	cos:           0.75,
	cal:           calibration{bias: -5.6412, score: 0.2267, lead: 0.6893},
	lexicalScores: true,
}

// SearchHybrid is Search with dense retrieval beside it: the lexical
// candidates and the skills nearest the query's vector (by the cosine
// similarity of the skills' vectors to the query's) are ordered by their
// ranker score plus a weight times their similarity's z-score among the
// hive's skills, calibrated as Search calibrates (defaultFusion). Scores
// keep their meaning: they are Search's calibrated estimate, a skill that
// only the dense ranking found scored as Search would score it, so
// q.Threshold applies to them as to Search's (on the labelled set, letting
// the similarity into the score lowered the share resolved at the same
// false matches); the order is the fusion's.
// Vectors of the skills on the index's commit are cached in the index
// folder of s, per model. When the embedder is slow, fails or answers
// nonsense, the result is Search's, and warnings say why; it never fails.
func (ix *Index) SearchHybrid(ctx context.Context, s *registry.Store, q Query, d Dense) (rs []Result, warnings []string) {
	lexical := func(why string, a ...any) ([]Result, []string) {
		return ix.Search(q), append(warnings, "dense retrieval skipped, lexical results only: "+fmt.Sprintf(why, a...))
	}
	if d.Embedder == nil {
		return ix.Search(q), nil
	}
	if d.Budget <= 0 {
		d.Budget = 30 * time.Second
	}
	if d.QueryTimeout <= 0 {
		d.QueryTimeout = 10 * time.Second
	}
	if d.Batch <= 0 {
		d.Batch = 32
	}
	path := vectorFile(s, d.Embedder.Name())
	vc, err := readVectors(path, d.Embedder.Name())
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			warnings = append(warnings, fmt.Sprintf("vector cache %s unreadable (%v): rebuilding it", path, err))
		}
		vc = &vectors{name: d.Embedder.Name(), v: map[schema.ID][]float32{}}
	}
	if d.fusion == nil {
		d.fusion = &defaultFusion
	}
	if d.text == nil {
		d.text = embedText
	}
	added, err := ix.embedMissing(ctx, s, vc, d)
	if added > 0 || len(vc.v) > ix.Len() {
		vc.keep(ix)
		if werr := vc.write(path); werr != nil && path != "" {
			warnings = append(warnings, fmt.Sprintf("vector cache %s not written: %v", path, werr))
		}
	}
	if err != nil {
		return lexical("%d of %d skills embedded (%v)", len(vc.v), ix.Len(), err)
	}
	qctx, cancel := context.WithTimeout(ctx, d.QueryTimeout)
	qv, err := d.Embedder.Embed(qctx, []string{q.Text})
	cancel()
	if err == nil {
		err = checkVectors(qv, 1, vc.dim)
	}
	if err != nil {
		return lexical("the query's vector: %v", err)
	}
	return ix.fuse(q, qv[0], vc, *d.fusion), warnings
}

// embedMissing embeds the skills of the index that vc lacks, in batches,
// until done or d.Budget runs out; it reports how many it added.
func (ix *Index) embedMissing(ctx context.Context, s *registry.Store, vc *vectors, d Dense) (int, error) {
	var missing []schema.ID
	for _, doc := range ix.docs {
		if _, ok := vc.v[doc.id]; !ok {
			missing = append(missing, doc.id)
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
	ctx, cancel := context.WithTimeout(ctx, d.Budget)
	defer cancel()
	added := 0
	for start := 0; start < len(missing); start += d.Batch {
		ids := missing[start:min(len(missing), start+d.Batch)]
		texts := make([]string, len(ids))
		err := s.TraceFiles(ix.commit, ids, func(i int, data []byte) error {
			var t indexed
			if err := decodeIndexed(data, &t); err != nil {
				return fmt.Errorf("trace %s: %w", ids[i], err)
			}
			texts[i] = d.text(&t)
			return nil
		})
		if err != nil {
			return added, err
		}
		vs, err := d.Embedder.Embed(ctx, texts)
		if err == nil {
			err = checkVectors(vs, len(texts), vc.dim)
		}
		if err != nil {
			if ctx.Err() != nil {
				return added, fmt.Errorf("embedding took over %v: %w", d.Budget, err)
			}
			return added, err
		}
		if vc.dim == 0 {
			vc.dim = len(vs[0])
		}
		for i, id := range ids {
			vc.v[id] = normalize(vs[i])
		}
		added += len(ids)
	}
	return added, nil
}

// embedText is the text of a skill that is embedded: its intent, tags and
// steps, at most 4,000 bytes.
func embedText(t *indexed) string {
	var b strings.Builder
	b.WriteString(t.Intent)
	if len(t.Tags) > 0 {
		b.WriteString("\n" + strings.Join(t.Tags, ", "))
	}
	for _, st := range t.ReasoningPath {
		b.WriteString("\n" + st.Action)
		if st.Detail != "" {
			b.WriteString(": " + st.Detail)
		}
	}
	out := b.String()
	if len(out) > 4000 {
		out = strings.ToValidUTF8(out[:4000], "")
	}
	return out
}

func normalize(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / n)
	}
	return out
}

// fuse ranks the lexical candidates and the skills nearest the query's
// vector together, by f.
func (ix *Index) fuse(q Query, qv []float32, vc *vectors, f fusion) []Result {
	k := max(ix.p.candidates, q.Limit)
	ms, cs := ix.rank(q.Text, k, nil)
	cos, near := ix.denseRanking(qv, vc)
	depth := f.depth
	if depth <= 0 {
		depth = k
	}
	near = near[:min(depth, len(near))]
	var order []match
	if f.cos > 0 {
		order = ix.scoreFuse(cs, ms, cos, near, f)
	} else {
		order = ix.rankFuse(cs, ms, near, f)
	}
	var out []Result
	for _, m := range order {
		if m.score < q.Threshold || q.Instance != "" && ix.docs[m.doc].instance != q.Instance {
			continue
		}
		out = append(out, ix.result(m))
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out
}

// denseRanking is every skill's cosine similarity to the query's vector,
// and the skills by it, best first.
func (ix *Index) denseRanking(qv []float32, vc *vectors) ([]float64, []uint32) {
	qv = normalize(qv)
	cos := make([]float64, len(ix.docs))
	order := make([]uint32, len(ix.docs))
	for i := range ix.docs {
		var dot float64
		for j, x := range vc.v[ix.docs[i].id] {
			dot += float64(x) * float64(qv[j])
		}
		cos[i], order[i] = dot, uint32(i)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if cos[a] != cos[b] {
			return cos[a] > cos[b]
		}
		return a < b
	})
	return cos, order
}

// withDense is the lexical candidates ms and the dense ones near not among
// them, scored as Search would score them.
func (ix *Index) withDense(cs []concept, ms []match, near []uint32) []match {
	all := append([]match(nil), ms...)
	in := make(map[uint32]bool, len(ms))
	for _, m := range ms {
		in[m.doc] = true
	}
	for _, d := range near {
		if !in[d] {
			v := view{ix: ix, d: &ix.docs[d], norm: ix.norm[d]}
			m := ix.scoreAgainst(cs, v, &ix.docs[d], ix.raw(cs, v), ms)
			m.doc = d
			all = append(all, m)
		}
	}
	return all
}

// rankFuse orders by reciprocal rank fusion; scores stay Search's.
func (ix *Index) rankFuse(cs []concept, ms []match, near []uint32, f fusion) []match {
	fused := map[uint32]float64{}
	for r, m := range ms {
		fused[m.doc] += 1 / (f.k + float64(r+1))
	}
	for r, d := range near {
		fused[d] += f.dense / (f.k + float64(r+1))
	}
	all := ix.withDense(cs, ms, near)
	key := tieKey(cs)
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i].doc, all[j].doc
		if fused[a] != fused[b] {
			return fused[a] > fused[b]
		}
		return tieBreak(key, ix.docs[a].id) < tieBreak(key, ix.docs[b].id)
	})
	return all
}

// scoreFuse adds f.cos times each candidate's dense similarity, as a
// z-score among all the hive's skills (so that models whose cosines live
// on other scales weigh alike), to its ranker score; leads and calibrated
// scores then follow from the sum as Search's follow from the ranker
// score, by f.cal.
func (ix *Index) scoreFuse(cs []concept, ms []match, cos []float64, near []uint32, f fusion) []match {
	all := ix.withDense(cs, ms, near)
	z := zScores(cos)
	key := tieKey(cs)
	for i := range all {
		all[i].rank += f.cos * z[all[i].doc]
		all[i].tie = tieBreak(key, ix.docs[all[i].doc].id)
	}
	lexical := make(map[uint32]float64, len(all))
	for _, m := range all {
		lexical[m.doc] = m.score
	}
	ix.leads(all)
	for i := range all {
		all[i].score = f.cal.apply(all[i].rank, all[i].lead)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := &all[i], &all[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.rank != b.rank {
			return a.rank > b.rank
		}
		return a.tie < b.tie
	})
	if f.lexicalScores {
		for i := range all {
			all[i].score = lexical[all[i].doc]
		}
	}
	return all
}

// zScores standardises xs (all zero when they do not vary).
func zScores(xs []float64) []float64 {
	var mean, sd float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(max(1, len(xs)))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	sd = math.Sqrt(sd / float64(max(1, len(xs))))
	out := make([]float64, len(xs))
	if sd > 1e-9 {
		for i, x := range xs {
			out[i] = (x - mean) / sd
		}
	}
	return out
}

// vectors is the cache of one model's vectors, by skill.
type vectors struct {
	name string
	dim  int
	v    map[schema.ID][]float32 // unit length
}

// keep drops the vectors of skills no longer in the index.
func (vc *vectors) keep(ix *Index) {
	for id := range vc.v {
		if _, ok := ix.byID[id]; !ok {
			delete(vc.v, id)
		}
	}
}

const vectorsMagic = "hive search vectors v1\n"

// vectorFile is where the vectors of the embedder named name are cached.
func vectorFile(s *registry.Store, name string) string {
	if s.GitDir() == "" {
		return ""
	}
	h := sha256.Sum256([]byte(name))
	return filepath.Join(s.GitDir(), "hive", "index", "vectors-"+hex.EncodeToString(h[:8])+".bin")
}

// write saves the cache: magic, the embedder's name, the dimension, the
// count, then per skill (by id) its id's 32 bytes and its values as
// little-endian float32, and the sha256 of all before.
func (vc *vectors) write(path string) error {
	if path == "" {
		return nil
	}
	ids := make([]schema.ID, 0, len(vc.v))
	for id := range vc.v {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b := []byte(vectorsMagic)
	b = appendString(b, vc.name)
	b = binary.AppendUvarint(b, uint64(vc.dim))
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		raw, err := hex.DecodeString(id.Hex())
		if err != nil || len(raw) != sha256.Size {
			return fmt.Errorf("vector cache: bad id %s", id)
		}
		b = append(b, raw...)
		for _, x := range vc.v[id] {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	sum := sha256.Sum256(b)
	return registry.WriteFileAtomic(path, append(b, sum[:]...))
}

func readVectors(path, name string) (*vectors, error) {
	if path == "" {
		return nil, os.ErrNotExist
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < sha256.Size+len(vectorsMagic) || string(raw[:len(vectorsMagic)]) != vectorsMagic {
		return nil, errCorrupt
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errCorrupt
	}
	r := &reader{b: body[len(vectorsMagic):]}
	vc := &vectors{name: r.string(), v: map[schema.ID][]float32{}}
	if vc.name != name {
		return nil, errCorrupt
	}
	vc.dim = int(r.uint())
	n := r.count()
	if r.err != nil || vc.dim <= 0 || vc.dim > 1<<16 || n*(sha256.Size+4*vc.dim) != len(r.b) {
		return nil, errCorrupt
	}
	for range n {
		id := schema.ID("sha256:" + hex.EncodeToString(r.bytes(sha256.Size)))
		v := make([]float32, vc.dim)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(r.bytes(4)))
		}
		vc.v[id] = v
	}
	return vc, nil
}
