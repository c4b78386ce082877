package registry

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hive-dev/hive/gitfmt"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// Limits bound the validator's work on one range.
type Limits struct {
	MaxCommits    int // commits in one range
	MaxTraces     int // traces added in one range
	MaxViolations int // violations listed; the rest are counted
}

// DefaultLimits suit a hive of millions of traces.
var DefaultLimits = Limits{MaxCommits: 5_000_000, MaxTraces: 5_000_000, MaxViolations: 1000}

// maxCommitSize bounds a commit object.
const maxCommitSize = 1 << 20

// VerifyOptions says which range to verify.
type VerifyOptions struct {
	// Base is the commit the range starts from (exclusive); zero verifies
	// the whole history from its root.
	Base plumbing.Hash
	// Known are commits the caller has verified already (a pull passes its
	// local main): the walk stops at them without requiring that head
	// descends from them.
	Known []plumbing.Hash
	// Full ignores the record of verified tips.
	Full bool
	// Progress, if set, is called as commits are checked.
	Progress func(done, total int)
	// Heads are more heads verified with head in the same walk: the
	// commits any of them adds are checked once (a push of many refs).
	Heads []plumbing.Hash
	// gate, if set, checks the walked range once its rules pass (CheckUpdates).
	gate func(v *validator, commits []*commitNode)
}

// Report is what a verification checked and found.
type Report struct {
	Head       plumbing.Hash
	Base       plumbing.Hash
	Commits    int  // commits checked
	Traces     int  // traces checked
	Keys       int  // keys checked
	Cached     bool // head was already recorded as verified
	Violations Violations
	Omitted    int // violations beyond Limits.MaxViolations, counted only
}

// Err returns the violations as an error, or nil for a valid range.
func (r *Report) Err() error {
	if len(r.Violations) == 0 {
		return nil
	}
	return r.Violations
}

// Verify checks the commits reachable from head and not from opts.Base (or
// from any tip recorded as verified, unless opts.Full). It returns an error
// only when it could not do its job; broken rules are in the report.
func (s *Store) Verify(head plumbing.Hash, opts VerifyOptions) (*Report, error) {
	return s.VerifyContext(context.Background(), head, opts)
}

