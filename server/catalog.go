package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hive-dev/hive/lineage"
	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
	"github.com/hive-dev/hive/trust"
)

// catalog is what the web pages show of one commit of main, derived once
// per commit and shared by every page, so that a page reads a few maps
// instead of a 100k-skill history: the skills in the order main's history
// added them (newest first), their lineage, the instances, the disputes,
// and (on first use) the reputations and their history.
type catalog struct {
	head       plumbing.Hash
	cfg        *registry.Config
	skills     []*skillInfo            // newest first
	byInstance map[string][]*skillInfo // each instance's skills, newest first
	// What the list pages filter on, by position in skills: the skill's
	// instance (an index into instNames) and its confidence; and each
	// skill's position.
	inst      []int32
	conf      []float64
	instNames []string
	instIndex map[string]int32
	pos       map[schema.ID]int
	byID      map[schema.ID]*skillInfo
	children  map[schema.ID][]schema.ID
	removed   map[schema.ID]*removedInfo // traces removed by resolved disputes
	commits   map[plumbing.Hash]bool     // every commit of main's history
	instances []registry.Instance        // with Traces counted here
	pems      map[string]string          // each instance's registered key, PEM
	disputes  []registry.DisputeStatus
	about     map[schema.ID][]int // trace -> its disputes (indexes into disputes)
	workflow  bool                // main holds registry.WorkflowPath
	nextSeq   int                 // the Seq of the next skill added

	tableOnce sync.Once
	tab       *trust.Table
	tabErr    error

	repOnce sync.Once
	rep     *reputation
	repErr  error
}

// skillInfo is one skill on main as the pages list it.
type skillInfo struct {
	ID           schema.ID
	Intent       string
	Instance     string
	Confidence   float64
	Verification float64
	CreatedAt    string
	Lineage      []schema.ID
	Commit       plumbing.Hash // the commit that added it
	Seq          int           // its place in history: 0 is the first skill added
}

// removedInfo is a trace a resolved dispute removed.
type removedInfo struct {
	Commit    plumbing.Hash // the commit that added it
	RemovedIn plumbing.Hash
}

// reputation is every instance's standing now and at points of history.
type reputation struct {
	table  *trust.Table
	events int // commits of the first-parent history: the chart's x axis
	series map[string][]repPoint
}

// repPoint is an instance's reputation at the At-th commit of the
// first-parent history.
type repPoint struct {
	At    int
	Value float64
}

// traceFields is the part of a trace file the catalog keeps. The files
// were verified when they entered main, and TraceFiles checks each against
// its id; a skill's page re-reads its trace through the strict parser.
type traceFields struct {
	Intent            string      `json:"intent"`
	InstanceID        string      `json:"instance_id"`
	Confidence        float64     `json:"confidence"`
	VerificationScore float64     `json:"verification_score"`
	CreatedAt         string      `json:"created_at"`
	Lineage           []schema.ID `json:"lineage"`
}

// buildCatalog derives the catalog of main from scratch, or, given the
// catalog of one of main's ancestors, from it and what was added since.
func buildCatalog(st *registry.Store, prev *catalog) (*catalog, error) {
	head, err := st.Head()
	if err != nil {
		return nil, err
	}
	if prev != nil && prev.head == head {
		return prev, nil
	}
	c := &catalog{head: head, byID: map[schema.ID]*skillInfo{}, children: map[schema.ID][]schema.ID{},
		removed: map[schema.ID]*removedInfo{}, commits: map[plumbing.Hash]bool{}, about: map[schema.ID][]int{}}
	if c.cfg, err = st.Config(); err != nil {
		return nil, err
	}
	hist, prev, err := c.history(st, prev)
	if err != nil {
		return nil, err
	}
	if err := c.addSkills(st, prev, hist); err != nil {
		return nil, err
	}
	keys, err := st.Keys()
	if err != nil {
		return nil, err
	}
	c.pems = map[string]string{}
	for _, k := range keys {
		pem, err := st.File(registry.KeyPath(k.ID), signing.MaxPublicKeySize)
		if err != nil {
			return nil, err
		}
		c.pems[k.ID] = string(pem)
		k.Traces = len(c.byInstance[k.ID])
		c.instances = append(c.instances, k)
	}
	if c.disputes, err = st.Disputes(); err != nil {
		return nil, err
	}
	for i, d := range c.disputes {
		c.about[d.Dispute.Trace] = append(c.about[d.Dispute.Trace], i)
	}
	if _, err := st.File(registry.WorkflowPath, registry.MaxWorkflowSize); err == nil {
		c.workflow = true
	} else if !errors.Is(err, registry.ErrNotFound) {
		return nil, err
	}
	return c, nil
}

