package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
)

// The ledger is the set of records reputation is computed from, for one
// commit of main: each author's traces (how many, and the sum of their
// qualities), the traces removed by upheld disputes, and every outcome.
// It is a set, read from trees, so a record counts once however many
// commits brought it, and the order of commits plays no part.
//
// It is kept, with the table computed from it, in
// <gitDir>/hive/trust/ledger, keyed by the commit it reflects. When main
// has moved on from that commit, it is brought up to date from the diff of
// the two trees (only the shards and folders that changed are read); when
// the file is missing, damaged, of another version, or its commit is not
// on main's history, it is rebuilt from main. It is derived data: never in
// the tree, never trusted over the repository.
type ledger struct {
	commit   plumbing.Hash
	authors  map[string]*authorSum
	removed  map[schema.ID]string // trace -> its author ("" if not found)
	outcomes map[registry.OutcomeKey]outcomeFact
}

// authorSum is an author's traces on main: how many, and the sum of their
// qualities in units of 1e-9 (integers, so that the sum does not depend on
// the order traces were added or removed in).
type authorSum struct {
	traces  int
	quality int64
}

// outcomeFact is what reputation needs of an outcome.
type outcomeFact struct {
	success bool
	author  string    // the trace's author; "" when the trace is not on main
	cluster schema.ID // the near-duplicate class of the trace in its group
}

// group is the outcomes of one reporter on one author with one result:
// near duplicates among its traces count once.
type group struct {
	reporter, author string
	success          bool
}

func (l *ledger) groupOf(k registry.OutcomeKey, o outcomeFact) group {
	return group{k.Reporter, o.author, o.success}
}

// counts reports whether an outcome counts: its trace is on main.
func (l *ledger) counts(k registry.OutcomeKey, o outcomeFact) bool {
	_, gone := l.removed[k.Trace]
	return !gone && o.author != ""
}

const qualityUnit = 1e9

func quantise(q float64) int64 { return int64(math.Round(q * qualityUnit)) }

func newLedger() *ledger {
	return &ledger{authors: map[string]*authorSum{}, removed: map[schema.ID]string{}, outcomes: map[registry.OutcomeKey]outcomeFact{}}
}

// traceFacts is what the ledger keeps of a trace.
type traceFacts struct {
	author  string
	quality int64
}