// VerifyContext is Verify that stops when ctx ends, with ctx's error and
// no report.
func (s *Store) VerifyContext(ctx context.Context, head plumbing.Hash, opts VerifyOptions) (*Report, error) {
	r := &Report{Head: head, Base: opts.Base}
	tips, err := s.verifiedTips()
	if err != nil {
		return nil, err
	}
	// A clean result is recorded only when it covers the whole history:
	// from the root, or from a base that is itself on record.
	recordable := opts.Base.IsZero() || slices.Contains(tips, opts.Base)
	for _, k := range opts.Known {
		recordable = recordable && slices.Contains(tips, k)
	}
	stops := append([]plumbing.Hash(nil), opts.Known...)
	if !opts.Full && opts.gate == nil && len(opts.Heads) == 0 {
		// A recorded head answers at once, but a range still proves that
		// head descends from base (the walk below does it cheaply).
		if opts.Base.IsZero() && slices.Contains(tips, head) {
			r.Cached = true
			return r, nil
		}
	}
	if !opts.Full {
		stops = append(stops, tips...)
	}
	v := &validator{s: s, ctx: ctx, report: r, limits: s.limits, commits: map[plumbing.Hash]*object.Commit{}, fsck: true, heads: opts.Heads}
	commits, ok := v.walk(head, opts.Base, stops)
	if ok {
		v.check(commits, opts.Progress)
		if opts.gate != nil {
			opts.gate(v, commits)
		}
	}
	if err := v.stopped(); err != nil {
		return nil, fmt.Errorf("verify %s: %w", short(head), err)
	}
	sort.SliceStable(r.Violations, func(i, j int) bool {
		a, b := r.Violations[i], r.Violations[j]
		if a.Commit != b.Commit {
			return v.order[a.Commit] < v.order[b.Commit]
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Rule < b.Rule
	})
	if n := s.limits.MaxViolations; len(r.Violations) > n {
		r.Omitted = len(r.Violations) - n
		r.Violations = r.Violations[:n]
	}
	if len(r.Violations) == 0 && recordable {
		if err := s.recordVerified(head); err != nil {
			return r, err
		}
	}
	return r, nil
}

// validator is the state of one verification.
type validator struct {
	s      *Store
	ctx    context.Context // nil: never stops
	report *Report
	limits Limits
	order  map[plumbing.Hash]int
	mu     sync.Mutex
	// commits read by this verification, so that a parent the walk read is
	// not read again when its child is checked. Used on one goroutine.
	commits map[plumbing.Hash]*object.Commit
	heads   []plumbing.Hash // more heads for the walk, beside its head
	// newestFirst says check walks the range newest first (see
	// Store.newestFirst).
	newestFirst bool
	// frontier is, by shard, the version the walk read last (prefetch).
	frontier map[string]*tree
	// fsck refuses commits that git fsck refuses (trees are checked as
	// they are parsed).
	fsck bool
}

// stopped is the error of the validator's context once it has ended.
func (v *validator) stopped() error {
	if v.ctx == nil {
		return nil
	}
	return v.ctx.Err()
}

func (v *validator) add(vs ...Violation) {
	v.mu.Lock()
	v.report.Violations = append(v.report.Violations, vs...)
	v.mu.Unlock()
}

// commitNode is a commit in the walk.
type commitNode struct {
	hash    plumbing.Hash
	c       *object.Commit
	flags   uint8
	queued  bool
	checked bool
}

const (
	fromHead = 1 // reachable from head
	fromBase = 2 // reachable from base or a verified tip: not checked
)

type nodeHeap []*commitNode

func (h nodeHeap) Len() int { return len(h) }
func (h nodeHeap) Less(i, j int) bool {
	return h[i].c.Committer.When.After(h[j].c.Committer.When)
}
func (h nodeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *nodeHeap) Push(x any)   { *h = append(*h, x.(*commitNode)) }
func (h *nodeHeap) Pop() any     { old := *h; n := old[len(old)-1]; *h = old[:len(old)-1]; return n }
func (h nodeHeap) allFromBase() bool {
	for _, n := range h {
		if n.flags&fromBase == 0 {
			return false
		}
	}
	return true
}

func (v *validator) readCommit(h plumbing.Hash) (*object.Commit, error) {
	if c, ok := v.commits[h]; ok {
		return c, nil
	}
	b, err := v.s.objs.read(plumbing.CommitObject, h, maxCommitSize)
	if err != nil {
		return nil, err
	}
	if v.fsck {
		if err := gitfmt.FsckCommit(b); err != nil {
			return nil, err
		}
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(plumbing.CommitObject)
	obj.Write(b)
	c := &object.Commit{}
	if err := c.Decode(obj); err != nil {
		return nil, err
	}
	c.Hash = h
	if v.commits != nil {
		v.commits[h] = c
	}
	return c, nil
}

// walk finds the commits reachable from head but not from base or stops,
// walking both sides newest first as git does. A commit is left unchecked
// only when it is proven reachable from base or a stop; clock skew can only
// make the walk check more. It returns the commits parents first.
func (v *validator) walk(head, base plumbing.Hash, stops []plumbing.Hash) ([]*commitNode, bool) {
	nodes := map[plumbing.Hash]*commitNode{}
	var q nodeHeap
	get := func(h plumbing.Hash) *commitNode {
		if n, ok := nodes[h]; ok {
			return n
		}
		n := &commitNode{hash: h}
		nodes[h] = n
		return n
	}
	push := func(n *commitNode, flag uint8, child plumbing.Hash) bool {
		n.flags |= flag
		if n.c == nil {
			c, err := v.readCommit(n.hash)
			if err != nil {
				at := child
				if at.IsZero() {
					at = n.hash
				}
				v.add(violationf(at, "", RuleObjectInvalid, "commit %s: %v", n.hash, err))
				return false
			}
			n.c = c
		}
		if !n.queued {
			n.queued = true
			heap.Push(&q, n)
		}
		return true
	}
	for _, h := range append([]plumbing.Hash{head}, v.heads...) {
		if !push(get(h), fromHead, plumbing.ZeroHash) {
			return nil, false
		}
	}
	var baseNode *commitNode
	if !base.IsZero() {
		baseNode = get(base)
		if !push(baseNode, fromBase, plumbing.ZeroHash) {
			return nil, false
		}
	}
	for _, t := range stops {
		if _, err := v.readCommit(t); err == nil { // a stale record entry is ignored
			push(get(t), fromBase, plumbing.ZeroHash)
		}
	}
	var interesting []*commitNode
	// Walk on until the queue holds only proven commits and, when a base is
	// given, head is known to descend from it: a verified tip between the
	// two must not stop the walk before it reaches base.
	for q.Len() > 0 && !(q.allFromBase() && (baseNode == nil || baseNode.flags&fromHead != 0)) {
		if v.stopped() != nil {
			return nil, false
		}
		n := heap.Pop(&q).(*commitNode)
		n.queued = false
		if n.flags&fromBase == 0 {
			interesting = append(interesting, n)
			if len(interesting) > v.limits.MaxCommits {
				v.add(violationf(head, "", RuleLimit, "more than %d commits in the range", v.limits.MaxCommits))
				return nil, false
			}
		}
		for _, p := range n.c.ParentHashes {
			pn := get(p)
			flag := n.flags
			if pn.flags&flag == flag && pn.c != nil {
				continue
			}
			if !push(pn, flag, n.hash) {
				return nil, false
			}
		}
	}
	if baseNode != nil && baseNode.flags&fromHead == 0 && base != head {
		v.add(violationf(head, "", RuleHistoryRewritten, "head %s does not descend from base %s: history was rewritten or dropped", short(head), short(base)))
		return nil, false
	}
	// Keep the commits still unproven, parents first (Kahn's algorithm).
	var keep []*commitNode
	in := map[plumbing.Hash]*commitNode{}
	for _, n := range interesting {
		if n.flags&fromBase == 0 {
			keep = append(keep, n)
			in[n.hash] = n
		}
	}
	children := map[plumbing.Hash][]*commitNode{}
	pending := map[plumbing.Hash]int{}
	for _, n := range keep {
		for _, p := range n.c.ParentHashes {
			if _, ok := in[p]; ok {
				children[p] = append(children[p], n)
				pending[n.hash]++
			}
		}
	}
	var ready, out []*commitNode
	for i := len(keep) - 1; i >= 0; i-- { // oldest first among the ready
		if pending[keep[i].hash] == 0 {
			ready = append(ready, keep[i])
		}
	}
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		for _, c := range children[n.hash] {
			if pending[c.hash]--; pending[c.hash] == 0 {
				ready = append(ready, c)
			}
		}
	}
	v.order = make(map[plumbing.Hash]int, len(out))
	for i, n := range out {
		v.order[n.hash] = i
	}
	return out, true
}

// change is one file that differs between two trees.
type change struct {
	path     string
	old, new *entry
}

// diff lists the files that differ between trees a and b (either may be
// zero), reading only subtrees whose hashes differ. back says the caller
// walks history newest first: b's trees were read before a's (a, the
// older, was read before b when not) and are dropped from the cache once
// compared.
func (s *Store) diff(trees *treeCache, a, b plumbing.Hash, back bool, prefix string, out *[]change) error {
	if a == b {
		return nil
	}
	// The side read before is read first and the other parsed against
	// it; that side's use is over once compared.
	first, second := a, b
	if back && !a.IsZero() && !b.IsZero() {
		first, second = b, a
	}
	var t1, t2 *tree
	if !first.IsZero() {
		t, done, err := trees.borrowForDiff(first, nil)
		if err != nil {
			return err
		}
		defer done()
		t1 = t
	}
	if !second.IsZero() {
		t, done, err := trees.borrowForDiff(second, t1)
		if err != nil {
			return err
		}
		defer done()
		t2 = t
	}
	ta, tb := t1, t2
	if first != a {
		ta, tb = t2, t1
	}
	ea, eb := ta.all(), tb.all()
	if t1 != nil && t2 != nil && t2.from == first {
		// Parsed against first: the same entries at both ends.
		ea, eb = ea.trim(t2.same[0], t2.same[1]), eb.trim(t2.same[0], t2.same[1])
	}
	return mergeEntries(ea, eb, func(x, y *entry) error {
		// The changes outlive the trees, whose bytes may be reused.
		var name string
		if x != nil {
			name = strings.Clone(x.name)
			x.name = name
		}
		if y != nil {
			if x == nil {
				name = strings.Clone(y.name)
			}
			y.name = name
		}
		name = prefix + name
		xt, yt := x != nil && x.isTree(), y != nil && y.isTree()
		if !xt && !yt {
			*out = append(*out, change{path: name, old: x, new: y})
			return nil
		}
		var ha, hb plumbing.Hash
		if xt {
			ha = x.hash
		} else if x != nil {
			*out = append(*out, change{path: name, old: x})
		}
		if yt {
			hb = y.hash
		} else if y != nil {
			*out = append(*out, change{path: name, new: y})
		}
		return s.diff(trees, ha, hb, back, name+"/", out)
	})
}

// traceJob is one added trace to check.
type traceJob struct {
	commit     plumbing.Hash
	root       plumbing.Hash // the commit's tree
	parentRoot plumbing.Hash // the tree of the state being extended
	path       string
	trace      plumbing.Hash
	bundle     plumbing.Hash
	newKeys    map[string]plumbing.Hash // keys registered by the same commit
	config     *Config                  // the parent state's policy
}

// check validates each commit in order: tree changes on this goroutine,
// added traces on all cores.
func (v *validator) check(commits []*commitNode, progress func(done, total int)) {
	workers := runtime.GOMAXPROCS(0)
	// The walk runs some commits ahead of the workers: while it diffs the
	// next commit (on one core), they check the traces queued. With a
	// queue of a few jobs the walk waited for them and they for it; with
	// one of many commits, the workers' lookups asked for versions of
	// shard trees the walk had long passed, which the caches no longer
	// held (docs/performance.md).
	jobs := make(chan traceJob, 256)
	var wg sync.WaitGroup
	// A short range (hive add's own commits, a small pull) is checked on one
	// worker that shares the store's caches: opening storages for several
	// workers costs more than the checks.
	small := len(commits) <= 8
	if small {
		workers = 1
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &readerCache{objs: v.s.objs, trees: v.s.trees}
			if !small {
				c = v.s.readerCache()
				defer c.close()
			}
			for j := range jobs {
				if v.stopped() != nil {
					continue // drain: the walk stops too
				}
				if vs := v.s.checkTrace(c, j); len(vs) > 0 {
					v.add(vs...)
				}
			}
		}()
	}
	traces := 0
	v.newestFirst = v.s.newestFirst(commits)
	for i := range commits {
		if v.stopped() != nil {
			break
		}
		n := commits[len(commits)-1-i]
		if !v.newestFirst {
			n = commits[i]
		}
		if progress != nil {
			progress(i, len(commits))
		}
		added := v.checkCommit(n, jobs)
		traces += added
		if traces > v.limits.MaxTraces {
			v.add(violationf(n.hash, "", RuleLimit, "more than %d traces in the range", v.limits.MaxTraces))
			break
		}
	}
	close(jobs)
	wg.Wait()
	if progress != nil {
		progress(len(commits), len(commits))
	}
	v.report.Commits = len(commits)
	v.report.Traces = traces
}

