package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hive-dev/hive/gitfmt"
	"github.com/hive-dev/hive/odb"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// headTree returns the tree main points at.
func (s *Store) headTree() (plumbing.Hash, error) {
	_, tree, err := s.headState()
	return tree, err
}

// headState returns the commit main points at and its tree.
func (s *Store) headState() (head, tree plumbing.Hash, err error) {
	if head, err = s.Head(); err != nil {
		return head, tree, err
	}
	// A commit's tree never changes: remember main's, so that readers that
	// look up many paths do not read (and hash) the commit each time.
	if m := s.lastHead.Load(); m != nil && m[0] == head {
		return head, m[1], nil
	}
	c, err := (&validator{s: s}).readCommit(head)
	if err != nil {
		return head, tree, err
	}
	s.lastHead.Store(&[2]plumbing.Hash{head, c.TreeHash})
	return head, c.TreeHash, nil
}

// ResolveID turns what a user typed (a full id, its hex, or a unique prefix
// of at least 6 hex digits, with or without "sha256:") into the id of a
// trace on main.
func (s *Store) ResolveID(q string) (schema.ID, error) {
	hex := strings.TrimPrefix(strings.ToLower(q), "sha256:") // ids are lower case; people type either
	if len(hex) < 6 || !isHexPrefix(hex) {
		return "", fmt.Errorf("trace id %s: want sha256:<hex> or at least 6 hex digits: %w", schema.Quote(q, 80), ErrInvalid)
	}
	root, err := s.headTree()
	if err != nil {
		return "", err
	}
	found, err := s.recordsWithPrefix(root, tracesDir, hex)
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", s.notOnMain(root, q, hex)
	case 1:
		return schema.ID("sha256:" + found[0]), nil
	}
	return "", fmt.Errorf("trace prefix %s is ambiguous: %d traces match", schema.Quote(q, 80), len(found))
}

// recordsWithPrefix lists the hex names of the records (not bundles) in
// dir/<hh>/ of tree root whose names start with hex.
func (s *Store) recordsWithPrefix(root plumbing.Hash, dir, hex string) ([]string, error) {
	e, ok, err := s.trees.lookup(root, dir+"/"+hex[:2])
	if err != nil || !ok || !e.isTree() {
		return nil, err
	}
	t, err := s.trees.get(e.hash)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, e := range t.list() {
		if strings.HasPrefix(e.name, hex) && strings.HasSuffix(e.name, traceExt) && !strings.HasSuffix(e.name, bundleExt) {
			found = append(found, strings.TrimSuffix(e.name, traceExt))
		}
	}
	return found, nil
}

// notOnMain is the ErrNotFound of a trace id or prefix q (hex digits hex)
// that names no trace in tree root: it says so of a trace that a resolved
// dispute removed, and by which dispute. Only when a tombstone has the
// prefix are the disputes read.
func (s *Store) notOnMain(root plumbing.Hash, q, hex string) error {
	if tombs, err := s.recordsWithPrefix(root, disputesRemoved, hex); err == nil && len(tombs) > 0 {
		if list, err := s.Disputes(); err == nil {
			for _, d := range list {
				if r := d.Resolution; r != nil && r.Decision == DecisionRemove && strings.HasPrefix(d.Dispute.Trace.Hex(), hex) {
					return fmt.Errorf("trace %s was removed from main by dispute %s, upheld by %s: %s: %w",
						d.Dispute.Trace.Short(), d.ID.Short(), r.InstanceID, schema.Quote(r.Reason, 200), ErrNotFound)
				}
			}
		}
	}
	return fmt.Errorf("trace %s: %w", schema.Quote(q, 80), ErrNotFound)
}

