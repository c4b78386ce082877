package trust

import (
	"context"
	"fmt"
	"slices"
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

// Words are a trace's distinct words as search splits and normalises
// them (search.Tokens): of its intent, the actions and details of its
// steps, its result and its tags, sorted.
type Words []string

// WordsOf returns the words of a trace.
func WordsOf(t *schema.Trace) Words {
	var b strings.Builder
	b.WriteString(t.Intent)
	for _, st := range t.ReasoningPath {
		b.WriteString(" " + st.Action + " " + st.Detail)
	}
	b.WriteString(" " + t.Result + " " + strings.Join(t.Tags, " "))
	w := search.Tokens(b.String())
	sort.Strings(w)
	return Words(slices.Compact(w))
}

// Similarity of two traces, in [0,1]: the words they share over the words
// of the one with more, |A∩B| / max(|A|, |B|). 1 for the same words; one
// word changed in twenty gives 0.95; traces with no words are not similar.
func Similarity(a, b Words) float64 {
	n := max(len(a), len(b))
	if n == 0 {
		return 0
	}
	common := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			common++
			i, j = i+1, j+1
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(common) / float64(n)
}

// cluster names the near-duplicate class of each trace of ids (Similarity
// at least NearDuplicateBar, transitively) by its smallest id. words holds
// the words of every id.
func cluster(ids []schema.ID, words map[schema.ID]Words) map[schema.ID]schema.ID {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	parent := make([]int, len(ids))
	for k := range parent {
		parent[k] = k
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	// Only traces of about the same number of words can reach the bar:
	// compare each with those at most 1/bar times its size.
	bySize := make([]int, len(ids))
	for k := range bySize {
		bySize[k] = k
	}
	sort.SliceStable(bySize, func(i, j int) bool { return len(words[ids[bySize[i]]]) < len(words[ids[bySize[j]]]) })
	for x, a := range bySize {
		wa := words[ids[a]]
		for _, b := range bySize[x+1:] {
			wb := words[ids[b]]
			if float64(len(wa)) < NearDuplicateBar*float64(len(wb)) {
				break
			}
			if Similarity(wa, wb) >= NearDuplicateBar {
				ra, rb := find(a), find(b)
				if ra > rb {
					ra, rb = rb, ra
				}
				parent[rb] = ra // the root is the smaller index: the smaller id
			}
		}
	}
	out := make(map[schema.ID]schema.ID, len(ids))
	for k, id := range ids {
		out[id] = ids[find(k)]
	}
	return out
}

// readWords reads traces ids of commit and adds their words to into.
func readWords(ctx context.Context, s *registry.Store, commit plumbing.Hash, ids []schema.ID, into map[schema.ID]Words) error {
	if len(ids) == 0 {
		return nil
	}
	got := make([]Words, len(ids))
	err := s.TraceFilesContext(ctx, commit, ids, func(i int, data []byte) error {
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
// intent (score 0.2 or more, the best 20); each pair is reported once.
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
		for _, r := range ix.Search(search.Query{Text: e.Trace.Intent, Threshold: candidateFloor, Limit: 20}) {
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
