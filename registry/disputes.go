package registry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// Disputes: the seed's DisputeResolver. An instance opens a dispute about a
// trace (a signed record); a maintainer resolves it (a signed record) by
// dismissing it or by removing the trace, in the same commit that deletes
// the trace and leaves a tombstone so that the id can never come back.
//
//	disputes/open/<hh>/<hex>.json              a dispute; <hex> = sha256 of the file
//	disputes/open/<hh>/<hex>.sigstore.json     its signature by the disputing instance
//	disputes/resolved/<hh>/<hex>.json          the resolution of dispute <hex> (one at most)
//	disputes/resolved/<hh>/<hex>.sigstore.json its signature by a maintainer
//	disputes/removed/<hh>/<hex>.json           tombstone of removed trace <hex>
const (
	disputesOpen     = disputesDir + "/open"
	disputesResolved = disputesDir + "/resolved"
	disputesRemoved  = disputesDir + "/removed"
	disputesDir      = "disputes"
)

// MaxRecordSize bounds a dispute, resolution or tombstone file.
const MaxRecordSize = schema.MaxRecordSize

// Decisions of a resolution.
const (
	DecisionRemove  = schema.DecisionRemove
	DecisionDismiss = schema.DecisionDismiss
)

// Dispute is a signed complaint about a trace (schema.Dispute).
type Dispute = schema.Dispute

// Resolution is a maintainer's signed decision on a dispute
// (schema.Resolution).
type Resolution = schema.Resolution

// Tombstone marks a removed trace (schema.Tombstone).
type Tombstone = schema.Tombstone

// disputePath is where a dispute, its resolution or a tombstone lives.
func recordPath(dir string, id schema.ID) string {
	h := id.Hex()
	return dir + "/" + h[:2] + "/" + h + traceExt
}

func recordBundlePath(p string) string { return strings.TrimSuffix(p, traceExt) + bundleExt }

// ParseDispute parses a dispute record strictly (schema.ParseDispute).
func ParseDispute(b []byte) (*Dispute, error) { return schema.ParseDispute(b) }

// ParseResolution parses a resolution record strictly
// (schema.ParseResolution).
func ParseResolution(b []byte) (*Resolution, error) { return schema.ParseResolution(b) }

// verifyRecord checks a record's bundle with the key registered for
// instance in the tree root (a commit's parent state).
func (s *Store) verifyRecord(root plumbing.Hash, instance string, cfg *Config, data []byte, bundleBlob plumbing.Hash) error {
	if cfg.IsRevoked(instance) {
		return ruleErrorf(RuleSigKeyRevoked, "the key of instance %s is revoked", instance)
	}
	ke, ok, err := s.trees.lookup(root, KeyPath(instance))
	if err != nil {
		return err
	}
	if !ok {
		return ruleErrorf(RuleSigKeyUnknown, "no key registered for instance %s", instance)
	}
	pub, err := s.key(&readerCache{objs: s.objs, trees: s.trees}, ke.hash)
	if err != nil {
		return err
	}
	bb, err := s.objs.read(plumbing.BlobObject, bundleBlob, signing.MaxBundleSize)
	if err != nil {
		return err
	}
	b, err := signing.ParseBundle(bb)
	if err != nil {
		return ruleErrorf(RuleSigBundleInvalid, "%v", err)
	}
	if err := b.Verify(pub, data); err != nil {
		return ruleErrorf(RuleSigInvalid, "%v (instance %s)", err, instance)
	}
	return nil
}

