package registry

import (
	"context"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// Match decides whether a remote skill is wanted; when it is not, the
// reason says why (for the report).
type Match func(t *schema.Trace) (ok bool, reason string)

// Skipped is a remote skill a subscription did not import, and why.
type Skipped struct {
	ID     schema.ID `json:"id"`
	Intent string    `json:"intent,omitempty"`
	Reason string    `json:"reason"`
}

// SubscribeResult says what a subscription imported and skipped.
type SubscribeResult struct {
	Remote    Remote    `json:"remote"`
	Imported  []Added   `json:"imported"`
	Keys      []string  `json:"keys_registered"` // instances whose keys were registered to verify them
	Skipped   []Skipped `json:"skipped"`
	Unmatched int       `json:"unmatched"` // remote skills that did not match, not listed
	Present   int       `json:"present"`   // remote skills that match and this hive already has
}

// PullMatching is the seed's subscribe_to_skills: it fetches the remote's
// main into quarantine and imports, as local commits, only the skills that
// match and are valid under this hive's own rules, with their lineage
// closure and the keys of their instances. Each skill keeps its signature,
// so a later full pull of the same remote merges cleanly.
func (s *Store) PullMatching(r Remote, match Match) (*SubscribeResult, error) {
	return s.PullMatchingContext(context.Background(), r, match)
}

// PullMatchingContext is PullMatching that stops when ctx ends, with ctx's
// error, before it commits anything.
func (s *Store) PullMatchingContext(ctx context.Context, r Remote, match Match) (*SubscribeResult, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, _, err := s.verifiedMain(ctx); err != nil {
		return nil, err
	}
	incoming, err := s.fetch(ctx, r)
	if err != nil {
		return nil, err
	}
	defer s.db.DeleteRef(incomingRef(r))
	res := &SubscribeResult{Remote: r}
	v := &validator{s: s}
	ic, err := v.readCommit(incoming)
	if err != nil {
		return nil, err
	}
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	remoteIDs, err := s.traceIDsAt(ic.TreeHash)
	if err != nil {
		return nil, err
	}
	// What the remote has that we lack, read and checked strictly.
	type cand struct {
		e      *Entry
		reason string
	}
	cands := map[schema.ID]*cand{}
	for _, id := range remoteIDs {
		if _, ok, err := s.trees.lookup(root, TracePath(id)); err != nil {
			return nil, err
		} else if ok {
			if here, err := s.traceAt(s.trees, root, id); err != nil {
				return nil, err
			} else if ok, _ := match(here.Trace); ok {
				res.Present++
			}
			continue
		}
		e, err := s.traceAt(s.trees, ic.TreeHash, id)
		if err != nil {
			res.Skipped = append(res.Skipped, Skipped{ID: id, Reason: err.Error()})
			continue
		}
		cands[id] = &cand{e: e}
	}
	// The matches and their lineage closure.
	want := map[schema.ID]bool{}
	var closure func(id schema.ID, why string) error
	closure = func(id schema.ID, why string) error {
		if want[id] {
			return nil
		}
		c, ok := cands[id]
		if !ok {
			if _, here, err := s.trees.lookup(root, TracePath(id)); err != nil || here {
				return err
			}
			return fmt.Errorf("lineage parent %s is neither here nor valid there", id)
		}
		want[id] = true
		for _, p := range c.e.Trace.Lineage {
			if err := closure(p, "lineage of "+string(id)); err != nil {
				return err
			}
		}
		return nil
	}
	for id, c := range cands {
		if ok, reason := match(c.e.Trace); !ok {
			c.reason = reason
			continue
		}
		if err := closure(id, ""); err != nil {
			res.Skipped = append(res.Skipped, Skipped{ID: id, Intent: c.e.Trace.Intent, Reason: err.Error()})
		}
	}
	// Keys of the instances that signed them, from the remote.
	cfg, err := s.configAt(s.trees, root)
	if err != nil {
		return nil, err
	}
	keyOK := map[string]error{}
	var newKeys []string
	for id := range want {
		inst := cands[id].e.Trace.InstanceID
		if _, seen := keyOK[inst]; seen {
			continue
		}
		keyOK[inst] = s.checkRemoteKey(root, ic.TreeHash, inst, cfg, &newKeys)
	}
	// Pending inputs, each pre-checked; a bad one is skipped, not fatal.
	var todo []*pending
	for id := range want {
		c := cands[id]
		t := c.e.Trace
		reason := ""
		switch {
		case keyOK[t.InstanceID] != nil:
			reason = keyOK[t.InstanceID].Error()
		case cfg.Thresholds.Check(t) != nil:
			reason = cfg.Thresholds.Check(t).Error()
		}
		if reason != "" {
			res.Skipped = append(res.Skipped, Skipped{ID: id, Intent: t.Intent, Reason: reason})
			continue
		}
		todo = append(todo, &pending{in: Input{Name: string(id)}, id: id, canon: c.e.Data, t: t, bundle: c.e.Bundle})
	}
	for _, c := range cands {
		if c.reason != "" && !want[c.e.ID] {
			res.Unmatched++
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].id < todo[j].id })
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pull from %s: %w", r.URL, err)
	}
	for _, inst := range newKeys {
		e, _, err := s.trees.lookup(ic.TreeHash, KeyPath(inst))
		if err != nil {
			return nil, err
		}
		pem, err := s.objs.read(plumbing.BlobObject, e.hash, signing.MaxPublicKeySize)
		if err != nil {
			return nil, err
		}
		pub, err := signing.ParsePublicKeyPEM(pem)
		if err != nil {
			return nil, err
		}
		if _, err := s.addKeyLocked(inst, pem, pub); err != nil {
			return nil, err
		}
		res.Keys = append(res.Keys, inst)
	}
	// Check each against main with the keys now registered, parents first;
	// a skill that fails is skipped, and so are skills derived from it.
	if todo, err = lineageOrder(todo); err != nil {
		return nil, err
	}
	root, err = s.headTree()
	if err != nil {
		return nil, err
	}
	earlier := map[schema.ID]bool{}
	var keep []*pending
	for _, p := range todo {
		if err := s.checkInput(root, cfg, p, earlier, map[string]*signing.PrivateKey{}, nil); err != nil {
			res.Skipped = append(res.Skipped, Skipped{ID: p.id, Intent: p.t.Intent, Reason: err.Error()})
			continue
		}
		earlier[p.id] = true
		keep = append(keep, p)
	}
	if len(keep) > 0 {
		if res.Imported, err = s.commitTracesLocked(ctx, keep, nil, 1); err != nil {
			return nil, err
		}
	}
	sort.Slice(res.Skipped, func(i, j int) bool { return res.Skipped[i].ID < res.Skipped[j].ID })
	return res, nil
}

