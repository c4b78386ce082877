// Command usegen builds a word vector table in the format of
// search/techvec.bin from a sentence embedding model instead of counts: each
// term of the table's vocabulary is embedded by its commonest surface form
// in the corpus the table was learned from (learn.Packages), the vectors are
// centred, reduced to -dims dimensions by principal components, and written
// with their nearest terms as learn.Encode writes them. It measures whether a
// model's word vectors would serve the search better than the counted ones
// (docs/search.md, "Dense retrieval, measured"); the table it writes is not
// shipped.
//
//	cd fixtures/embedder && npm ci && node server.js --listen 127.0.0.1:8089 &
//	go run ./search/internal/techvec/usegen -embedder http://127.0.0.1:8089/v1/embeddings -cache /tmp/use-raw.bin -out /tmp/use.bin
//	HIVE_SEARCH_LEVERS=1 HIVE_TECHVEC=/tmp/use.bin go test -run TechvecLevers -v ./search
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"unicode"

	"gonum.org/v1/gonum/mat"

	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/search/internal/techvec"
	"github.com/hive-dev/hive/search/internal/techvec/learn"
)

func main() {
	table := flag.String("table", "search/techvec.bin", "the table whose vocabulary is embedded")
	out := flag.String("out", "/tmp/use.bin", "the table to write")
	forms := flag.String("forms", "", "a file to write each term's surface form to (term, tab, form)")
	endpoint := flag.String("embedder", "http://127.0.0.1:8089/v1/embeddings", "an OpenAI-compatible /v1/embeddings endpoint, or a spec \"openai|ollama URL MODEL\"")
	dims := flag.Int("dims", 128, "dimensions kept (principal components); 0 keeps the model's")
	cache := flag.String("cache", "", "a file keeping the model's vectors of the terms between runs (written when missing)")
	beside := flag.Bool("beside", false, "write each term's vector beside its vector in -table (both halves at unit length, the whole scaled to unit length), so that a cosine is the mean of the two tables' cosines")
	flag.Parse()
	if err := run(*table, *out, *forms, *endpoint, *cache, *dims, *beside); err != nil {
		fmt.Fprintf(os.Stderr, "usegen: %v\n", err)
		os.Exit(1)
	}
}