// ruleErrorf is a broken rule as an error (a *schema.Error).
func ruleErrorf(rule Rule, format string, args ...any) error {
	return &schema.Error{Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

// checkDisputes checks the dispute records a commit adds, and every trace
// it deletes: a deletion needs a maintainer's removal in the same commit.
func (v *validator) checkDisputes(c plumbing.Hash, parentRoot, root plumbing.Hash, cfg *Config, added map[string]*entry, deleted map[string]bool) []Violation {
	s := v.s
	var vs []Violation
	bad := func(p string, rule Rule, format string, args ...any) {
		vs = append(vs, violationf(c, p, rule, format, args...))
	}
	read := func(p string, e *entry) []byte {
		b, err := s.objs.read(plumbing.BlobObject, e.hash, MaxRecordSize)
		if err != nil {
			bad(p, RuleDisputeInvalid, "%v", err)
			return nil
		}
		return b
	}
	bundleOf := func(p string) *entry {
		b, ok := added[recordBundlePath(p)]
		if !ok {
			bad(p, RuleBundleMissing, "record added without its signature %s", recordBundlePath(p)[strings.LastIndexByte(p, '/')+1:])
			return nil
		}
		return b
	}
	removedTraces := map[schema.ID]schema.ID{} // trace -> dispute, ordered by a valid resolution here
	tombstones := map[schema.ID]bool{}
	type tombstone struct {
		path string
		t    *Tombstone
	}
	var tombs []tombstone
	for p, e := range added {
		kind, _ := classify(p)
		switch kind {
		case kindDispute:
			b := read(p, e)
			be := bundleOf(p)
			if b == nil || be == nil {
				continue
			}
			if schema.Digest(b) != traceIDOf(p) {
				bad(p, RuleTraceName, "file's sha256 is %s, not its name", schema.Digest(b).Hex())
				continue
			}
			d, err := ParseDispute(b)
			if err != nil {
				bad(p, RuleDisputeInvalid, "%v", err)
				continue
			}
			if _, ok, _ := s.trees.lookup(parentRoot, TracePath(d.Trace)); !ok {
				bad(p, RuleDisputeInvalid, "the disputed trace %s is not in the hive", d.Trace)
			}
			if err := s.verifyRecord(parentRoot, d.InstanceID, cfg, b, be.hash); err != nil {
				bad(recordBundlePath(p), recordRule(err), "%v", err)
			}
		case kindResolution:
			b := read(p, e)
			be := bundleOf(p)
			if b == nil || be == nil {
				continue
			}
			r, err := ParseResolution(b)
			if err != nil {
				bad(p, RuleDisputeInvalid, "%v", err)
				continue
			}
			if r.Dispute != traceIDOf(p) {
				bad(p, RuleDisputeInvalid, "resolves %s, but is filed as the resolution of %s", r.Dispute, traceIDOf(p))
				continue
			}
			de, ok, _ := s.trees.lookup(root, recordPath(disputesOpen, r.Dispute))
			if !ok {
				bad(p, RuleDisputeInvalid, "no dispute %s", r.Dispute)
				continue
			}
			db, err := s.objs.read(plumbing.BlobObject, de.hash, MaxRecordSize)
			if err != nil {
				bad(p, RuleObjectInvalid, "%v", err)
				continue
			}
			if d, err := ParseDispute(db); err != nil || d.Trace != r.Trace {
				bad(p, RuleDisputeInvalid, "the dispute is about another trace, or invalid")
				continue
			}
			if !cfg.IsMaintainer(r.InstanceID) {
				bad(p, RuleResolutionUnauthorised, "%s is not a maintainer of this hive", r.InstanceID)
				continue
			}
			if err := s.verifyRecord(parentRoot, r.InstanceID, cfg, b, be.hash); err != nil {
				bad(recordBundlePath(p), RuleResolutionUnauthorised, "%v", err)
				continue
			}
			if r.Decision == DecisionRemove {
				removedTraces[r.Trace] = r.Dispute
			}
		case kindTombstone:
			b := read(p, e)
			if b == nil {
				continue
			}
			t, err := schema.ParseTombstone(b)
			if err != nil || t.Trace != traceIDOf(p) {
				bad(p, RuleDisputeInvalid, "tombstone of %s is invalid", traceIDOf(p))
				continue
			}
			tombstones[t.Trace] = true
			tombs = append(tombs, tombstone{p, t})
		}
	}
	// Resolutions are all known now: each tombstone needs one, in this
	// commit, that removes its trace for its dispute.
	for _, tb := range tombs {
		if removedTraces[tb.t.Trace] != tb.t.Dispute {
			bad(tb.path, RuleRemovalUnresolved, "tombstone without a maintainer's resolution of dispute %s removing %s in this commit", tb.t.Dispute, tb.t.Trace)
		}
	}
	for p := range deleted {
		kind, _ := classify(p)
		if kind == kindOutcome || kind == kindOutcomeBundle {
			// An outcome leaves only with its trace (outcomes.go).
			if id, _ := outcomeOf(p); removedTraces[id] == "" || !tombstones[id] {
				bad(p, RuleRemovalUnresolved, "outcome deleted without a maintainer's removal of its trace %s in this commit", id.Short())
			}
			continue
		}
		if kind != kindTrace && kind != kindBundle {
			bad(p, RulePathDeleted, "deleted; a hive only grows")
			continue
		}
		id := traceIDOf(p)
		if removedTraces[id] == "" || !tombstones[id] {
			bad(p, RuleRemovalUnresolved, "deleted without a maintainer's resolution ordering its removal, and its tombstone, in this commit")
		}
	}
	for id := range removedTraces {
		if !deleted[TracePath(id)] || !deleted[BundlePath(id)] || !tombstones[id] {
			bad(recordPath(disputesResolved, removedTraces[id]), RuleRemovalUnresolved, "orders the removal of %s, but the commit does not delete it and leave its tombstone", id)
		}
	}
	return vs
}

// recordRule is the rule a record's signature check broke.
func recordRule(err error) Rule {
	var e *schema.Error
	if errors.As(err, &e) && (e.Rule == RuleSigKeyUnknown || e.Rule == RuleSigKeyRevoked || e.Rule == RuleSigBundleInvalid) {
		return e.Rule
	}
	return RuleSigInvalid
}

// dispute paths, for classify.
func classifyDispute(p string) (pathKind, bool) {
	for _, d := range []struct {
		dir          string
		kind, bundle pathKind
	}{{disputesOpen, kindDispute, kindDisputeBundle}, {disputesResolved, kindResolution, kindResolutionBundle}, {disputesRemoved, kindTombstone, 0}} {
		rest, ok := strings.CutPrefix(p, d.dir+"/")
		if !ok {
			continue
		}
		if len(rest) < 3 || rest[2] != '/' {
			return 0, false
		}
		shard, file := rest[:2], rest[3:]
		if hex, ok := strings.CutSuffix(file, bundleExt); ok && d.bundle != 0 {
			return d.bundle, isHex64(hex) && hex[:2] == shard
		}
		hex, ok := strings.CutSuffix(file, traceExt)
		return d.kind, ok && isHex64(hex) && hex[:2] == shard
	}
	return 0, false
}

// OpenDispute records, in a commit of its own, instance's signed dispute
// about a trace on main. It returns the dispute's id.
func (s *Store) OpenDispute(trace schema.ID, reason string, instance string, key *signing.PrivateKey) (schema.ID, plumbing.Hash, error) {
	d := Dispute{Kind: "dispute", Trace: trace, Reason: reason, InstanceID: instance, CreatedAt: s.now().UTC().Format(time.RFC3339)}
	b, err := schema.MarshalRecord(d)
	if err != nil {
		return "", plumbing.ZeroHash, err
	}
	if _, err := ParseDispute(b); err != nil {
		return "", plumbing.ZeroHash, fmt.Errorf("dispute: %v: %w", err, ErrInvalid)
	}
	bundle, err := signing.Sign(key, b)
	if err != nil {
		return "", plumbing.ZeroHash, err
	}
	id := schema.Digest(b)
	p := recordPath(disputesOpen, id)
	c, err := s.commitFiles(map[string][]byte{p: b, recordBundlePath(p): bundle}, nil, instance,
		fmt.Sprintf("hive: dispute %s\n\nHive-Dispute: %s\nHive-Trace: %s\nHive-Instance: %s\n", trace.Short(), id, trace, instance),
		func(root plumbing.Hash) error {
			if _, ok, err := s.trees.lookup(root, TracePath(trace)); err != nil || !ok {
				return errorf(ErrNotFound, "trace %s is not on main", trace)
			}
			return s.checkSigner(root, instance, key)
		})
	return id, c, err
}

// ResolveDispute records a maintainer's decision on a dispute; with
// DecisionRemove the same commit deletes the trace and leaves its tombstone.
func (s *Store) ResolveDispute(dispute schema.ID, decision, reason, instance string, key *signing.PrivateKey) (plumbing.Hash, error) {
	root, err := s.headTree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	de, ok, err := s.trees.lookup(root, recordPath(disputesOpen, dispute))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("dispute %s: %w", dispute, ErrNotFound)
	}
	db, err := s.objs.read(plumbing.BlobObject, de.hash, MaxRecordSize)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	d, err := ParseDispute(db)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	cfg, err := s.configAt(s.trees, root)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !cfg.IsMaintainer(instance) || cfg.IsRevoked(instance) {
		return plumbing.ZeroHash, errorf(ErrUnauthorised, "%s: %s is not a maintainer of this hive (hive.json lists %v)", RuleResolutionUnauthorised, instance, cfg.Maintainers)
	}
	if err := s.checkSigner(root, instance, key); err != nil {
		return plumbing.ZeroHash, err
	}
	r := Resolution{Kind: "resolution", Dispute: dispute, Trace: d.Trace, Decision: decision, Reason: reason, InstanceID: instance, CreatedAt: s.now().UTC().Format(time.RFC3339)}
	b, err := schema.MarshalRecord(r)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := ParseResolution(b); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolution: %v: %w", err, ErrInvalid)
	}
	bundle, err := signing.Sign(key, b)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	p := recordPath(disputesResolved, dispute)
	files := map[string][]byte{p: b, recordBundlePath(p): bundle}
	var remove []string
	if decision == DecisionRemove {
		tomb, err := schema.MarshalRecord(Tombstone{Dispute: dispute, Trace: d.Trace})
		if err != nil {
			return plumbing.ZeroHash, err
		}
		files[recordPath(disputesRemoved, d.Trace)] = tomb
		remove = []string{TracePath(d.Trace), BundlePath(d.Trace)}
	}
	return s.commitFiles(files, remove, instance,
		fmt.Sprintf("hive: %s dispute %s\n\nHive-Resolution: %s %s\nHive-Trace: %s\nHive-Instance: %s\n", decision, dispute.Short(), dispute, decision, d.Trace, instance),
		func(root plumbing.Hash) error {
			if _, ok, err := s.trees.lookup(root, p); err != nil || ok {
				return errorf(ErrExists, "dispute %s is already resolved", dispute)
			}
			return nil
		})
}

