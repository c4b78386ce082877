// Package learn learns word vectors from technical text, Debian's
// documentation packages (manual pages, HTML manuals, info pages), by a
// well-known count method: co-occurrence within a window of words, positive
// pointwise mutual information with context smoothing, reduced by a
// randomized truncated SVD (Levy, Goldberg and Dagan 2015). The words are
// the search's index terms (the analyzer is passed in), so the vectors are
// by term. It only reads the files the packages installed.
package learn

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hive-dev/hive/search/internal/techvec"
	"gonum.org/v1/gonum/mat"
)

// Packages are the packages the committed table is learned from (Debian
// 12): manual pages, and the manuals of git, Python, PostgreSQL, Debian,
// bash, Docker, Apache, SQLite, Go, FFmpeg, Node.js, Django, pytest,
// requests, OpenSSL, curl, scikit-learn and those below.
// search/techvec.versions gives their versions, search/TECHVEC-SOURCES their
// licences.
var Packages = []string{"manpages", "manpages-dev", "git-doc", "python3.11-doc", "postgresql-doc-15",
	"debian-reference-en", "debian-reference-common", "debian-handbook", "bash-doc", "docker-doc", "apache2-doc",
	"sqlite3-doc", "golang-1.19-doc", "ffmpeg-doc", "nodejs-doc", "python-django-doc", "python-pytest-doc",
	"python-requests-doc", "libssl-doc", "libcurl4-doc", "python-sklearn-doc",
	// The manuals of more of what the skills use: Perl (with its FAQ),
	// pandas, Pillow, SQLAlchemy, Flask, Werkzeug, Jinja, aiohttp, Celery,
	// coverage, Hypothesis, certbot, CMake, ImageMagick, BIND, HAProxy,
	// rsyslog, the Debian FAQ and the Securing Debian manual.
	"perl-doc", "python-pandas-doc", "python-pil-doc", "harden-doc", "bind9-doc", "haproxy-doc",
	"python-sqlalchemy-doc", "python-flask-doc", "python-celery-doc", "python-coverage-doc", "python-certbot-doc",
	"rsyslog-doc", "debian-faq", "cmake-doc", "python-werkzeug-doc", "python-aiohttp-doc", "python-jinja2-doc",
	"imagemagick-6-doc", "python-hypothesis-doc",
	// The documentation (manual pages, info manuals, notes) of a Debian
	// system's everyday tools: systemd, coreutils, util-linux, ssh, the ext
	// filesystems' tools, procps, find, ip, grep, sed, tar, GnuPG, make,
	// openssl, strace, mount, npm, jq, sqlite3, curl, wget, dpkg, apt, the
	// login and password tools, man, less, the compressors and net-tools.
	"systemd", "coreutils", "util-linux", "openssh-client", "e2fsprogs", "procps", "findutils", "iproute2",
	"grep", "sed", "tar", "gnupg", "gpg", "make", "openssl", "strace", "mount", "npm", "jq", "sqlite3", "curl",
	"wget", "dpkg", "apt", "login", "passwd", "man-db", "less", "gzip", "xz-utils", "zstd", "net-tools"}

// Default is the configuration of the committed table, but for the
// analyzer.
var Default = Config{Packages: Packages, InfoDir: "/var/lib/dpkg/info", Rows: 50000, Contexts: 30000,
	Window: 10, Dims: 128, MinCount: 5, Center: true}

// Versions returns the installed version of each package (dpkg's status
// file), "" for one not installed.
func Versions(status string, pkgs []string) (map[string]string, error) {
	b, err := os.ReadFile(status)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, p := range pkgs {
		want[p] = true
	}
	out := map[string]string{}
	for _, st := range strings.Split(string(b), "\n\n") {
		var name, version string
		installed := false
		for _, l := range strings.Split(st, "\n") {
			switch {
			case strings.HasPrefix(l, "Package: "):
				name = strings.TrimPrefix(l, "Package: ")
			case strings.HasPrefix(l, "Version: "):
				version = strings.TrimPrefix(l, "Version: ")
			case strings.HasPrefix(l, "Status: "):
				installed = strings.HasSuffix(l, " installed")
			}
		}
		if want[name] && installed {
			out[name] = version
		}
	}
	return out, nil
}