// checkCommit checks one commit's changes and queues its added traces; it
// returns how many traces the commit adds.
func (v *validator) checkCommit(n *commitNode, jobs chan<- traceJob) int {
	c := n.c
	trees := v.s.trees
	switch len(c.ParentHashes) {
	case 0:
		v.checkRoot(c)
		return 0
	case 1:
	case 2:
		v.checkMerge(c)
		return 0
	default:
		v.add(violationf(c.Hash, "", RuleMergeOctopus, "merge of %d parents; hive merges have two", len(c.ParentHashes)))
		return 0
	}
	parent, err := v.readCommit(c.ParentHashes[0])
	if err != nil {
		v.add(violationf(c.Hash, "", RuleObjectInvalid, "parent %s: %v", c.ParentHashes[0], err))
		return 0
	}
	var changes []change
	v.prefetch(parent.TreeHash, c.TreeHash)
	if err := v.s.diff(trees, parent.TreeHash, c.TreeHash, v.newestFirst, "", &changes); err != nil {
		v.add(violationf(c.Hash, "", RuleObjectInvalid, "%v", err))
		return 0
	}
	cfg, err := v.s.configAt(trees, parent.TreeHash)
	if err != nil {
		v.add(violationf(c.Hash, ConfigPath, RuleConfigInvalid, "policy of the parent commit: %v", err))
		return 0
	}
	added := map[string]*entry{}
	deleted := map[string]bool{}
	newKeys := map[string]plumbing.Hash{}
	rotated := map[string]keyChange{}
	var vs []Violation
	configChanged, configBundle := false, false
	outcomes, keyLog := false, false // records of outcomes.go and keylog.go to check
	workflowChanged, workflowBundle := false, false
	for _, ch := range changes {
		kind, ok := classify(ch.path)
		if !ok {
			vs = append(vs, violationf(c.Hash, quotePath(ch.path), RulePathNotAllowed, "path is outside the hive layout"))
			continue
		}
		if ch.new != nil && ch.new.mode != filemode.Regular {
			vs = append(vs, violationf(c.Hash, ch.path, RuleModeNotAllowed, "mode %s; only regular non-executable files (100644) are allowed", ch.new.mode))
			continue
		}
		switch kind {
		case kindOutcome, kindOutcomeBundle:
			outcomes = true
		case kindKey, kindRotation, kindRotationBundle, kindApproval, kindApprovalBundle:
			keyLog = true
		}
		switch {
		case ch.new == nil && (kind == kindTrace || kind == kindBundle || kind == kindOutcome || kind == kindOutcomeBundle):
			deleted[ch.path] = true // only with a maintainer's removal: checkDisputes
		case ch.new == nil:
			vs = append(vs, violationf(c.Hash, ch.path, RulePathDeleted, "deleted; a hive only grows"))
		case kind == kindConfig:
			configChanged = true
		case kind == kindConfigBundle:
			configBundle = true
		case ch.old != nil && kind == kindKey:
			rotated[instanceOf(ch.path)] = keyChange{old: ch.old.hash, new: ch.new.hash} // only with a rotation: checkKeyLog
		case kind == kindWorkflow:
			workflowChanged = true
		case kind == kindWorkflowBundle:
			workflowBundle = true
		case ch.old != nil:
			vs = append(vs, violationf(c.Hash, ch.path, RulePathModified, "changed; traces, bundles and keys are immutable"))
		default:
			added[ch.path] = ch.new
			if kind == kindKey {
				if err := v.s.checkKey(ch.new.hash); err != nil {
					vs = append(vs, violationf(c.Hash, ch.path, keyRule(err), "%v", err))
				} else {
					newKeys[instanceOf(ch.path)] = ch.new.hash
				}
				v.mu.Lock()
				v.report.Keys++
				v.mu.Unlock()
			}
		}
	}
	if configChanged {
		vs = append(vs, v.s.checkConfigChange(c, parent.TreeHash, cfg)...)
	} else if configBundle {
		vs = append(vs, violationf(c.Hash, ConfigBundlePath, RuleConfigBundleAlone, "signature changed without hive.json"))
	}
	if workflowChanged || workflowBundle {
		vs = append(vs, v.s.checkWorkflowChange(c, parent.TreeHash, cfg, workflowChanged)...)
	}
	disputes := len(deleted) > 0
	for p := range added {
		switch kind, _ := classify(p); kind {
		case kindDispute, kindResolution, kindTombstone:
			disputes = true
		case kindDisputeBundle, kindResolutionBundle:
			if _, ok := added[strings.TrimSuffix(p, bundleExt)+traceExt]; !ok {
				vs = append(vs, violationf(c.Hash, p, RuleBundleOrphan, "signature added without its record"))
			}
		}
	}
	if disputes {
		vs = append(vs, v.checkDisputes(c.Hash, parent.TreeHash, c.TreeHash, cfg, added, deleted)...)
	}
	if outcomes {
		vs = append(vs, v.checkOutcomes(c.Hash, parent.TreeHash, cfg, added)...)
	}
	if keyLog {
		vs = append(vs, v.checkKeyLog(c.Hash, parent.TreeHash, cfg, added, newKeys, rotated)...)
	}
	traces := 0
	for p, e := range added {
		switch kind, _ := classify(p); kind {
		case kindTrace:
			bp := p[:len(p)-len(traceExt)] + bundleExt
			b, ok := added[bp]
			if !ok {
				vs = append(vs, violationf(c.Hash, p, RuleBundleMissing, "trace added without %s", bp[len(tracesDir)+4:]))
				continue
			}
			traces++
			jobs <- traceJob{commit: c.Hash, root: c.TreeHash, parentRoot: parent.TreeHash, path: p, trace: e.hash, bundle: b.hash, newKeys: newKeys, config: cfg}
		case kindBundle:
			tp := p[:len(p)-len(bundleExt)] + traceExt
			if _, ok := added[tp]; !ok {
				vs = append(vs, violationf(c.Hash, p, RuleBundleOrphan, "bundle added without its trace"))
			}
		}
	}
	v.add(vs...)
	return traces
}