// history returns the commits of main that prev does not hold, parents
// first, with the traces each adds and removes. Without a prev on main's
// history (or with none) it is the whole history, and prev is nil on return.
func (c *catalog) history(st *registry.Store, prev *catalog) ([]registry.HistoryCommit, *catalog, error) {
	if prev != nil {
		if ok, err := st.IsAncestor(prev.head, c.head); err != nil || !ok {
			prev = nil
		}
	}
	if prev == nil {
		hist, err := st.History()
		for _, h := range hist {
			c.commits[h.Hash] = true
		}
		return hist, nil, err
	}
	for h := range prev.commits {
		c.commits[h] = true
	}
	// The new commits: a walk back from main that stops at prev's commits
	// (every ancestor of prev.head is one).
	byHash := map[plumbing.Hash]*object.Commit{}
	stack := []plumbing.Hash{c.head}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if byHash[h] != nil || c.commits[h] {
			continue
		}
		cm, err := st.Commit(h)
		if err != nil {
			return nil, nil, fmt.Errorf("commit %s: %w", h, err)
		}
		byHash[h] = cm
		stack = append(stack, cm.ParentHashes...)
	}
	// Parents first (Kahn's order; ties by hash, as registry.History).
	pending := map[plumbing.Hash]int{}
	kids := map[plumbing.Hash][]plumbing.Hash{}
	var ready []plumbing.Hash
	for h, cm := range byHash {
		for _, p := range cm.ParentHashes {
			if byHash[p] != nil {
				pending[h]++
				kids[p] = append(kids[p], h)
			}
		}
		if pending[h] == 0 {
			ready = append(ready, h)
		}
	}
	var hist []registry.HistoryCommit
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return ready[i].String() < ready[j].String() })
		h := ready[0]
		ready = ready[1:]
		cm := byHash[h]
		c.commits[h] = true
		hc := registry.HistoryCommit{Hash: h, Parents: cm.ParentHashes}
		if len(cm.ParentHashes) == 1 { // a merge adds nothing of its own
			added, removed, err := st.Changes(cm.ParentHashes[0], h)
			if err != nil {
				return nil, nil, err
			}
			hc.Added, hc.Removed = added, removed
		}
		hist = append(hist, hc)
		for _, k := range kids[h] {
			if pending[k]--; pending[k] == 0 {
				ready = append(ready, k)
			}
		}
	}
	return hist, prev, nil
}

// addSkills fills the skills: prev's still on main, plus those the new
// history adds, read from main.
func (c *catalog) addSkills(st *registry.Store, prev *catalog, hist []registry.HistoryCommit) error {
	addedIn := map[schema.ID]plumbing.Hash{}
	seq := map[schema.ID]int{}
	if prev != nil {
		c.nextSeq = prev.nextSeq
		for id, r := range prev.removed {
			c.removed[id] = r
		}
	}
	for _, h := range hist {
		for _, id := range h.Added {
			if _, ok := addedIn[id]; !ok {
				addedIn[id] = h.Hash
				seq[id] = c.nextSeq
				c.nextSeq++
			}
		}
	}
	ids, err := st.TraceIDs()
	if err != nil {
		return err
	}
	var read []schema.ID
	for _, id := range ids {
		if prev != nil && prev.byID[id] != nil {
			c.byID[id] = prev.byID[id]
		} else {
			read = append(read, id)
		}
	}
	infos := make([]*skillInfo, len(read))
	err = st.TraceFiles(c.head, read, func(i int, data []byte) error {
		var t traceFields
		if err := json.Unmarshal(data, &t); err != nil {
			return fmt.Errorf("trace %s: %w", read[i], err)
		}
		infos[i] = &skillInfo{ID: read[i], Intent: t.Intent, Instance: t.InstanceID, Confidence: t.Confidence,
			Verification: t.VerificationScore, CreatedAt: t.CreatedAt, Lineage: t.Lineage, Commit: addedIn[read[i]], Seq: seq[read[i]]}
		return nil
	})
	if err != nil {
		return err
	}
	for _, sk := range infos {
		c.byID[sk.ID] = sk
	}
	for _, h := range hist {
		for _, id := range h.Removed {
			r := &removedInfo{Commit: addedIn[id], RemovedIn: h.Hash}
			if sk := prev.skill(id); r.Commit.IsZero() && sk != nil {
				r.Commit = sk.Commit
			}
			c.removed[id] = r
		}
	}
	c.skills = make([]*skillInfo, 0, len(c.byID))
	for _, sk := range c.byID {
		c.skills = append(c.skills, sk)
		for _, p := range sk.Lineage {
			c.children[p] = append(c.children[p], sk.ID)
		}
	}
	sort.Slice(c.skills, func(i, j int) bool {
		if c.skills[i].Seq != c.skills[j].Seq {
			return c.skills[i].Seq > c.skills[j].Seq
		}
		return c.skills[i].ID < c.skills[j].ID
	})
	for _, kids := range c.children {
		sort.Slice(kids, func(i, j int) bool { return kids[i] < kids[j] })
	}
	c.byInstance = map[string][]*skillInfo{}
	c.inst, c.conf = make([]int32, len(c.skills)), make([]float64, len(c.skills))
	c.instIndex, c.pos = map[string]int32{}, make(map[schema.ID]int, len(c.skills))
	for p, sk := range c.skills {
		c.byInstance[sk.Instance] = append(c.byInstance[sk.Instance], sk)
		k, ok := c.instIndex[sk.Instance]
		if !ok {
			k = int32(len(c.instNames))
			c.instIndex[sk.Instance] = k
			c.instNames = append(c.instNames, sk.Instance)
		}
		c.inst[p], c.conf[p], c.pos[sk.ID] = k, sk.Confidence, p
	}
	return nil
}