// Config is what a table is built from.
type Config struct {
	Packages []string // Debian packages whose documentation is read
	InfoDir  string   // dpkg's info folder (the packages' file lists)
	Rows     int      // terms that get a vector: the most frequent
	Contexts int      // terms counted as contexts: the most frequent
	Window   int      // words each side, weighted 1/distance
	Dims     int      // vector dimensions
	MinCount int      // least count of a term with a vector
	Center   bool     // subtract the mean of the rows (before unit length)
	Tokens   func(string) []string
}

// Corpus calls fn with the text of each documentation file of the
// packages, in a fixed order: manual pages (English), HTML, Markdown,
// reStructuredText, plain text and info files.
func Corpus(c Config, fn func(path, text string)) error {
	var files []string
	for _, p := range c.Packages {
		list := filepath.Join(c.InfoDir, p+".list")
		b, err := os.ReadFile(list)
		if os.IsNotExist(err) {
			m, _ := filepath.Glob(filepath.Join(c.InfoDir, p+":*.list"))
			if len(m) == 1 {
				b, err = os.ReadFile(m[0])
			}
		}
		if err != nil {
			return fmt.Errorf("package %s not installed: %v", p, err)
		}
		for _, f := range strings.Split(string(b), "\n") {
			if kindOf(f) != "" {
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	files = dedupe(files)
	for _, f := range files {
		st, err := os.Lstat(f)
		if err != nil || !st.Mode().IsRegular() {
			continue // symlinks and folders: the targets are listed too
		}
		raw, err := readMaybeGzip(f)
		if err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		fn(f, Extract(kindOf(f), raw))
	}
	return nil
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

var (
	manPath    = regexp.MustCompile(`^/usr/share/man/man[0-9][a-z]*/[^/]+\.[0-9][a-z]*(\.gz)?$`)
	otherLang  = regexp.MustCompile(`/[a-z]{2}[-_][A-Z]{2}/`)
	englishDir = regexp.MustCompile(`/en[-_]US/`)
)

// kindOf is how a file is read: "man", "html", "text" or "" (not read).
func kindOf(f string) string {
	if otherLang.MatchString(f) && !englishDir.MatchString(f) {
		return ""
	}
	if manPath.MatchString(f) {
		return "man"
	}
	g := strings.TrimSuffix(f, ".gz")
	switch {
	case strings.HasSuffix(g, ".html") || strings.HasSuffix(g, ".htm"):
		return "html"
	case strings.HasSuffix(g, ".md") || strings.HasSuffix(g, ".rst") || strings.HasSuffix(g, ".txt"):
		return "text"
	case strings.HasPrefix(f, "/usr/share/info/") && strings.Contains(f, ".info"):
		return "text"
	}
	return ""
}

func readMaybeGzip(f string) ([]byte, error) {
	b, err := os.ReadFile(f)
	if err != nil || !strings.HasSuffix(f, ".gz") {
		return b, err
	}
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(z)
}

var (
	htmlDrop   = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)>`)
	htmlTag    = regexp.MustCompile(`(?s)<[^>]*>`)
	htmlEntity = regexp.MustCompile(`&[#a-zA-Z0-9]+;`)
	roffEscape = regexp.MustCompile(`\\(f(\(..|\[[^\]]*\]|.)|\(..|\*(\(..|\[[^\]]*\]|.)|\[[^\]]*\]|s[-+]?[0-9]+|.)`)
)

// Extract is the prose of a file of a kind ("man", "html" or "text"): tags, roff requests' names and escapes
// left out.
func Extract(kind string, b []byte) string {
	switch kind {
	case "html":
		b = htmlDrop.ReplaceAll(b, []byte(" "))
		b = htmlTag.ReplaceAll(b, []byte(" "))
		return string(htmlEntity.ReplaceAll(b, []byte(" ")))
	case "man":
		var out strings.Builder
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<16), 1<<24)
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(l, `.\"`) || strings.HasPrefix(l, `'\"`) {
				continue
			}
			if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
				_, rest, _ := strings.Cut(l, " ")
				l = rest
			}
			out.WriteString(roffEscape.ReplaceAllString(l, " "))
			out.WriteByte('\n')
		}
		return out.String()
	}
	return string(b)
}

