// Command blevecmp measures bleve v2 (BM25, its English analyzer) beside
// hive's own search index, on quality (the labelled set's dev and test
// splits) and on speed (build, warm query latency, memory) over a fixture
// hive, for docs/search.md. It is a module of its own so that bleve is not
// a dependency of hive:
//
//	cd search/internal/blevecmp && go run . -hive ../../../.bench/search/search-n100000-v3 [-split test]
//
// The hive is one that `make bench` (BenchmarkIndexBuild) leaves in .bench/search.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/hive-dev/hive/fixtures"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
)

// fields and their boosts: those of hive's BM25F (search/params.go), with
// the actions, which hive weighs 0, at a small weight.
var fields = []struct {
	name  string
	boost float64
}{{"intent", 1.1}, {"tags", 4}, {"actions", 0.1}, {"details", 1}, {"result", 0.3}}

type doc struct {
	Intent, Tags, Actions, Details, Result string
	All                                    string // every field run together
}

func toDoc(t *schema.Trace) doc {
	d := doc{Intent: t.Intent, Tags: strings.Join(t.Tags, " "), Result: t.Result}
	var a, det []string
	for _, s := range t.ReasoningPath {
		a = append(a, strings.NewReplacer("_", " ", "-", " ").Replace(s.Action))
		det = append(det, s.Detail)
	}
	d.Actions, d.Details = strings.Join(a, " "), strings.Join(det, " ")
	d.All = strings.Join([]string{d.Intent, d.Tags, d.Actions, d.Details, d.Result}, " ")
	return d
}

func newMapping(names ...string) mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	m.ScoringModel = index.BM25Scoring
	dm := bleve.NewDocumentMapping()
	dm.Dynamic = false
	for _, f := range names {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = en.AnalyzerName
		fm.Store = false
		fm.IncludeTermVectors = false
		dm.AddFieldMappingsAt(f, fm)
	}
	m.DefaultMapping = dm
	return m
}

func bleveQuery(text string) query.Query {
	var qs []query.Query
	for i, f := range fields {
		mq := bleve.NewMatchQuery(text)
		mq.SetField([]string{"Intent", "Tags", "Actions", "Details", "Result"}[i])
		mq.SetBoost(f.boost)
		qs = append(qs, mq)
	}
	return bleve.NewDisjunctionQuery(qs...)
}

func main() {
	hive := flag.String("hive", "", "a fixture hive for the speed figures (none: quality only)")
	split := flag.String("split", "dev", "the labelled set's split for the quality figures: dev or test")
	flag.Parse()
	if err := quality(*split); err != nil {
		log.Fatal(err)
	}
	if *hive != "" {
		if err := speed(*hive); err != nil {
			log.Fatal(err)
		}
	}
}

func quality(split string) error {
	l, err := fixtures.LabelledSet()
	if err != nil {
		return err
	}
	sp := l.Dev
	if split == "test" {
		sp = l.Test
	}
	idx, err := bleve.NewMemOnly(newMapping("Intent", "Tags", "Actions", "Details", "Result", "All"))
	if err != nil {
		return err
	}
	ids := map[string]string{}
	b := idx.NewBatch()
	for _, s := range l.Skills {
		id := string(schema.Digest(mustMarshal(s.Trace)))
		ids[s.Key] = id
		if err := b.Index(id, toDoc(s.Trace)); err != nil {
			return err
		}
	}
	if err := idx.Batch(b); err != nil {
		return err
	}
	// hive's search over the same skills, through its public API.
	st, err := fixtures.Memory(fixtures.Spec{Instances: 4})
	if err != nil {
		return err
	}
	var in []registry.Input
	for _, s := range l.Skills {
		in = append(in, registry.Input{Name: s.Key, Data: mustMarshal(s.Trace)})
	}
	if _, err := st.AddBatch(in, fixtures.Spec{Instances: 4}.KeyFunc(), 100); err != nil {
		return err
	}
	hix, err := search.OpenIndex(st)
	if err != nil {
		return err
	}
	rankers := []struct {
		name string
		rank func(string) []string
	}{
		{"bleve v2 BM25 (en analyzer, field boosts)", func(q string) []string { return hits(idx, bleveQuery(q)) }},
		{"bleve v2 BM25 (en analyzer, one field)", func(q string) []string {
			mq := bleve.NewMatchQuery(q)
			mq.SetField("All")
			return hits(idx, mq)
		}},
		{"hive search", func(q string) []string {
			var out []string
			for _, r := range hix.Search(search.Query{Text: q, Limit: 5}) {
				out = append(out, string(r.ID))
			}
			return out
		}},
	}
	for _, r := range rankers {
		var n, hard, at1, at5, hardAt1 int
		for _, q := range sp.Queries {
			got := r.rank(q.Text)
			n++
			if q.Kind == "h" {
				hard++
			}
			for k, id := range got {
				if id == ids[q.Key] {
					if k == 0 {
						at1++
						if q.Kind == "h" {
							hardAt1++
						}
					}
					at5++
				}
			}
		}
		fmt.Printf("%s split, %-42s r@1 %.3f (hard %.3f)  r@5 %.3f\n", sp.Name, r.name,
			float64(at1)/float64(n), float64(hardAt1)/float64(hard), float64(at5)/float64(n))
	}
	return nil
}