func run(table, out, formsFile, endpoint, cache string, dims int, beside bool) error {
	b, err := os.ReadFile(table)
	if err != nil {
		return err
	}
	t, err := techvec.Decode(b)
	if err != nil {
		return fmt.Errorf("%s: %v", table, err)
	}
	vs, err := readCache(cache, len(t.Terms))
	if err == nil {
		return write(t, vs, out, dims, beside)
	}
	if !os.IsNotExist(err) {
		return err
	}
	forms, err := surfaceForms(t)
	if err != nil {
		return err
	}
	if formsFile != "" {
		var sb strings.Builder
		for i, term := range t.Terms {
			fmt.Fprintf(&sb, "%s\t%s\n", term, forms[i])
		}
		if err := os.WriteFile(formsFile, []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	spec := endpoint
	if !strings.Contains(spec, " ") {
		spec = "openai " + spec + " universal-sentence-encoder"
	}
	emb, err := search.ParseEmbedder(spec, os.Getenv(search.EmbedderKeyEnv), nil)
	if err != nil {
		return err
	}
	for lo := 0; lo < len(forms); lo += 512 {
		batch, err := emb.Embed(context.Background(), forms[lo:min(lo+512, len(forms))])
		if err != nil {
			return err
		}
		vs = append(vs, batch...)
		fmt.Fprintf(os.Stderr, "\rembedded %d of %d terms", len(vs), len(forms))
	}
	fmt.Fprintln(os.Stderr)
	if err := writeCache(cache, vs); err != nil {
		return err
	}
	return write(t, vs, out, dims, beside)
}

// write reduces the model's vectors vs of t's terms and writes the table.
func write(t *techvec.Table, vs [][]float32, out string, dims int, beside bool) error {
	v := reduce(t.Terms, vs, dims)
	if beside {
		v = besideTable(t, v)
	}
	enc := learn.Encode(v)
	if err := os.WriteFile(out, enc, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d terms, %d dimensions, %d bytes\n", out, len(v.Terms), v.Dims, len(enc))
	return nil
}

// besideTable puts t's vector before each of v's, each half at unit
// length and the whole at unit length.
func besideTable(t *techvec.Table, v *learn.Vectors) *learn.Vectors {
	d := t.Dims + v.Dims
	out := &learn.Vectors{Terms: v.Terms, Dims: d, X: make([]float32, len(v.Terms)*d)}
	for r := range v.Terms {
		x := out.X[r*d : (r+1)*d]
		if t.Norm[r] > 0 {
			for j, y := range t.Vector(int32(r)) {
				x[j] = float32(y) / t.Norm[r] / math.Sqrt2
			}
		}
		for j, y := range v.X[r*v.Dims : (r+1)*v.Dims] {
			x[t.Dims+j] = y / math.Sqrt2
		}
	}
	return out
}

// readCache reads n vectors that writeCache wrote.
func readCache(path string, n int) ([][]float32, error) {
	if path == "" {
		return nil, os.ErrNotExist
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("%s: cut short", path)
	}
	d := int(binary.LittleEndian.Uint32(b))
	if d == 0 || len(b) != 4+4*n*d {
		return nil, fmt.Errorf("%s: not %d vectors", path, n)
	}
	vs := make([][]float32, n)
	for i := range vs {
		vs[i] = make([]float32, d)
		for j := range vs[i] {
			vs[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4+4*(i*d+j):]))
		}
	}
	return vs, nil
}

// writeCache writes the dimension and the vectors as little-endian
// float32s.
func writeCache(path string, vs [][]float32) error {
	if path == "" {
		return nil
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(vs[0])))
	for _, v := range vs {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return os.WriteFile(path, b, 0o644)
}

// surfaceForms returns, for each term of t, the word of the corpus that
// the search analyses to it most often (ties: the shorter, then the first
// in order); the term itself when the corpus has none.
func surfaceForms(t *techvec.Table) ([]string, error) {
	c := learn.Default
	stem := map[string]int32{} // a lower-case word -> its term's number, -1 none
	counts := make([]map[string]int, len(t.Terms))
	err := learn.Corpus(c, func(_, text string) {
		for _, w := range words(text) {
			r, ok := stem[w]
			if !ok {
				r = -1
				if ts := search.Tokens(w); len(ts) == 1 {
					if n, ok := t.Index[ts[0]]; ok {
						r = n
					}
				}
				stem[w] = r
			}
			if r >= 0 {
				if counts[r] == nil {
					counts[r] = map[string]int{}
				}
				counts[r][w]++
			}
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(t.Terms))
	for i, term := range t.Terms {
		out[i] = term
		best := 0
		for w, n := range counts[i] {
			if n > best || n == best && (len(w) < len(out[i]) || len(w) == len(out[i]) && w < out[i]) {
				out[i], best = w, n
			}
		}
	}
	return out, nil
}

// words splits text into lower-case words at anything not a letter and at
// camelCase boundaries, as the search's analyzer does.
func words(text string) []string {
	var out []string
	start := -1
	rs := []rune(text)
	flush := func(end int) {
		if start >= 0 && end > start {
			out = append(out, strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r):
			flush(i)
		case start < 0:
			start = i
		case unicode.IsUpper(r) && unicode.IsLower(rs[i-1]):
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return out
}

// reduce centres the unit vectors, keeps their first dims principal
// components (all when dims is 0 or more than they have), and scales each
// to unit length.
func reduce(terms []string, vs [][]float32, dims int) *learn.Vectors {
	n, d := len(vs), len(vs[0])
	x := mat.NewDense(n, d, nil)
	mean := make([]float64, d)
	for i, v := range vs {
		var ss float64
		for _, y := range v {
			ss += float64(y) * float64(y)
		}
		inv := 1 / math.Sqrt(ss)
		for j, y := range v {
			x.Set(i, j, float64(y)*inv)
			mean[j] += float64(y) * inv / float64(n)
		}
	}
	for i := range n {
		for j := range d {
			x.Set(i, j, x.At(i, j)-mean[j])
		}
	}
	proj := x
	if dims > 0 && dims < d {
		var cov mat.SymDense
		cov.SymOuterK(1, x.T())
		var eig mat.EigenSym
		if !eig.Factorize(&cov, true) {
			panic("usegen: eigendecomposition failed")
		}
		vals := eig.Values(nil)
		var vecs mat.Dense
		eig.VectorsTo(&vecs)
		order := make([]int, d)
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
		top := mat.NewDense(d, dims, nil)
		for k := range dims {
			for j := range d {
				top.Set(j, k, vecs.At(j, order[k]))
			}
		}
		proj = mat.NewDense(n, dims, nil)
		proj.Mul(x, top)
		d = dims
	}
	out := &learn.Vectors{Terms: terms, Dims: d, X: make([]float32, n*d)}
	for i := range n {
		row := proj.RawRowView(i)
		var ss float64
		for _, y := range row {
			ss += y * y
		}
		inv := 0.0
		if ss > 0 {
			inv = 1 / math.Sqrt(ss)
		}
		for j, y := range row {
			out.X[i*d+j] = float32(y * inv)
		}
	}
	return out
}