// checkSigner refuses, before anything is written, a signer whose key the
// hive does not hold in root: none registered, or another one than key's
// public half. The validator would refuse the commit; this says why first.
func (s *Store) checkSigner(root plumbing.Hash, instance string, key *signing.PrivateKey) error {
	e, ok, err := s.trees.lookup(root, KeyPath(instance))
	if err != nil {
		return err
	}
	if !ok {
		return errorf(ErrUnauthorised, "%s: no key registered for instance %s (no %s on main)", RuleSigKeyUnknown, instance, KeyPath(instance))
	}
	pub, err := s.key(&readerCache{objs: s.objs, trees: s.trees}, e.hash)
	if err != nil {
		return fmt.Errorf("%s: %w", KeyPath(instance), err)
	}
	if !key.Public().Equal(pub) {
		return errorf(ErrUnauthorised, "%s: the private key of %s (%s) is not the key registered in %s (%s)", RuleSigInvalid, instance, key.Public().Fingerprint()[:16], KeyPath(instance), pub.Fingerprint()[:16])
	}
	return nil
}

// commitFiles commits added files and removed paths on main in one commit,
// gated by the validator; check runs first, under the lock.
func (s *Store) commitFiles(files map[string][]byte, remove []string, who, msg string, check func(root plumbing.Hash) error) (plumbing.Hash, error) {
	unlock, err := s.lock()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer unlock()
	head, root, err := s.headState()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := check(root); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := s.checkHandEdits(root, files, remove); err != nil {
		return plumbing.ZeroHash, err
	}
	w := &writer{s: s}
	defer w.discard()
	edits := map[string]*entry{}
	for p, b := range files {
		h, err := w.blob(b)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		edits[p] = &entry{mode: filemode.Regular, hash: h}
	}
	for _, p := range remove {
		edits[p] = nil
	}
	root, err = w.edit(root, edits)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	c, err := w.commit(root, []plumbing.Hash{head}, who, s.now(), msg)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := s.commitRange(w, head, c); err != nil {
		return plumbing.ZeroHash, err
	}
	if remove == nil {
		remove = []string{}
	}
	s.moved(head, c, files, remove)
	return c, nil
}