func isHexPrefix(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Entry is a stored trace: its bytes, its bundle and what they parse to.
type Entry struct {
	ID     schema.ID
	Data   []byte // the canonical trace file
	Bundle []byte // the sigstore bundle
	Trace  *schema.Trace
}

// Trace reads the trace id from main. The bytes are checked against the
// id: tampering is an error, never a silent answer.
func (s *Store) Trace(id schema.ID) (*Entry, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	return s.traceAt(s.trees, root, id)
}

func (s *Store) traceAt(trees *treeCache, root plumbing.Hash, id schema.ID) (*Entry, error) {
	e, ok, err := trees.lookup(root, TracePath(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("trace %s: %w", id, ErrNotFound)
	}
	// What main's tree names but cannot be read, or is not what its name
	// says, is corrupt: never "not found".
	b, err := trees.objs.read(plumbing.BlobObject, e.hash, schema.MaxTraceSize)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %v: %w", id, err, ErrCorrupt)
	}
	if schema.Digest(b) != id {
		return nil, fmt.Errorf("trace %s: %s: file's sha256 is %s: %w", id, RuleTraceName, schema.Digest(b).Hex(), ErrCorrupt)
	}
	t, err := schema.ParseCanonical(b)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %v: %w", id, err, ErrCorrupt)
	}
	be, ok, err := trees.lookup(root, BundlePath(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("trace %s: %s: no bundle: %w", id, RuleBundleMissing, ErrCorrupt)
	}
	bb, err := trees.objs.read(plumbing.BlobObject, be.hash, signing.MaxBundleSize)
	if err != nil {
		return nil, fmt.Errorf("bundle of %s: %v: %w", id, err, ErrCorrupt)
	}
	return &Entry{ID: id, Data: b, Bundle: bb, Trace: t}, nil
}

// TraceIDs lists the ids of every trace on main, sorted.
func (s *Store) TraceIDs() ([]schema.ID, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	return s.traceIDsAt(root)
}

// Instance is a registered instance.
type Instance struct {
	ID          string `json:"instance_id"`
	Algorithm   string `json:"algorithm"`
	Fingerprint string `json:"fingerprint"`
	Maintainer  bool   `json:"maintainer"`
	Revoked     bool   `json:"revoked"`
	Traces      int    `json:"traces"`
	PublicKey   string `json:"public_key"` // PEM
}

// Instances lists the registered instances with their keys and how many
// traces each has on main.
func (s *Store) Instances() ([]Instance, error) {
	counts, err := s.traceCounts()
	if err != nil {
		return nil, err
	}
	out, err := s.Keys()
	for i := range out {
		out[i].Traces = counts[out[i].ID]
	}
	return out, err
}

// Keys lists the registered instances on main with their keys, as
// Instances does, without counting their traces (Traces is 0).
func (s *Store) Keys() ([]Instance, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	cfg, err := s.mainConfig(root)
	if err != nil {
		return nil, err
	}
	var out []Instance
	e, ok, err := s.trees.lookup(root, keysDir)
	if err != nil {
		return nil, err
	}
	if ok {
		t, err := s.trees.get(e.hash)
		if err != nil {
			return nil, err
		}
		rc := &readerCache{objs: s.objs, trees: s.trees}
		for _, k := range t.list() {
			id := strings.TrimSuffix(k.name, keyExt)
			pub, err := s.key(rc, k.hash)
			if err != nil {
				return nil, fmt.Errorf("key of %s: %w", id, err)
			}
			out = append(out, Instance{ID: id, Algorithm: string(pub.Algorithm()), Fingerprint: pub.Fingerprint(),
				Maintainer: cfg.IsMaintainer(id), Revoked: cfg.IsRevoked(id), PublicKey: string(pub.MarshalPEM())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Commit reads commit h (read through the hive's object database, its
// size checked first).
func (s *Store) Commit(h plumbing.Hash) (*object.Commit, error) {
	return (&validator{s: s}).readCommit(h)
}

// Key returns the public key registered for instance on main.
func (s *Store) Key(instance string) (*signing.PublicKey, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	e, ok, err := s.trees.lookup(root, KeyPath(instance))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(ErrNotFound, "no key registered for instance %s", schema.Quote(instance, 70))
	}
	return s.key(&readerCache{objs: s.objs, trees: s.trees}, e.hash)
}

// KeyAt returns the public key that judged instance's records in commit
// h, and the commit whose tree holds it: h's first parent (a rotation
// takes effect from the next commit, docs/format.md §14.2), or h itself
// when the parent had no key for instance (h registered it). After a
// rotation, what the retired key signed verifies with the key KeyAt gives
// for its commit, not with Key.
func (s *Store) KeyAt(h plumbing.Hash, instance string) (*signing.PublicKey, plumbing.Hash, error) {
	c, err := (&validator{s: s}).readCommit(h)
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("commit %s: %w", h, err)
	}
	if len(c.ParentHashes) > 0 {
		p := c.ParentHashes[0]
		root, err := s.CommitTree(p)
		if err != nil {
			return nil, plumbing.ZeroHash, err
		}
		pub, err := s.registeredKey(root, instance)
		if !errors.Is(err, ErrNotFound) {
			return pub, p, err
		}
	}
	pub, err := s.registeredKey(c.TreeHash, instance)
	return pub, h, err
}

// File reads the file at path in main's tree, refusing one over max bytes
// (by its size, before it is read). A missing file is ErrNotFound.
func (s *Store) File(path string, max int64) ([]byte, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	e, ok, err := s.trees.lookup(root, path)
	if err != nil {
		return nil, err
	}
	if !ok || e.isTree() {
		return nil, errorf(ErrNotFound, "%s: no such file on main", path)
	}
	return s.objs.read(plumbing.BlobObject, e.hash, max)
}

// traceCounts counts the traces of each instance, reading the trace files
// on main.
func (s *Store) traceCounts() (map[string]int, error) {
	ids, err := s.TraceIDs()
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, id := range ids {
		e, err := s.Trace(id)
		if err != nil {
			return nil, err
		}
		counts[e.Trace.InstanceID]++
	}
	return counts, nil
}

// Config returns the policy on main.
func (s *Store) Config() (*Config, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	return s.mainConfig(root)
}

// mainConfig is configAt for main's tree root, whose lack of hive.json
// says the repository is no hive.
func (s *Store) mainConfig(root plumbing.Hash) (*Config, error) {
	c, err := s.configAt(s.trees, root)
	if errors.Is(err, errNoConfig) {
		return nil, fmt.Errorf("%s is a git repository but not a hive: main has no hive.json (hive verify says what else is wrong; hive init makes a new hive)", s.Dir())
	}
	return c, err
}

// Introduced finds the commit on main's history that added each trace in
// ids: a commit whose tree has the trace and whose first parent's does not
// (never a merge: the trace is followed into the side that brought it).
// A trace missing from the result is not on main's history.
func (s *Store) Introduced(ids []schema.ID) (map[schema.ID]*object.Commit, error) {
	return s.IntroducedContext(context.Background(), ids)
}

// IntroducedContext is Introduced that stops when ctx ends, with ctx's
// error.
//
// A trace on main is found by bisecting first-parent chains, each step a
// lookup of its path in one commit's tree: a few milliseconds on a
// 100k-trace hive, where walking the history diffing every commit took
// seconds (docs/performance.md). A trace no longer on main (removed by a
// dispute) is looked for by that walk.
func (s *Store) IntroducedContext(ctx context.Context, ids []schema.ID) (map[schema.ID]*object.Commit, error) {
	head, root, err := s.headState()
	if err != nil {
		return nil, err
	}
	out := map[schema.ID]*object.Commit{}
	v := &validator{s: s}
	chains := map[plumbing.Hash][]chainLink{}
	var gone []schema.ID
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := schema.ParseID(string(id)); err != nil {
			continue // not an id: no trace of main has it
		}
		_, ok, err := s.trees.lookup(root, TracePath(id))
		if err != nil {
			return nil, err
		}
		if !ok {
			gone = append(gone, id)
			continue
		}
		c, err := s.bisectIntroduced(ctx, v, chains, head, TracePath(id))
		if err != nil {
			return nil, err
		}
		if c != nil {
			out[id] = c
		}
	}
	if len(gone) == 0 {
		return out, nil
	}
	return out, s.walkIntroduced(ctx, v, head, gone, out)
}

// bisectIntroduced returns a commit whose tree has path and whose first
// parent's does not, given start, whose tree has it; nil when the trace
// came in by a merge that added it itself. Along start's first-parent
// chain the commit is found by bisection, keeping a commit that has path
// below one that has not (or the chain's end); a merge found that way
// sends the search into a side that has path.
func (s *Store) bisectIntroduced(ctx context.Context, v *validator, chains map[plumbing.Hash][]chainLink, start plumbing.Hash, path string) (*object.Commit, error) {
	has := func(tree plumbing.Hash) (bool, error) {
		_, ok, err := s.trees.lookup(tree, path)
		return ok, err
	}
	for {
		chain, err := s.firstParents(ctx, chains, start)
		if err != nil {
			return nil, err
		}
		lo, hi := 0, len(chain) // chain[lo] has path; chain[hi], if any, has not
		for hi-lo > 1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			mid := lo + (hi-lo)/2
			ok, err := has(chain[mid].Tree)
			if err != nil {
				return nil, err
			}
			if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
		c := chain[lo]
		if len(c.Parents) < 2 {
			return v.readCommit(c.hash)
		}
		start = plumbing.ZeroHash
		for _, p := range c.Parents[1:] {
			pc, err := s.commitHeader(p)
			if err != nil {
				return nil, err
			}
			ok, err := has(pc.Tree)
			if err != nil {
				return nil, err
			}
			if ok {
				start = p
				break
			}
		}
		if start.IsZero() {
			return nil, nil // the merge added it on its own
		}
	}
}

// chainLink is a commit of a first-parent chain: its name, tree and
// parents.
type chainLink struct {
	gitfmt.CommitHeader
	hash plumbing.Hash
}

// commitHeader reads the tree and parents of commit h.
func (s *Store) commitHeader(h plumbing.Hash) (gitfmt.CommitHeader, error) {
	return odb.ReadCommitHeader(s.objs.db, h)
}

// firstParents returns the chain of first parents from h to its root,
// h first, remembering it in chains (a chain from a commit of another
// chain is shared with it).
func (s *Store) firstParents(ctx context.Context, chains map[plumbing.Hash][]chainLink, h plumbing.Hash) ([]chainLink, error) {
	if c, ok := chains[h]; ok {
		return c, nil
	}
	var chain []chainLink
	for at := h; ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if known, ok := chains[at]; ok {
			chain = append(chain, known...)
			break
		}
		c, err := s.commitHeader(at)
		if err != nil {
			return nil, err
		}
		chain = append(chain, chainLink{c, at})
		if len(c.Parents) == 0 {
			break
		}
		at = c.Parents[0]
	}
	for i := range chain {
		chains[chain[i].hash] = chain[i:]
	}
	return chain, nil
}

// walkIntroduced finds the commits that added the traces in ids by walking
// main's history from head, breadth first, diffing each commit that is not
// a merge with its parent, until every one is found or the history ends.
func (s *Store) walkIntroduced(ctx context.Context, v *validator, head plumbing.Hash, ids []schema.ID, out map[schema.ID]*object.Commit) error {
	want := map[schema.ID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	found := 0
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{head}
	for len(queue) > 0 && found < len(want) {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		seen[h] = true
		c, err := v.readCommit(h)
		if err != nil {
			return err
		}
		queue = append(queue, c.ParentHashes...)
		if len(c.ParentHashes) > 1 {
			continue // a merge adds nothing of its own
		}
		var parentTree plumbing.Hash
		if len(c.ParentHashes) == 1 {
			p, err := v.readCommit(c.ParentHashes[0])
			if err != nil {
				return err
			}
			parentTree = p.TreeHash
		}
		var changes []change
		if err := s.diff(s.trees, parentTree, c.TreeHash, false, "", &changes); err != nil {
			return err
		}
		for _, ch := range changes {
			if k, ok := classify(ch.path); ok && k == kindTrace && ch.old == nil && ch.new != nil {
				if id := traceIDOf(ch.path); want[id] && out[id] == nil {
					out[id] = c
					found++
				}
			}
		}
	}
	return nil
}