// readFacts reads the author and quality of traces ids in commit h's tree.
func readFacts(ctx context.Context, s *registry.Store, h plumbing.Hash, ids []schema.ID) (map[schema.ID]traceFacts, error) {
	out := make(map[schema.ID]traceFacts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	got := make([]traceFacts, len(ids))
	err := s.TraceFilesContext(ctx, h, ids, func(i int, data []byte) error {
		var t struct {
			Confidence        float64 `json:"confidence"`
			VerificationScore float64 `json:"verification_score"`
			InstanceID        string  `json:"instance_id"`
		}
		if err := json.Unmarshal(data, &t); err != nil {
			return fmt.Errorf("trace %s: %w", ids[i], err)
		}
		got[i] = traceFacts{t.InstanceID, quantise(Quality(t.Confidence, t.VerificationScore))}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		out[id] = got[i]
	}
	return out, nil
}

// update brings l from its commit to head: zero rebuilds from nothing.
func (l *ledger) update(ctx context.Context, s *registry.Store, head plumbing.Hash) error {
	from := l.commit
	added, removed, err := s.Changes(from, head)
	if err != nil {
		return err
	}
	now, err := readFacts(ctx, s, head, added)
	if err != nil {
		return err
	}
	gone, err := readFacts(ctx, s, from, removed)
	if err != nil {
		return err
	}
	for _, id := range added {
		f := now[id]
		a := l.authors[f.author]
		if a == nil {
			a = &authorSum{}
			l.authors[f.author] = a
		}
		a.traces++
		a.quality += f.quality
	}
	for _, id := range removed {
		f := gone[id]
		if a := l.authors[f.author]; a != nil {
			a.traces--
			a.quality -= f.quality
			if a.traces == 0 {
				delete(l.authors, f.author)
			}
		}
	}
	// Upheld disputes: the traces whose tombstones appeared. Their author
	// is known when the trace was in the old tree; otherwise (added and
	// removed in between) it is found where the trace was introduced.
	tombs, err := s.RemovalChanges(from, head)
	if err != nil {
		return err
	}
	var unknown []schema.ID
	dirty := map[group]bool{}
	newlyRemoved := map[schema.ID]bool{}
	for _, id := range tombs {
		newlyRemoved[id] = true
		if f, ok := gone[id]; ok {
			l.removed[id] = f.author
		} else {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		intro, err := s.IntroducedContext(ctx, unknown)
		if err != nil {
			return err
		}
		for _, id := range unknown {
			l.removed[id] = ""
			if c, ok := intro[id]; ok {
				if f, err := readFacts(ctx, s, c.Hash, []schema.ID{id}); err == nil {
					l.removed[id] = f[id].author
				}
			}
		}
	}
	// Outcomes, with the author of their trace.
	oAdded, oRemoved, err := s.OutcomeChanges(from, head)
	if err != nil {
		return err
	}
	for _, k := range oRemoved {
		if o, ok := l.outcomes[k]; ok {
			dirty[l.groupOf(k, o)] = true
		}
		delete(l.outcomes, k)
	}
	// A trace an outcome is about is on main unless it was removed (the
	// validator saw it in the outcome's parent, and a trace leaves only by
	// a removal).
	var need []schema.ID
	for _, o := range oAdded {
		_, added := now[o.Trace]
		_, removed := l.removed[o.Trace]
		if !added && !removed {
			need = append(need, o.Trace)
		}
	}
	sort.Slice(need, func(i, j int) bool { return need[i] < need[j] })
	more, err := readFacts(ctx, s, head, uniq(need))
	if err != nil {
		return err
	}
	for _, o := range oAdded {
		f, ok := now[o.Trace]
		if !ok {
			f = more[o.Trace]
		}
		k := registry.OutcomeKey{Trace: o.Trace, Reporter: o.InstanceID}
		l.outcomes[k] = outcomeFact{success: o.Success(), author: f.author}
		dirty[l.groupOf(k, l.outcomes[k])] = true
	}
	for k, o := range l.outcomes {
		if newlyRemoved[k.Trace] || from.IsZero() {
			dirty[l.groupOf(k, o)] = true
		}
	}
	l.commit = head
	return l.recluster(ctx, s, dirty)
}

// recluster names the near-duplicate classes of the traces of each dirty
// group (similar.go); the others keep theirs, which depend on nothing but
// their own traces.
func (l *ledger) recluster(ctx context.Context, s *registry.Store, dirty map[group]bool) error {
	if len(dirty) == 0 {
		return nil
	}
	members := map[group][]registry.OutcomeKey{}
	for k, o := range l.outcomes {
		if g := l.groupOf(k, o); dirty[g] {
			if l.counts(k, o) {
				members[g] = append(members[g], k)
			} else {
				o.cluster = ""
				l.outcomes[k] = o
			}
		}
	}
	var need []schema.ID
	for _, ks := range members {
		if len(ks) > 1 {
			for _, k := range ks {
				need = append(need, k.Trace)
			}
		}
	}
	sort.Slice(need, func(i, j int) bool { return need[i] < need[j] })
	words := map[schema.ID]Words{}
	if err := readWords(ctx, s, l.commit, uniq(need), words); err != nil {
		return err
	}
	for _, ks := range members {
		ids := make([]schema.ID, len(ks))
		for i, k := range ks {
			ids[i] = k.Trace
		}
		classes := map[schema.ID]schema.ID{ids[0]: ids[0]}
		if len(ids) > 1 {
			classes = cluster(ids, words)
		}
		for _, k := range ks {
			o := l.outcomes[k]
			o.cluster = classes[k.Trace]
			l.outcomes[k] = o
		}
	}
	return nil
}

func uniq(ids []schema.ID) []schema.ID {
	out := ids[:0]
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			out = append(out, id)
		}
	}
	return out
}

// The file: magic, the commit, the authors, the removed traces, the
// outcomes, then the table computed from them as JSON, then the SHA-256 of
// all that.
const ledgerMagic = "hive trust ledger 2\n"

func ledgerFile(s *registry.Store) string {
	if s.GitDir() == "" {
		return ""
	}
	return filepath.Join(s.GitDir(), "hive", "trust", "ledger")
}

func (l *ledger) marshal(table []byte) []byte {
	var b bytes.Buffer
	b.WriteString(ledgerMagic)
	b.Write(l.commit[:])
	str := func(s string) { putUint(&b, uint64(len(s))); b.WriteString(s) }
	names := make([]string, 0, len(l.authors))
	for n := range l.authors {
		names = append(names, n)
	}
	sort.Strings(names)
	putUint(&b, uint64(len(names)))
	for _, n := range names {
		str(n)
		putUint(&b, uint64(l.authors[n].traces))
		putUint(&b, uint64(l.authors[n].quality))
	}
	ids := make([]schema.ID, 0, len(l.removed))
	for id := range l.removed {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	putUint(&b, uint64(len(ids)))
	for _, id := range ids {
		str(string(id))
		str(l.removed[id])
	}
	keys := make([]registry.OutcomeKey, 0, len(l.outcomes))
	for k := range l.outcomes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Trace != keys[j].Trace {
			return keys[i].Trace < keys[j].Trace
		}
		return keys[i].Reporter < keys[j].Reporter
	})
	putUint(&b, uint64(len(keys)))
	for _, k := range keys {
		o := l.outcomes[k]
		str(string(k.Trace))
		str(k.Reporter)
		str(o.author)
		str(string(o.cluster))
		if o.success {
			b.WriteByte(1)
		} else {
			b.WriteByte(0)
		}
	}
	str(string(table))
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

var errLedger = errors.New("damaged trust ledger")

// unmarshalLedger reads a ledger file; any damage is errLedger.
func unmarshalLedger(data []byte) (l *ledger, table []byte, err error) {
	if len(data) < len(ledgerMagic)+20+sha256.Size || string(data[:len(ledgerMagic)]) != ledgerMagic {
		return nil, nil, errLedger
	}
	body := data[:len(data)-sha256.Size]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(body):]) {
		return nil, nil, errLedger
	}
	r := &reader{b: body[len(ledgerMagic):]}
	l = newLedger()
	copy(l.commit[:], r.bytes(20))
	for n := r.count(); n > 0 && r.err == nil; n-- {
		name := r.string()
		l.authors[name] = &authorSum{traces: int(r.uint()), quality: int64(r.uint())}
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		id := schema.ID(r.string())
		l.removed[id] = r.string()
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		k := registry.OutcomeKey{Trace: schema.ID(r.string()), Reporter: r.string()}
		author := r.string()
		cluster := schema.ID(r.string())
		ok := r.bytes(1)
		if r.err == nil {
			l.outcomes[k] = outcomeFact{success: ok[0] == 1, author: author, cluster: cluster}
		}
	}
	table = []byte(r.string())
	if r.err != nil || len(r.b) != 0 {
		return nil, nil, errLedger
	}
	return l, table, nil
}