// counts are the corpus's co-occurrence counts.
type counts struct {
	terms []string            // the row terms, most frequent first
	freq  []float64           // their counts
	ctx   int                 // the first ctx rows are the contexts too
	pairs []map[int32]float64 // row -> context -> weighted count
}

// Count reads the corpus and counts, for the most frequent terms, the
// contexts within the window.
func Count(c Config) (*counts, error) {
	// First pass: term frequencies.
	freq := map[string]float64{}
	all := map[string]int32{}
	var names []string
	var docs [][]int32
	err := Corpus(c, func(_, text string) {
		ts := c.Tokens(text)
		doc := make([]int32, len(ts))
		for i, t := range ts {
			freq[t]++
			n, ok := all[t]
			if !ok {
				n = int32(len(names))
				all[t] = n
				names = append(names, t)
			}
			doc[i] = n
		}
		docs = append(docs, doc)
	})
	if err != nil {
		return nil, err
	}
	terms := make([]string, 0, len(freq))
	for t, n := range freq {
		if n >= float64(c.MinCount) && plain(t) {
			terms = append(terms, t)
		}
	}
	sort.Slice(terms, func(i, j int) bool {
		if freq[terms[i]] != freq[terms[j]] {
			return freq[terms[i]] > freq[terms[j]]
		}
		return terms[i] < terms[j]
	})
	if len(terms) > c.Rows {
		terms = terms[:c.Rows]
	}
	id := make(map[string]int32, len(terms))
	k := &counts{terms: terms, ctx: min(c.Contexts, len(terms)), pairs: make([]map[int32]float64, len(terms))}
	for i, t := range terms {
		id[t] = int32(i)
		k.freq = append(k.freq, freq[t])
		k.pairs[i] = map[int32]float64{}
	}
	remap := make([]int32, len(names))
	for i, t := range names {
		if r, ok := id[t]; ok {
			remap[i] = r
		} else {
			remap[i] = -1
		}
	}
	for _, ids := range docs {
		for i, t := range ids {
			ids[i] = remap[t]
		}
		for i, a := range ids {
			if a < 0 {
				continue
			}
			for d := 1; d <= c.Window && i+d < len(ids); d++ {
				b := ids[i+d]
				if b < 0 || b == a {
					continue
				}
				w := 1 / float64(d)
				if int(b) < k.ctx {
					k.pairs[a][b] += w
				}
				if int(a) < k.ctx {
					k.pairs[b][a] += w
				}
			}
		}
	}
	return k, nil
}

// plain reports whether a term is two or more letters a to z (numbers and
// words of other scripts get no vector).
func plain(t string) bool {
	if len(t) < 2 {
		return false
	}
	for i := range len(t) {
		if t[i] < 'a' || t[i] > 'z' {
			return false
		}
	}
	return true
}

// Vectors are unit word vectors by term.
type Vectors struct {
	Terms []string
	Dims  int
	X     []float32 // len(Terms) × Dims
}

