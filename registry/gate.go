package registry

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// RulePushUnauthorised refuses what a server's gate does not let an
// authenticated writer do: push outside its own submission branches, or
// add what is not its own. It is the gate's rule, not the format's: the
// same commits are valid in a hive they reach another way.
const RulePushUnauthorised Rule = "push-unauthorised"

// RulePushStale refuses an update of main from a value main no longer
// has: main moved since the pusher fetched. git would refuse it too, but
// only after a served working tree was already updated to it.
const RulePushStale Rule = "push-stale"

// Writer is who pushes through a server that authenticates its clients
// (hive serve): an instance, or a maintainer.
type Writer struct {
	// Instance is the instance the writer speaks for.
	Instance string
	// Maintainer may push what any instance may, and merge others' work
	// into main; the validator still checks every signature.
	Maintainer bool
}

// CheckUpdates is the gate of a shared hive: it checks every ref update
// of one push against the hive whose main is main. main may only move
// forward, from its current value, through commits that verify, and may
// not be deleted; submission branches (hive/...) must verify on top of
// main and share its history; no other ref may change. The commits that
// the submission branches add are checked once for all of them, so a push
// of many branches costs what it adds.
//
// w is the pusher when a server authenticated one; nil is a push by someone
// with access to the repository's files, limited by the rules alone. A
// writer that is not a maintainer may push only branches under
// hive/<its instance>/ and main, and only commits whose every change is
// its own (traces, records and bundles of its instance, its own key) or
// one main has already; other changes of hive.json, removals and others'
// records need a maintainer.
func (s *Store) CheckUpdates(updates []Update, main plumbing.Hash, w *Writer) (*Report, error) {
	return s.CheckUpdatesContext(context.Background(), updates, main, w)
}

// CheckUpdatesContext is CheckUpdates that stops when ctx ends, with ctx's
// error.
func (s *Store) CheckUpdatesContext(ctx context.Context, updates []Update, main plumbing.Hash, w *Writer) (*Report, error) {
	r := &Report{Head: main}
	merge := func(x *Report) {
		r.Commits += x.Commits
		r.Traces += x.Traces
		r.Keys += x.Keys
		r.Violations = append(r.Violations, x.Violations...)
		r.Omitted += x.Omitted
	}
	author := ""
	if w != nil && !w.Maintainer {
		author = w.Instance
	}
	known := []plumbing.Hash{}
	if !main.IsZero() {
		known = append(known, main)
	}
	var subs []plumbing.Hash
	// main first: the submission branches may build on its new value.
	for _, u := range updates {
		if u.Ref != Branch {
			continue
		}
		if u.New.IsZero() {
			merge(refused(u, RuleHistoryRewritten, "main may not be deleted"))
			continue
		}
		if u.Old != main {
			merge(refused(u, RulePushStale, fmt.Sprintf("main is at %s, not %s: it moved since the push was prepared; fetch, merge and push again", short(main), short(u.Old))))
			continue
		}
		// Full: the gate walks every commit a push adds, even one verified
		// before (a tip on record may be another's work).
		opts := VerifyOptions{Base: u.Old, Full: true}
		opts.gate = gateCheck(author, []plumbing.Hash{u.Old})
		x, err := s.VerifyContext(ctx, u.New, opts)
		if err != nil {
			return nil, err
		}
		merge(x)
		if x.Err() == nil {
			known = append(known, u.New)
		}
	}
	for _, u := range updates {
		switch {
		case u.Ref == Branch:
		case !strings.HasPrefix(string(u.Ref), SubmitPrefix):
			merge(refused(u, RulePathNotAllowed, fmt.Sprintf("only main and %s* may be pushed to a hive", strings.TrimPrefix(SubmitPrefix, "refs/heads/"))))
		case author != "" && !strings.HasPrefix(string(u.Ref), SubmitPrefix+author+"/"):
			merge(refused(u, RulePushUnauthorised, fmt.Sprintf("instance %s may push only branches under hive/%s/", author, author)))
		case !u.New.IsZero(): // a submission branch may be deleted
			subs = append(subs, u.New)
		}
	}
	if len(subs) == 0 {
		return r, nil
	}
	opts := VerifyOptions{Known: known, Full: true, Heads: subs[1:], gate: gateCheck(author, known)}
	x, err := s.VerifyContext(ctx, subs[0], opts)
	if err != nil {
		return nil, err
	}
	merge(x)
	return r, nil
}

func refused(u Update, rule Rule, msg string) *Report {
	return &Report{Head: u.New, Violations: Violations{{Commit: u.New, Path: string(u.Ref), Rule: rule, Msg: msg}}}
}

// gateCheck returns the checks a push adds to the validator's on the
// commits it brings, given the commits known before it (main; none for a
// hive's first push): each pushed head must share history with them (the
// hive has a history, and a push must extend it), and with an author, each
// change must be the author's.
func gateCheck(author string, known []plumbing.Hash) func(v *validator, commits []*commitNode) {
	known = slices.DeleteFunc(slices.Clone(known), plumbing.Hash.IsZero)
	return func(v *validator, commits []*commitNode) {
		commits = v.added(commits, known)
		in := make(map[plumbing.Hash]bool, len(commits))
		for _, n := range commits {
			in[n.hash] = true
		}
		if len(known) > 0 {
			// A head is related when a commit it brings (parents first) has
			// a parent that is not brought: a known one.
			reaches := make(map[plumbing.Hash]bool, len(commits))
			for _, n := range commits {
				for _, p := range n.c.ParentHashes {
					if !in[p] || reaches[p] {
						reaches[n.hash] = true
						break
					}
				}
			}
			for _, h := range append([]plumbing.Hash{v.report.Head}, v.heads...) {
				if in[h] && !reaches[h] {
					v.add(violationf(h, "", RuleHistoryUnrelated, "a push must share history with main; %s does not", short(h)))
				}
			}
		}
		if author == "" {
			return
		}
		for _, n := range commits {
			if len(n.c.ParentHashes) == 1 { // a root is hive.json alone; a merge adds nothing of its own
				v.add(v.checkAuthor(n, author, v.onMain(known))...)
			}
		}
	}
}