func putUint(b *bytes.Buffer, v uint64) { b.Write(binary.AppendUvarint(nil, v)) }

// reader reads what marshal wrote; the first fault sticks in err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errLedger
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) count() int {
	v := r.uint()
	if v > uint64(len(r.b)) { // every item takes at least a byte
		r.err = errLedger
		return 0
	}
	return int(v)
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = errLedger
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) string() string { return string(r.bytes(r.count())) }

// cachedTable is the table as the ledger file keeps it.
type cachedTable struct {
	Instances []Standing    `json:"instances"`
	Skills    []cachedSkill `json:"skills"`
}

type cachedSkill struct {
	ID schema.ID `json:"id"`
	SkillStanding
}

func (t *Table) marshalCache() ([]byte, error) {
	c := cachedTable{Instances: t.All()}
	for _, id := range t.skillIDs() {
		c.Skills = append(c.Skills, cachedSkill{ID: id, SkillStanding: *t.skills[id]})
	}
	return json.Marshal(c)
}

func unmarshalTable(b []byte) (*Table, error) {
	var c cachedTable
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	t := &Table{instances: map[string]*Standing{}, skills: map[schema.ID]*SkillStanding{}}
	for i := range c.Instances {
		t.instances[c.Instances[i].Instance] = &c.Instances[i]
	}
	for i := range c.Skills {
		sk := c.Skills[i].SkillStanding
		sk.Trace = c.Skills[i].ID
		t.skills[sk.Trace] = &sk
	}
	return t, nil
}