// skill returns a skill of the catalog, or nil (also for a nil catalog).
func (c *catalog) skill(id schema.ID) *skillInfo {
	if c == nil {
		return nil
	}
	return c.byID[id]
}

// Node gives the lineage graph a skill of the catalog, or a removed one.
func (c *catalog) Node(id schema.ID) (lineage.Node, error) {
	if sk, ok := c.byID[id]; ok {
		return lineage.Node{ID: id, Parents: sk.Lineage, Instance: sk.Instance, Intent: sk.Intent, Commit: sk.Commit.String()}, nil
	}
	if r, ok := c.removed[id]; ok {
		return lineage.Node{ID: id, Missing: true, Commit: r.Commit.String(), RemovedIn: r.RemovedIn.String()}, nil
	}
	return lineage.Node{}, fmt.Errorf("%s: %w", id, lineage.ErrNotFound)
}

// Children gives the lineage graph the skills derived from id.
func (c *catalog) Children(id schema.ID) ([]schema.ID, error) { return c.children[id], nil }

// table returns, once per catalog, the reputation table of its commit:
// trust's, kept per main and brought forward by the new commits alone, so
// the pages that show standing do not wait for a walk of the history.
// Should main have moved past the catalog meanwhile, it is the last table
// of the catalog's own reputation history.
func (c *catalog) table(st *registry.Store) (*trust.Table, error) {
	c.tableOnce.Do(func() {
		if t, err := trust.Reputation(st); err == nil && t.Commit() == c.head {
			c.tab = t
			return
		}
		rep, err := c.reputation(st)
		if err != nil {
			c.tabErr = err
			return
		}
		c.tab = rep.table
	})
	return c.tab, c.tabErr
}

// reputation computes, once per catalog, every instance's reputation and
// its history, through package trust: the table of the catalog's commit,
// and the tables at up to repPoints commits of its first-parent history.
func (c *catalog) reputation(st *registry.Store) (*reputation, error) {
	c.repOnce.Do(func() {
		const repPoints = 48
		pts, n, err := trust.Series(context.Background(), st, c.head, repPoints)
		if err != nil {
			c.repErr = err
			return
		}
		r := &reputation{table: pts[len(pts)-1].Table, events: n, series: map[string][]repPoint{}}
		last := map[string]float64{}
		for k, p := range pts {
			for _, in := range c.instances {
				v := p.Table.Of(in.ID).Reputation
				if line := r.series[in.ID]; k > 0 && k < len(pts)-1 && len(line) > 0 && last[in.ID] == v {
					continue // unchanged: the line carries on
				}
				last[in.ID] = v
				r.series[in.ID] = append(r.series[in.ID], repPoint{At: p.At, Value: v})
			}
		}
		c.rep = r
	})
	return c.rep, c.repErr
}

// catalogFor returns the catalog of main, building it (from the previous
// one where main only grew) when main has moved.
func (s *Server) catalogFor(st *registry.Store) (*catalog, error) {
	head, err := st.Head()
	if err != nil {
		return nil, err
	}
	s.catMu.Lock()
	defer s.catMu.Unlock()
	if s.cat != nil && s.cat.head == head {
		return s.cat, nil
	}
	c, err := buildCatalog(st, s.cat)
	if err != nil {
		return nil, err
	}
	s.cat = c
	go s.warmReputation(c)
	return c, nil
}

// warmReputation computes a new catalog's reputations in the background,
// so that the first page that shows them does not wait for them.
func (s *Server) warmReputation(c *catalog) {
	st, done, err := s.reader()
	if err != nil {
		return
	}
	defer done()
	if head, err := st.Head(); err != nil || head != c.head {
		return // main moved on: the next catalog will warm its own
	}
	_, err = c.table(st)
	if err == nil {
		_, err = c.reputation(st)
	}
	if err != nil {
		s.opts.Log.Warn("web reputation", "err", err)
	}
}