// onMain reports whether a change is one that a known commit's tree
// already holds: the same file at the path, or no file there.
func (v *validator) onMain(known []plumbing.Hash) func(change) bool {
	var roots []plumbing.Hash
	for _, h := range known {
		if c, err := v.readCommit(h); err == nil {
			roots = append(roots, c.TreeHash)
		}
	}
	return func(ch change) bool {
		for _, root := range roots {
			e, ok, err := v.s.trees.lookup(root, ch.path)
			switch {
			case err != nil:
			case ch.new == nil && !ok:
				return true
			case ch.new != nil && ok && e.hash == ch.new.hash:
				return true
			}
		}
		return false
	}
}

// skewSlop is how far a commit's time may lie before its parent's (clock
// skew) for added to still tell it known.
const skewSlop = time.Hour

// added returns the commits of the walk (parents first) that no known
// commit reaches: those the push adds. The validator's walk stops once it
// has proven enough to check every new commit, so it may bring a few known
// ones too (commits of one second, in any order); checking them again is
// harmless to its rules, but the gate judges who wrote what. The known
// side is walked on, newest first, while its commits are no older than
// the oldest brought one.
func (v *validator) added(commits []*commitNode, known []plumbing.Hash) []*commitNode {
	if len(commits) == 0 || len(known) == 0 {
		return commits
	}
	oldest := commits[0].c.Committer.When
	brought := make(map[plumbing.Hash]bool, len(commits))
	for _, n := range commits {
		brought[n.hash] = true
		if n.c.Committer.When.Before(oldest) {
			oldest = n.c.Committer.When
		}
	}
	oldest = oldest.Add(-skewSlop)
	seen := map[plumbing.Hash]bool{}
	var q nodeHeap
	push := func(h plumbing.Hash) {
		if seen[h] {
			return
		}
		seen[h] = true
		if c, err := v.readCommit(h); err == nil { // unreadable: the walk reported it
			heap.Push(&q, &commitNode{hash: h, c: c})
		}
	}
	for _, h := range known {
		push(h)
	}
	for q.Len() > 0 && len(seen) <= v.limits.MaxCommits {
		n := heap.Pop(&q).(*commitNode)
		if n.c.Committer.When.Before(oldest) {
			break
		}
		delete(brought, n.hash)
		for _, p := range n.c.ParentHashes {
			push(p)
		}
	}
	out := commits[:0:0]
	for _, n := range commits {
		if brought[n.hash] {
			out = append(out, n)
		}
	}
	return out
}

// checkAuthor checks that every change of a commit is author's: a key
// registered under its name, or a record (trace, dispute, or any other kind)
// whose instance_id it is. Bundles go with their records; a change main
// has already (onMain) brings nothing new.
func (v *validator) checkAuthor(n *commitNode, author string, onMain func(change) bool) []Violation {
	parent, err := v.readCommit(n.c.ParentHashes[0])
	if err != nil {
		return []Violation{violationf(n.hash, "", RuleObjectInvalid, "parent %s: %v", n.c.ParentHashes[0], err)}
	}
	var changes []change
	if err := v.s.diff(v.s.trees, parent.TreeHash, n.c.TreeHash, false, "", &changes); err != nil {
		return []Violation{violationf(n.hash, "", RuleObjectInvalid, "%v", err)}
	}
	var vs []Violation
	deny := func(p, format string, args ...any) {
		vs = append(vs, violationf(n.hash, p, RulePushUnauthorised, format, args...))
	}
	for _, ch := range changes {
		kind, ok := classify(ch.path)
		switch {
		case !ok || strings.HasSuffix(ch.path, bundleExt) || onMain(ch):
			// outside the layout (the validator refuses it); a bundle,
			// which the validator binds to its record; or what main has
			// already (a skill pulled before it was merged)
		case ch.new == nil:
			deny(ch.path, "only a maintainer may remove files (instance %s pushes)", author)
		case kind == kindConfig || kind == kindConfigBundle:
			deny(ch.path, "only a maintainer may change the policy (instance %s pushes)", author)
		case kind == kindKey:
			if id := instanceOf(ch.path); id != author {
				deny(ch.path, "instance %s may register only its own key, not %s's", author, id)
			}
		default:
			b, err := v.s.objs.read(plumbing.BlobObject, ch.new.hash, maxRecordSize)
			if err != nil {
				vs = append(vs, violationf(n.hash, ch.path, RuleObjectInvalid, "%v", err))
				continue
			}
			var rec struct {
				InstanceID *string `json:"instance_id"`
			}
			switch err := json.Unmarshal(b, &rec); {
			case err != nil || rec.InstanceID == nil:
				deny(ch.path, "only a maintainer may add records that name no instance (instance %s pushes)", author)
			case *rec.InstanceID != author:
				deny(ch.path, "instance %s may add only its own records, not %s's", author, quoteID(*rec.InstanceID))
			}
		}
	}
	return vs
}

// maxRecordSize bounds a record the gate reads for its instance_id: the
// largest record of the layout, a trace.
const maxRecordSize = 1 << 20

// quoteID shows an instance id read from a record: plain when valid, else
// quoted and cut, since the pusher chose it.
func quoteID(id string) string {
	if schema.ValidInstanceID(id) {
		return id
	}
	return schema.Quote(id, 40)
}