// prefetch reads, on all cores, the shard trees a commit changes, so that
// the diff that follows finds them parsed: a commit of many traces touches
// every shard, and reading them one by one would leave the walk, on one
// core, the slowest part of a verification. Only for objects on disk read
// by hive's own readers, which are safe for concurrent use.
func (v *validator) prefetch(parentRoot, root plumbing.Hash) {
	s := v.s
	if !s.concurrentReads() {
		return
	}
	shards := func(root plumbing.Hash) span {
		e, ok, err := s.trees.lookup(root, tracesDir)
		if err != nil || !ok || !e.isTree() {
			return span{}
		}
		t, err := s.trees.get(e.hash)
		if err != nil {
			return span{}
		}
		return t.all()
	}
	// The shards the commit changes, each with its old version (zero for a
	// new shard), unless both are parsed already. The version of a shard
	// the walk read last (frontier) is the one this commit starts or ends
	// from: it goes back in the cache, which other shards' versions may
	// have pushed it out of (on a hive of 100k traces packed as git packs
	// them, rebuilding it from its deltas was most of a verification).
	type pair struct {
		name     string
		old, cur plumbing.Hash
	}
	if v.frontier == nil {
		v.frontier = map[string]*tree{}
	}
	var all, todo []pair
	cached := func(h plumbing.Hash) bool { _, ok := s.trees.lru.Peek(h); return h.IsZero() || ok }
	mergeEntries(shards(parentRoot), shards(root), func(x, y *entry) error {
		if y == nil || !y.isTree() {
			return nil
		}
		p := pair{name: strings.Clone(y.name), cur: y.hash}
		if x != nil && x.isTree() {
			p.old = x.hash
		}
		if f := v.frontier[p.name]; f != nil && (f.hash == p.cur || f.hash == p.old) {
			s.trees.put(f)
		}
		all = append(all, p)
		if !cached(p.cur) || !cached(p.old) {
			todo = append(todo, p)
		}
		return nil
	})
	defer func() {
		for _, p := range all {
			next := p.cur
			if v.newestFirst && !p.old.IsZero() {
				next = p.old
			}
			if t, ok := s.trees.lru.Peek(next); ok {
				v.frontier[p.name] = t
			}
		}
	}()
	if len(todo) < 8 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan pair, len(todo))
	for _, p := range todo {
		next <- p
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Errors surface in the diff, which reads again. The version
			// read before (the newer, newest first) is the one the other is
			// parsed against.
			for p := range next {
				if cur, ok := s.trees.lru.Peek(p.cur); ok && !p.old.IsZero() {
					s.trees.getFrom(p.old, cur)
					continue
				}
				var old *tree
				if !p.old.IsZero() {
					old, _ = s.trees.get(p.old)
				}
				s.trees.getFrom(p.cur, old)
			}
		}()
	}
	wg.Wait()
}

