package trust

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/search"
)

// NearDuplicateBar is the similarity from which two traces are near
// duplicates (docs/search.md): near duplicates of one author count once in
// reputation, and adding one draws a warning.
const NearDuplicateBar = 0.9

// Words are a trace's words as search splits them: its intent, the
// actions and details of its steps, its result and its tags.
type Words search.Doc

// WordsOf returns the words of a trace.
func WordsOf(t *schema.Trace) Words {
	var b strings.Builder
	b.WriteString(t.Intent)
	for _, st := range t.ReasoningPath {
		b.WriteString(" " + st.Action + " " + st.Detail)
	}
	b.WriteString(" " + t.Result + " " + strings.Join(t.Tags, " "))
	d := search.Doc{Intent: map[string]bool{}, Extra: map[string]bool{}}
	for _, w := range search.Tokens(b.String()) {
		d.Intent[w] = true
	}
	return Words(d)
}

// Similarity of two traces, in [0,1]: search's score of each one's words
// taken as a query against the other's, the lower of the two. 1 when they
// have the same words; one word changed in twenty gives about 0.95.
func Similarity(a, b Words) float64 {
	qa, qb := keys(a.Intent), keys(b.Intent)
	return min(search.Score(qa, search.Doc(b)), search.Score(qb, search.Doc(a)))
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// clusterReports sets the Cluster of each report: the reports of one
// reporter on one author with one result are grouped by near-duplicate
// traces (Similarity at least NearDuplicateBar, transitively), and each is
// named by its smallest id. reports are sorted by author, reporter, trace.
func clusterReports(s *registry.Store, commit plumbing.Hash, reports []Report) error {
	words := map[schema.ID]Words{}
	for i := 0; i < len(reports); {
		j := i + 1
		for j < len(reports) && reports[j].Author == reports[i].Author && reports[j].Reporter == reports[i].Reporter {
			j++
		}
		for _, success := range []bool{true, false} {
			var group []int
			for k := i; k < j; k++ {
				if reports[k].Success == success {
					group = append(group, k)
				}
			}
			if len(group) < 2 {
				continue
			}
			var ids []schema.ID
			for _, k := range group {
				if _, ok := words[reports[k].Trace]; !ok {
					ids = append(ids, reports[k].Trace)
				}
			}
			if err := readWords(s, commit, ids, words); err != nil {
				return err
			}
			parent := make([]int, len(group))
			for k := range parent {
				parent[k] = k
			}
			var find func(int) int
			find = func(x int) int {
				for parent[x] != x {
					parent[x] = parent[parent[x]]
					x = parent[x]
				}
				return x
			}
			for a := range group {
				for b := a + 1; b < len(group); b++ {
					if Similarity(words[reports[group[a]].Trace], words[reports[group[b]].Trace]) >= NearDuplicateBar {
						// The root is the smaller index: the smaller id.
						ra, rb := find(a), find(b)
						if ra > rb {
							ra, rb = rb, ra
						}
						parent[rb] = ra
					}
				}
			}
			for k, idx := range group {
				reports[idx].Cluster = reports[group[find(k)]].Trace
			}
		}
		i = j
	}
	return nil
}

// readWords reads traces ids of commit and adds their words to into.
func readWords(s *registry.Store, commit plumbing.Hash, ids []schema.ID, into map[schema.ID]Words) error {
	if len(ids) == 0 {
		return nil
	}
	got := make([]Words, len(ids))
	err := s.TraceFiles(commit, ids, func(i int, data []byte) error {
		t, err := schema.Parse(data)
		if err != nil {
			return fmt.Errorf("trace %s: %w", ids[i], err)
		}
		got[i] = WordsOf(t)
		return nil
	})
	if err != nil {
		return err
	}
	for i, id := range ids {
		into[id] = got[i]
	}
	return nil
}

// Duplicate says that a trace is nearly identical to another on main.
type Duplicate struct {
	Trace      schema.ID `json:"trace"`
	Of         schema.ID `json:"similar_to"`
	Author     string    `json:"author"`
	OfAuthor   string    `json:"similar_author"`
	Similarity float64   `json:"similarity"`
}

// Message says what the duplicate means for its author: one line.
func (d Duplicate) Message() string {
	if d.Author == d.OfAuthor {
		return fmt.Sprintf("%s is nearly identical to %s, also by %s (similarity %.2f): near duplicates of one author count once for reputation",
			d.Trace.Short(), d.Of.Short(), d.Author, d.Similarity)
	}
	return fmt.Sprintf("%s is nearly identical to %s by %s (similarity %.2f) without naming it in its lineage: if it derives from it, add %s to \"lineage\"",
		d.Trace.Short(), d.Of.Short(), d.OfAuthor, d.Similarity, d.Of)
}

// NearDuplicates finds, for each trace ids on main, the traces on main it
// is nearly identical to (Similarity at least NearDuplicateBar): by the same
// author, or by another author with no lineage between the two. Candidates
// are the skills whose intent the search index ranks near the trace's own
// intent (score 0.5 or more, the best 20); each pair is reported once.
func NearDuplicates(s *registry.Store, ix *search.Index, ids []schema.ID) ([]Duplicate, error) {
	var out []Duplicate
	seen := map[[2]schema.ID]bool{}
	cache := map[schema.ID]*registry.Entry{}
	read := func(id schema.ID) (*registry.Entry, error) {
		if e, ok := cache[id]; ok {
			return e, nil
		}
		e, err := s.Trace(id)
		cache[id] = e
		return e, err
	}
	for _, id := range ids {
		e, err := read(id)
		if err != nil {
			return nil, err
		}
		w := WordsOf(e.Trace)
		for _, r := range ix.Search(search.Query{Text: e.Trace.Intent, Threshold: 0.5, Limit: 20}) {
			if r.ID == id || seen[[2]schema.ID{id, r.ID}] {
				continue
			}
			seen[[2]schema.ID{id, r.ID}], seen[[2]schema.ID{r.ID, id}] = true, true
			o, err := read(r.ID)
			if err != nil {
				return nil, err
			}
			sim := Similarity(w, WordsOf(o.Trace))
			if sim < NearDuplicateBar {
				continue
			}
			related := contains(idStrings(e.Trace.Lineage), string(r.ID)) || contains(idStrings(o.Trace.Lineage), string(id))
			if e.Trace.InstanceID != o.Trace.InstanceID && related {
				continue
			}
			out = append(out, Duplicate{Trace: id, Of: r.ID, Author: e.Trace.InstanceID, OfAuthor: o.Trace.InstanceID, Similarity: sim})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Trace < out[j].Trace })
	return out, nil
}

func idStrings(ids []schema.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}