// hits are the ids of the best five skills for q.
func hits(idx bleve.Index, q query.Query) []string {
	res, err := idx.Search(bleve.NewSearchRequestOptions(q, 5, 0, false))
	if err != nil {
		log.Fatal(err)
	}
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.ID)
	}
	return out
}

func speed(dir string) error {
	s, err := registry.Open(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	head, err := s.Head()
	if err != nil {
		return err
	}
	ids, err := s.TraceIDs()
	if err != nil {
		return err
	}
	// Read every trace once, outside both timings.
	docs := make([]doc, len(ids))
	if err := s.TraceFiles(head, ids, func(i int, data []byte) error {
		t, err := schema.Parse(data)
		if err != nil {
			return err
		}
		docs[i] = toDoc(t)
		return nil
	}); err != nil {
		return err
	}
	qs := benchQueries(500)

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	idx, err := bleve.NewMemOnly(newMapping("All")) // the better configuration on quality
	if err != nil {
		return err
	}
	b := idx.NewBatch()
	for i, d := range docs {
		if err := b.Index(string(ids[i]), d); err != nil {
			return err
		}
		if b.Size() >= 1000 {
			if err := idx.Batch(b); err != nil {
				return err
			}
			b = idx.NewBatch()
		}
	}
	if err := idx.Batch(b); err != nil {
		return err
	}
	build := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	lat := func(fn func(q string)) (p50, p99 time.Duration) {
		for _, q := range qs[:20] {
			fn(q)
		}
		var ls []time.Duration
		for _, q := range qs {
			t := time.Now()
			fn(q)
			ls = append(ls, time.Since(t))
		}
		sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
		return ls[len(ls)/2], ls[len(ls)*99/100]
	}
	bp50, bp99 := lat(func(q string) {
		mq := bleve.NewMatchQuery(q)
		mq.SetField("All")
		if _, err := idx.Search(bleve.NewSearchRequestOptions(mq, 20, 0, false)); err != nil {
			log.Fatal(err)
		}
	})
	fmt.Printf("%d skills, bleve v2 in memory: build from parsed traces %v, heap %.0f MB, query p50 %v p99 %v\n",
		len(docs), build.Round(time.Millisecond), float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/(1<<20), bp50.Round(time.Microsecond), bp99.Round(time.Microsecond))
	runtime.KeepAlive(idx)

	runtime.GC()
	runtime.ReadMemStats(&m0)
	t0 = time.Now()
	hix, err := search.Build(s, head) // reads and parses the traces itself
	if err != nil {
		return err
	}
	hbuild := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	hp50, hp99 := lat(func(q string) { hix.Search(search.Query{Text: q, Limit: 20}) })
	fmt.Printf("%d skills, hive search: build from the git objects %v, heap %.0f MB, query p50 %v p99 %v\n",
		hix.Len(), hbuild.Round(time.Millisecond), float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/(1<<20), hp50.Round(time.Microsecond), hp99.Round(time.Microsecond))
	runtime.KeepAlive(hix)
	return nil
}

// benchQueries are the queries of search's BenchmarkSearch.
func benchQueries(n int) []string {
	var qs []string
	for i := range n {
		t := fixtures.Trace(fixtures.Instance(i%4), 1_000_000+i)
		intent := t.Intent
		if k := strings.LastIndex(intent, " (task "); k > 0 {
			intent = intent[:k]
		}
		qs = append(qs, intent)
	}
	return qs
}

func mustMarshal(t *schema.Trace) []byte {
	b, err := t.Marshal()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return b
}