// checkRoot checks a root commit: it holds exactly a valid hive.json.
func (v *validator) checkRoot(c *object.Commit) {
	t, err := v.s.trees.get(c.TreeHash)
	if err != nil {
		v.add(violationf(c.Hash, "", RuleObjectInvalid, "%v", err))
		return
	}
	hasConfig := false
	if e, ok := t.find(ConfigPath); ok && e.mode == filemode.Regular {
		hasConfig = true
	}
	if !hasConfig || t.len() != 1 && !v.s.rootWorkflow(t) {
		v.add(violationf(c.Hash, "", RuleRootInvalid, "a root commit holds hive.json and, at most, the workflow %s", WorkflowPath))
		return
	}
	cfg, err := v.s.configAt(v.s.trees, c.TreeHash)
	if err != nil {
		v.add(violationf(c.Hash, ConfigPath, RuleConfigInvalid, "%v", err))
		return
	}
	if cfg.Version != 1 {
		v.add(violationf(c.Hash, ConfigPath, RuleConfigVersion, "root hive.json has version %d, want 1", cfg.Version))
	}
}

// checkMerge checks that a merge's tree is the three-way merge of its
// parents: every path as one side has it, and no side's change dropped.
func (v *validator) checkMerge(c *object.Commit) {
	trees := v.s.trees
	var ps [2]*object.Commit
	for i, h := range c.ParentHashes {
		p, err := v.readCommit(h)
		if err != nil {
			v.add(violationf(c.Hash, "", RuleObjectInvalid, "parent %s: %v", h, err))
			return
		}
		ps[i] = p
	}
	bases, err := v.s.mergeBases(ps[0].Hash, ps[1].Hash)
	if err != nil {
		v.add(violationf(c.Hash, "", RuleObjectInvalid, "merge base: %v", err))
		return
	}
	if len(bases) == 0 {
		v.add(violationf(c.Hash, "", RuleHistoryUnrelated, "merge of unrelated histories"))
		return
	}
	bc, err := v.readCommit(bases[0])
	if err != nil {
		v.add(violationf(c.Hash, "", RuleObjectInvalid, "merge base: %v", err))
		return
	}
	base := bc.TreeHash
	var changes []change
	for _, p := range ps {
		if err := v.s.diff(trees, p.TreeHash, c.TreeHash, v.newestFirst, "", &changes); err != nil {
			v.add(violationf(c.Hash, "", RuleObjectInvalid, "%v", err))
			return
		}
	}
	seen := map[string]bool{}
	for _, ch := range changes {
		if seen[ch.path] {
			continue
		}
		seen[ch.path] = true
		var e [4]*entry // merge, side 1, side 2, base
		for i, root := range []plumbing.Hash{c.TreeHash, ps[0].TreeHash, ps[1].TreeHash, base} {
			x, ok, err := trees.lookup(root, ch.path)
			if err != nil {
				v.add(violationf(c.Hash, quotePath(ch.path), RuleObjectInvalid, "%v", err))
				return
			}
			if ok && !x.isTree() {
				e[i] = &x
			}
		}
		m, a, b, o := e[0], e[1], e[2], e[3]
		ca, cb := !sameEntry(a, o), !sameEntry(b, o)
		okMerge := false
		switch {
		case ca && cb && !sameEntry(a, b) && !isBundle(ch.path) && !isRecordBundle(ch.path):
			// Both sides changed the path differently (two keys for one
			// instance, two hive.json of one version): no merge keeps both,
			// and dropping one side's change would strand what it signed.
			// (Two valid bundles of one trace may differ: either will do.)
			v.add(violationf(c.Hash, quotePath(ch.path), RuleMergeEvil, "the parents changed it in different ways; it cannot be merged"))
			continue
		case ca && cb:
			okMerge = sameEntry(m, a) || sameEntry(m, b)
		case ca:
			okMerge = sameEntry(m, a)
		case cb:
			okMerge = sameEntry(m, b)
		default:
			okMerge = sameEntry(m, o)
		}
		if !okMerge {
			v.add(violationf(c.Hash, quotePath(ch.path), RuleMergeEvil, "the merge's version is not the merge of its parents' versions"))
			continue
		}
		// A side that added a trace on its own must not bring it back past
		// the other side's removal.
		if k, _ := classify(ch.path); k == kindTrace && m != nil {
			if _, gone, err := trees.lookup(c.TreeHash, recordPath(disputesRemoved, traceIDOf(ch.path))); err == nil && gone {
				v.add(violationf(c.Hash, ch.path, RuleTraceRemoved, "%s was removed by a resolved dispute and may not come back through a merge", traceIDOf(ch.path)))
			}
		}
	}
	v.add(v.checkMergeKeys(c.Hash, c.TreeHash, base, ps[0].TreeHash, ps[1].TreeHash, changes)...)
}