// Learn turns counts into vectors: PPMI with the contexts' distribution
// raised to 0.75, the rows × contexts matrix reduced by a randomized SVD
// (seeded, so the same counts give the same vectors), each row U·√Σ scaled
// to unit length. Fewer terms or contexts than dims+10, or an SVD that
// does not converge, is an error.
func Learn(k *counts, dims int) (*Vectors, error) {
	n, m := len(k.terms), k.ctx
	if min(n, m) < dims+10 {
		return nil, fmt.Errorf("techvec: %d terms and %d contexts are too few for %d dimensions (at least %d each)", n, m, dims, dims+10)
	}
	// Context distribution, smoothed.
	cf := make([]float64, m)
	var cz float64
	// The counts as rows sorted by context, so that every sum below is
	// taken in one order and the same counts give the same bytes.
	type entry struct {
		c int32
		v float64
	}
	rows := make([][]entry, n)
	for r, p := range k.pairs {
		for c, v := range p {
			rows[r] = append(rows[r], entry{c, v})
		}
		sort.Slice(rows[r], func(i, j int) bool { return rows[r][i].c < rows[r][j].c })
	}
	rowSum := make([]float64, n)
	colSum := make([]float64, m)
	for r, es := range rows {
		for _, e := range es {
			rowSum[r] += e.v
			colSum[e.c] += e.v
		}
	}
	for c := range cf {
		cf[c] = math.Pow(colSum[c], 0.75)
		cz += cf[c]
	}
	// PPMI, kept where positive.
	for r, es := range rows {
		kept := es[:0]
		for _, e := range es {
			if pmi := math.Log(e.v * cz / (rowSum[r] * cf[e.c])); pmi > 0 {
				kept = append(kept, entry{e.c, pmi})
			}
		}
		rows[r] = kept
	}
	l := dims + 10
	mulA := func(x *mat.Dense) *mat.Dense { // A·x, x m×l
		y := mat.NewDense(n, l, nil)
		for r, es := range rows {
			row := y.RawRowView(r)
			for _, e := range es {
				xr := x.RawRowView(int(e.c))
				for j := range row {
					row[j] += e.v * xr[j]
				}
			}
		}
		return y
	}
	mulAT := func(y *mat.Dense) *mat.Dense { // Aᵀ·y, y n×l
		x := mat.NewDense(m, l, nil)
		for r, es := range rows {
			yr := y.RawRowView(r)
			for _, e := range es {
				xr := x.RawRowView(int(e.c))
				for j := range xr {
					xr[j] += e.v * yr[j]
				}
			}
		}
		return x
	}
	converged := true
	orth := func(y *mat.Dense) *mat.Dense { // an orthonormal basis of y's columns
		var svd mat.SVD
		if !svd.Factorize(y, mat.SVDThinU) {
			converged = false
			return y
		}
		var u mat.Dense
		svd.UTo(&u)
		return &u
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	omega := mat.NewDense(m, l, nil)
	for i := range m {
		for j := range l {
			omega.Set(i, j, rnd.NormFloat64())
		}
	}
	q := orth(mulA(omega))
	for range 3 {
		q = orth(mulA(orth(mulAT(q))))
	}
	bt := mulAT(q) // Bᵀ = Aᵀ Q, m×l
	var svd mat.SVD
	if !converged || !svd.Factorize(bt, mat.SVDThin) {
		return nil, errors.New("techvec: the svd did not converge")
	}
	var v mat.Dense // Bᵀ = U' Σ V'ᵀ, so B = V' Σ U'ᵀ and A ≈ (Q V') Σ U'ᵀ
	svd.VTo(&v)
	s := svd.Values(nil)
	var u mat.Dense
	u.Mul(q, &v)
	out := &Vectors{Terms: k.terms, Dims: dims, X: make([]float32, n*dims)}
	for r := range n {
		var ss float64
		x := out.X[r*dims : (r+1)*dims]
		for d := range dims {
			y := u.At(r, d) * math.Sqrt(s[d])
			x[d] = float32(y)
			ss += y * y
		}
		if ss > 0 {
			inv := float32(1 / math.Sqrt(ss))
			for d := range x {
				x[d] *= inv
			}
		}
	}
	return out, nil
}

// MinCos is the least cosine of a neighbour the table keeps.
const MinCos = 0.4

// Encode writes vectors as a table: the magic; the term count and the
// dimensions (uvarints); each term (uvarint length, bytes); each vector as
// one signed byte a dimension (×127); then for each term its count of
// neighbours (a byte) and each neighbour, nearest first, as its term's
// number (2 bytes, little-endian) and its cosine ×100 (a byte). The
// cosines are of the bytes, computed exactly (sums of products of small
// integers), so the same vectors give the same table on every machine.
func Encode(v *Vectors) []byte {
	n, d := len(v.Terms), v.Dims
	out := []byte(techvec.Magic)
	out = binary.AppendUvarint(out, uint64(n))
	out = binary.AppendUvarint(out, uint64(d))
	for _, t := range v.Terms {
		out = binary.AppendUvarint(out, uint64(len(t)))
		out = append(out, t...)
	}
	q := make([]float64, n*d)
	for i, x := range v.X {
		b := int8(math.Round(float64(x) * 127))
		out = append(out, byte(b))
		q[i] = float64(b)
	}
	for _, ns := range neighbours(q, n, d) {
		out = append(out, byte(len(ns)))
		for _, x := range ns {
			out = binary.LittleEndian.AppendUint16(out, uint16(x.row))
			out = append(out, x.cos)
		}
	}
	return out
}

type neighbour struct {
	row int
	cos uint8
}

// neighbours finds each row's nearest rows by the cosine of the quantized
// vectors q (n×d), in blocks of rows.
func neighbours(q []float64, n, d int) [][]neighbour {
	all := mat.NewDense(n, d, q)
	norm := make([]float64, n)
	for r := range n {
		x := all.RawRowView(r)
		var ss float64
		for _, y := range x {
			ss += y * y
		}
		norm[r] = math.Sqrt(ss)
	}
	out := make([][]neighbour, n)
	const block = 512
	var prod mat.Dense
	for lo := 0; lo < n; lo += block {
		hi := min(lo+block, n)
		prod.Reset()
		prod.Mul(all.Slice(lo, hi, 0, d), all.T()) // exact: sums of products of integers under 2^53
		for r := lo; r < hi; r++ {
			row := prod.RawRowView(r - lo)
			var ns []neighbour
			var cs []float64
			for c, dot := range row {
				if c == r || norm[r] == 0 || norm[c] == 0 {
					continue
				}
				cos := dot / (norm[r] * norm[c])
				if cos < MinCos {
					continue
				}
				// Insert in order: nearest first, ties by row.
				k := sort.Search(len(cs), func(i int) bool { return cs[i] < cos })
				if k >= techvec.Neighbours {
					continue
				}
				cs = append(cs, 0)
				ns = append(ns, neighbour{})
				copy(cs[k+1:], cs[k:])
				copy(ns[k+1:], ns[k:])
				cs[k], ns[k] = cos, neighbour{c, uint8(math.Round(cos * 100))}
				if len(cs) > techvec.Neighbours {
					cs, ns = cs[:techvec.Neighbours], ns[:techvec.Neighbours]
				}
			}
			out[r] = ns
		}
	}
	return out
}

// Build reads the corpus and returns its table.
func Build(c Config) ([]byte, error) {
	k, err := Count(c)
	if err != nil {
		return nil, err
	}
	v, err := Learn(k, c.Dims)
	if err != nil {
		return nil, err
	}
	if c.Center {
		center(v)
	}
	return Encode(v), nil
}

// center subtracts the mean of the unit rows from each and scales them to
// unit length again, so that the direction every term of the corpus shares
// counts for no similarity.
func center(v *Vectors) {
	d := v.Dims
	n := len(v.Terms)
	mean := make([]float64, d)
	for r := range n {
		for j, x := range v.X[r*d : (r+1)*d] {
			mean[j] += float64(x)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for r := range n {
		x := v.X[r*d : (r+1)*d]
		var ss float64
		for j := range x {
			y := float64(x[j]) - mean[j]
			x[j] = float32(y)
			ss += y * y
		}
		if ss > 0 {
			inv := float32(1 / math.Sqrt(ss))
			for j := range x {
				x[j] *= inv
			}
		}
	}
}