// checkRemoteKey decides whether instance's key can be used: registered
// here already, or registered there with a valid key and an instance id
// that is free here (then it is queued for registration).
func (s *Store) checkRemoteKey(root, remoteRoot plumbing.Hash, inst string, cfg *Config, newKeys *[]string) error {
	if cfg.IsRevoked(inst) {
		return fmt.Errorf("%s: the key of instance %s is revoked here", RuleSigKeyRevoked, inst)
	}
	theirs, ok, err := s.trees.lookup(remoteRoot, KeyPath(inst))
	if err != nil {
		return err
	}
	ours, here, err := s.trees.lookup(root, KeyPath(inst))
	if err != nil {
		return err
	}
	switch {
	case here && ok && ours.hash != theirs.hash:
		return fmt.Errorf("instance %s has another key here than there; not importing its skills", inst)
	case here:
		return nil
	case !ok:
		return fmt.Errorf("%s: the remote has no key for instance %s", RuleSigKeyUnknown, inst)
	case cfg.RegistrationMode() == RegistrationMaintainers:
		return fmt.Errorf("%s: registration is by maintainers here: instance %s needs a maintainer's approval (hive key add --by)", RuleKeyUnauthorised, inst)
	}
	b, err := s.objs.read(plumbing.BlobObject, theirs.hash, signing.MaxPublicKeySize)
	if err != nil {
		return err
	}
	if _, err := signing.ParsePublicKeyPEM(b); err != nil {
		return fmt.Errorf("%s: key of instance %s: %w", keyRule(err), inst, err)
	}
	*newKeys = append(*newKeys, inst)
	return nil
}

// traceIDsAt lists the trace ids in a tree.
func (s *Store) traceIDsAt(root plumbing.Hash) ([]schema.ID, error) {
	e, ok, err := s.trees.lookup(root, tracesDir)
	if err != nil || !ok {
		return nil, err
	}
	top, err := s.trees.get(e.hash)
	if err != nil {
		return nil, err
	}
	var ids []schema.ID
	for _, shard := range top.list() {
		if !shard.isTree() {
			continue
		}
		t, err := s.trees.get(shard.hash)
		if err != nil {
			return nil, err
		}
		for _, f := range t.list() {
			if k, ok := classify(tracesDir + "/" + shard.name + "/" + f.name); ok && k == kindTrace {
				ids = append(ids, traceIDOf(tracesDir+"/"+shard.name+"/"+f.name))
			}
		}
	}
	return ids, nil
}