func isBundle(p string) bool {
	kind, ok := classify(p)
	return ok && kind == kindBundle
}

func sameEntry(a, b *entry) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.hash == b.hash && a.mode == b.mode
}

// checkTrace checks one added trace: size, name, canonical schema-valid
// content, thresholds, signature by its own instance's key, lineage.
func (s *Store) checkTrace(rc *readerCache, j traceJob) []Violation {
	fail := func(rule Rule, format string, args ...any) []Violation {
		return []Violation{violationf(j.commit, j.path, rule, format, args...)}
	}
	b, err := rc.objs.read(plumbing.BlobObject, j.trace, schema.MaxTraceSize)
	if err != nil {
		var se *sizeError
		if errors.As(err, &se) {
			return fail(schema.RuleTooLarge, "%v", err)
		}
		return fail(RuleObjectInvalid, "%v", err)
	}
	id := traceIDOf(j.path)
	if got := schema.Digest(b); got != id {
		return fail(RuleTraceName, "file's sha256 is %s, not its name", got.Hex())
	}
	if _, gone, err := rc.trees.lookup(j.parentRoot, recordPath(disputesRemoved, id)); err != nil {
		return fail(RuleObjectInvalid, "%v", err)
	} else if gone {
		return fail(RuleTraceRemoved, "%s was removed by a resolved dispute and may not come back", id)
	}
	t, err := schema.ParseCanonical(b)
	if err != nil {
		var vs []Violation
		for _, e := range schema.All(err) {
			msg := e.Msg
			if e.Pointer != "" {
				msg = e.Pointer + ": " + msg
			}
			vs = append(vs, violationf(j.commit, j.path, e.Rule, "%s", msg))
		}
		if len(vs) == 0 {
			vs = fail(schema.RuleJSON, "%v", err)
		}
		return vs
	}
	var vs []Violation
	for _, e := range schema.All(j.config.Thresholds.Check(t)) {
		vs = append(vs, violationf(j.commit, j.path, e.Rule, "%s", e.Msg))
	}
	// The key: registered by this commit, or in the state it extends.
	keyBlob, ok := j.newKeys[t.InstanceID]
	if !ok {
		e, found, err := rc.trees.lookup(j.parentRoot, KeyPath(t.InstanceID))
		if err != nil {
			return append(vs, violationf(j.commit, j.path, RuleObjectInvalid, "%v", err))
		}
		if !found {
			return append(vs, violationf(j.commit, j.path, RuleSigKeyUnknown, "no key registered for instance %s", schema.Quote(t.InstanceID, 70)))
		}
		keyBlob = e.hash
	}
	if j.config.IsRevoked(t.InstanceID) {
		return append(vs, violationf(j.commit, j.path, RuleSigKeyRevoked, "the key of instance %s is revoked", t.InstanceID))
	}
	pub, err := s.key(rc, keyBlob)
	if err != nil {
		return append(vs, violationf(j.commit, j.path, keyRule(err), "key of instance %s: %v", t.InstanceID, err))
	}
	bb, err := rc.objs.read(plumbing.BlobObject, j.bundle, signing.MaxBundleSize)
	bundlePath := j.path[:len(j.path)-len(traceExt)] + bundleExt
	if err != nil {
		return append(vs, violationf(j.commit, bundlePath, RuleSigBundleInvalid, "%v", err))
	}
	bundle, err := signing.ParseBundle(bb)
	if err != nil {
		return append(vs, violationf(j.commit, bundlePath, RuleSigBundleInvalid, "%v", err))
	}
	if err := bundle.Verify(pub, b); err != nil {
		rule := RuleSigInvalid
		if errors.Is(err, signing.ErrDigestMismatch) {
			rule = RuleSigDigest
		}
		return append(vs, violationf(j.commit, bundlePath, rule, "%v (instance %s)", err, t.InstanceID))
	}
	for _, p := range t.Lineage {
		_, found, err := rc.trees.lookup(j.root, TracePath(p))
		if err != nil {
			return append(vs, violationf(j.commit, j.path, RuleObjectInvalid, "%v", err))
		}
		if !found {
			vs = append(vs, violationf(j.commit, j.path, RuleLineageMissing, "lineage parent %s is not in this commit or its ancestors", p))
		}
	}
	return vs
}