func (t *Table) skillIDs() []schema.ID {
	ids := make([]schema.ID, 0, len(t.skills))
	for id := range t.skills {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// fileLocks serialises the processes' readers and writers of one ledger
// file within this process (the server's readers); across processes the
// file is replaced by rename, so a reader sees a whole file.
var fileLocks sync.Map

// Reputation returns the table of s's main: from the ledger file when it
// is of main; else with the ledger brought up to date from the diff of its
// commit and main, or rebuilt from main; the file is written back when the
// hive's folder is writable.
func Reputation(s *registry.Store) (*Table, error) {
	return ReputationContext(context.Background(), s)
}

// ReputationContext is Reputation that stops when ctx ends, with ctx's
// error.
func ReputationContext(ctx context.Context, s *registry.Store) (*Table, error) {
	head, err := s.Head()
	if err != nil {
		return nil, err
	}
	path := ledgerFile(s)
	if path != "" {
		mu, _ := fileLocks.LoadOrStore(path, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
	}
	l := newLedger()
	if path != "" {
		if data, err := os.ReadFile(path); err == nil {
			if old, tb, err := unmarshalLedger(data); err == nil {
				if old.commit == head {
					if t, err := unmarshalTable(tb); err == nil {
						t.commit = head
						return t, nil
					}
				}
				if ok, err := s.IsAncestor(old.commit, head); err == nil && ok {
					l = old
				}
			}
		}
	}
	if err := l.update(ctx, s, head); err != nil {
		if l.commit.IsZero() || ctx.Err() != nil {
			return nil, err
		}
		// A ledger that cannot be brought up to date is rebuilt.
		if l = newLedger(); l.update(ctx, s, head) != nil {
			return nil, err
		}
	}
	t, err := l.table(s)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if tb, err := t.marshalCache(); err == nil {
			_ = registry.WriteFileAtomic(path, l.marshal(tb))
		}
	}
	return t, nil
}

// table computes the table of the ledger's commit: its evidence, with the
// near-duplicate clusters of the outcomes' traces.
func (l *ledger) table(s *registry.Store) (*Table, error) {
	cfg, err := s.ConfigAt(l.commit)
	if err != nil {
		return nil, err
	}
	ev := Evidence{Claims: map[string]Claims{}, Upheld: map[string]int{}, Maintainers: cfg.Maintainers, Revoked: cfg.Revoked}
	for a, sum := range l.authors {
		if sum.traces > 0 {
			ev.Claims[a] = Claims{Traces: sum.traces, Quality: float64(sum.quality) / qualityUnit / float64(sum.traces)}
		}
	}
	for _, a := range l.removed {
		if a != "" {
			ev.Upheld[a]++
		}
	}
	for k, o := range l.outcomes {
		if !l.counts(k, o) {
			continue // a removed trace counts through its upheld dispute
		}
		ev.Reports = append(ev.Reports, Report{Trace: k.Trace, Author: o.author, Reporter: k.Reporter, Success: o.success, Cluster: o.cluster})
	}
	t := Compute(ev)
	t.commit = l.commit
	return t, nil
}

// Tables returns the table of each of commits, in order, moving one
// ledger forward from each commit to the next, as along main's history
// (reputation over time, for the web pages); a commit that does not
// descend from the one before is computed afresh. The ledger file is
// neither read nor written.
func Tables(s *registry.Store, commits []plumbing.Hash) ([]*Table, error) {
	l := newLedger()
	out := make([]*Table, 0, len(commits))
	for _, c := range commits {
		if !l.commit.IsZero() {
			if ok, err := s.IsAncestor(l.commit, c); err != nil || !ok {
				l = newLedger()
			}
		}
		if err := l.update(context.Background(), s, c); err != nil {
			return nil, err
		}
		t, err := l.table(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Point is the table of one commit of main's history.
type Point struct {
	Commit plumbing.Hash
	At     int // its place in the first-parent history: 1 for the root
	Table  *Table
}

// Series returns the tables of up to n commits of the first-parent
// history of head (a commit of main), evenly spread from the root to head
// (head always last), and the length of that history: reputation over
// time. One ledger moves forward from each to the next.
func Series(ctx context.Context, s *registry.Store, head plumbing.Hash, n int) ([]Point, int, error) {
	chain, err := s.FirstParents(ctx, head)
	if err != nil {
		return nil, 0, err
	}
	var at []plumbing.Hash
	var pos []int
	for k := 1; k <= n && k <= len(chain); k++ {
		i := (k*len(chain))/min(n, len(chain)) - 1
		at, pos = append(at, chain[i]), append(pos, i+1)
	}
	tables, err := Tables(s, at)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Point, len(at))
	for i, c := range at {
		out[i] = Point{Commit: c, At: pos[i], Table: tables[i]}
	}
	return out, len(chain), nil
}