// DisputeStatus is a dispute and what became of it.
type DisputeStatus struct {
	ID         schema.ID   `json:"id"`
	Dispute    Dispute     `json:"dispute"`
	Resolution *Resolution `json:"resolution,omitempty"`
}

// Disputes lists the disputes on main with their resolutions.
func (s *Store) Disputes() ([]DisputeStatus, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	var out []DisputeStatus
	e, ok, err := s.trees.lookup(root, disputesOpen)
	if err != nil || !ok {
		return out, err
	}
	top, err := s.trees.get(e.hash)
	if err != nil {
		return nil, err
	}
	for _, shard := range top.list() {
		t, err := s.trees.get(shard.hash)
		if err != nil {
			return nil, err
		}
		for _, f := range t.list() {
			p := disputesOpen + "/" + shard.name + "/" + f.name
			if k, _ := classify(p); k != kindDispute {
				continue
			}
			b, err := s.objs.read(plumbing.BlobObject, f.hash, MaxRecordSize)
			if err != nil {
				return nil, err
			}
			d, err := ParseDispute(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			st := DisputeStatus{ID: traceIDOf(p), Dispute: *d}
			if re, ok, err := s.trees.lookup(root, recordPath(disputesResolved, st.ID)); err != nil {
				return nil, err
			} else if ok {
				rb, err := s.objs.read(plumbing.BlobObject, re.hash, MaxRecordSize)
				if err != nil {
					return nil, err
				}
				if st.Resolution, err = ParseResolution(rb); err != nil {
					return nil, err
				}
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// ResolveDisputeID turns a dispute id or unique prefix, or the id of a
// trace with one open dispute, into the id of a dispute on main.
func (s *Store) ResolveDisputeID(q string) (schema.ID, error) {
	list, err := s.Disputes()
	if err != nil {
		return "", err
	}
	hex := strings.TrimPrefix(q, "sha256:")
	var found []schema.ID
	for _, d := range list {
		if len(hex) >= 6 && strings.HasPrefix(d.ID.Hex(), hex) {
			found = append(found, d.ID)
		}
	}
	what := "dispute prefix"
	if len(found) == 0 { // a trace's id: its one open dispute
		what = "trace " + schema.Quote(q, 80) + " has open disputes"
		for _, d := range list {
			if len(hex) >= 6 && strings.HasPrefix(d.Dispute.Trace.Hex(), hex) && d.Resolution == nil {
				found = append(found, d.ID)
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("dispute %s: %w", schema.Quote(q, 80), ErrNotFound)
	case 1:
		return found[0], nil
	}
	short := make([]string, 0, len(found))
	for _, id := range found[:min(len(found), 5)] {
		short = append(short, id.Hex()[:12])
	}
	if what == "dispute prefix" {
		return "", fmt.Errorf("dispute prefix %s is ambiguous: it names %s; give more of one", schema.Quote(q, 80), strings.Join(short, ", "))
	}
	return "", fmt.Errorf("%s: %s; name one of them", what, strings.Join(short, ", "))
}

// Removal is a trace removed from main by a resolved dispute.
type Removal struct {
	Trace   schema.ID
	Dispute schema.ID
}

// Removed reports whether a trace was removed by a resolved dispute, and by
// which dispute.
func (s *Store) Removed(id schema.ID) (*Removal, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	e, ok, err := s.trees.lookup(root, recordPath(disputesRemoved, id))
	if err != nil || !ok {
		return nil, err
	}
	b, err := s.objs.read(plumbing.BlobObject, e.hash, MaxRecordSize)
	if err != nil {
		return nil, err
	}
	t, err := schema.ParseTombstone(b)
	if err != nil {
		return nil, err
	}
	return &Removal{Trace: t.Trace, Dispute: t.Dispute}, nil
}