// keyRule maps a key error to its rule code.
func keyRule(err error) Rule {
	switch {
	case errors.Is(err, signing.ErrKeyWeak):
		return RuleKeyWeak
	case errors.Is(err, signing.ErrKeyUnsupported):
		return RuleKeyUnsupported
	default:
		return RuleKeyInvalid
	}
}

// checkKey parses a newly registered key.
func (s *Store) checkKey(blob plumbing.Hash) error {
	_, err := s.key(&readerCache{objs: s.objs, trees: s.trees}, blob)
	return err
}

// checkConfigChange checks a change of hive.json: a canonical, valid config
// whose version grows by one, signed in hive.sigstore.json by a maintainer
// of the parent state with a key registered there.
func (s *Store) checkConfigChange(c *object.Commit, parentRoot plumbing.Hash, old *Config) []Violation {
	e, ok, err := s.trees.lookup(c.TreeHash, ConfigPath)
	if err != nil || !ok {
		return []Violation{violationf(c.Hash, ConfigPath, RulePathDeleted, "hive.json removed")}
	}
	b, err := s.objs.read(plumbing.BlobObject, e.hash, MaxConfigSize)
	if err != nil {
		return []Violation{violationf(c.Hash, ConfigPath, RuleConfigInvalid, "%v", err)}
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return []Violation{violationf(c.Hash, ConfigPath, RuleConfigInvalid, "%v", err)}
	}
	var vs []Violation
	if cfg.Version != old.Version+1 {
		vs = append(vs, violationf(c.Hash, ConfigPath, RuleConfigVersion, "version %d follows %d; each change adds one", cfg.Version, old.Version))
	}
	be, ok, err := s.trees.lookup(c.TreeHash, ConfigBundlePath)
	if err != nil || !ok {
		return append(vs, violationf(c.Hash, ConfigPath, RuleConfigUnsigned, "changed without a maintainer's signature in %s", ConfigBundlePath))
	}
	bb, err := s.objs.read(plumbing.BlobObject, be.hash, signing.MaxBundleSize)
	if err != nil {
		return append(vs, violationf(c.Hash, ConfigBundlePath, RuleSigBundleInvalid, "%v", err))
	}
	bundle, err := signing.ParseBundle(bb)
	if err != nil {
		return append(vs, violationf(c.Hash, ConfigBundlePath, RuleSigBundleInvalid, "%v", err))
	}
	if s.signedByMaintainer(parentRoot, old, bundle, b) {
		return vs
	}
	return append(vs, violationf(c.Hash, ConfigPath, RuleConfigUnsigned, "not signed by a maintainer of the parent commit's hive.json"))
}

// errNoConfig is a tree without hive.json.
var errNoConfig = errors.New("no hive.json")

// configAt returns the policy of the state with the given root tree.
func (s *Store) configAt(trees *treeCache, root plumbing.Hash) (*Config, error) {
	e, ok, err := trees.lookup(root, ConfigPath)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNoConfig
	}
	if c, ok := s.parsed.configs.Get(e.hash); ok {
		return c, nil
	}
	b, err := s.objs.read(plumbing.BlobObject, e.hash, MaxConfigSize)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, err
	}
	s.parsed.configs.Add(e.hash, c)
	return c, nil
}

// key returns the parsed public key in a blob.
func (s *Store) key(rc *readerCache, blob plumbing.Hash) (*signing.PublicKey, error) {
	if k, ok := s.parsed.keys.Get(blob); ok {
		return k, nil
	}
	b, err := rc.objs.read(plumbing.BlobObject, blob, signing.MaxPublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", signing.ErrKeyInvalid, err)
	}
	k, err := signing.ParsePublicKeyPEM(b)
	if err != nil {
		return nil, err
	}
	s.parsed.keys.Add(blob, k)
	return k, nil
}
