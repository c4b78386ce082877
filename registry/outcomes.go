package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// Outcomes: an instance reports that it reused a trace and whether it
// worked, in a record signed by its key, one per reporter and trace:
//
//	outcomes/<hh>/<hex>/<instance>.json            the outcome of trace <hex> reported by <instance>
//	outcomes/<hh>/<hex>/<instance>.sigstore.json   the reporter's signature over it
//
// Reputation is computed from outcomes (package trust); this file holds the
// layout, the validator's rules and the reading and writing of them.
const outcomesDir = "outcomes"

// OutcomePath is where instance's outcome about trace lives.
func OutcomePath(trace schema.ID, instance string) string {
	h := trace.Hex()
	return outcomesDir + "/" + h[:2] + "/" + h + "/" + instance + traceExt
}

// outcomeOf returns the trace and reporter an outcome or its bundle's path
// names; the path is one classify accepted.
func outcomeOf(p string) (schema.ID, string) {
	rest := p[len(outcomesDir)+4:] // <hex>/<file>
	file := rest[65:]
	inst, ok := strings.CutSuffix(file, bundleExt)
	if !ok {
		inst = strings.TrimSuffix(file, traceExt)
	}
	return schema.ID("sha256:" + rest[:64]), inst
}

// classifyTrust classifies the paths of outcomes, key rotations and key
// approvals.
func classifyTrust(p string) (pathKind, bool) {
	// file splits name into a record or a bundle of a record named stem.
	file := func(name string, rec, bundle pathKind) (string, pathKind, bool) {
		if stem, ok := strings.CutSuffix(name, bundleExt); ok {
			return stem, bundle, true
		}
		stem, ok := strings.CutSuffix(name, traceExt)
		return stem, rec, ok
	}
	parts := strings.Split(p, "/")
	switch {
	case parts[0] == outcomesDir && len(parts) == 4:
		inst, kind, ok := file(parts[3], kindOutcome, kindOutcomeBundle)
		return kind, ok && isHex64(parts[2]) && parts[1] == parts[2][:2] && schema.ValidInstanceID(inst)
	case parts[0] == rotationsDir && len(parts) == 3:
		n, kind, ok := file(parts[2], kindRotation, kindRotationBundle)
		return kind, ok && schema.ValidInstanceID(parts[1]) && rotationNumber(n) > 0
	case parts[0] == registrationsDir && len(parts) == 2:
		inst, kind, ok := file(parts[1], kindApproval, kindApprovalBundle)
		return kind, ok && schema.ValidInstanceID(inst)
	}
	return 0, false
}

// rotationNumber parses the number of a rotation's file name: a decimal in
// [1, schema.MaxRotations] without leading zeros; 0 when it is not one.
func rotationNumber(s string) int {
	if s == "" || s[0] == '0' || len(s) > 7 {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > schema.MaxRotations || strconv.Itoa(n) != s {
		return 0
	}
	return n
}

// isRecordBundle reports whether p is the bundle of an outcome, rotation or
// key approval: two valid bundles of one record may differ (ECDSA
// signatures are randomised), so a merge may keep either.
func isRecordBundle(p string) bool {
	switch kind, _ := classify(p); kind {
	case kindOutcomeBundle, kindRotationBundle, kindApprovalBundle:
		return true
	}
	return false
}

// checkOutcomes checks the outcome records a commit adds: each signed by
// its reporter's key registered in the parent state, about a trace of the
// parent state, and never by that trace's author. An outcome is immutable
// (path-modified) and deleted only with its trace (checkDisputes).
func (v *validator) checkOutcomes(c plumbing.Hash, parentRoot plumbing.Hash, cfg *Config, added map[string]*entry) []Violation {
	s := v.s
	var vs []Violation
	bad := func(p string, rule Rule, format string, args ...any) {
		vs = append(vs, violationf(c, p, rule, format, args...))
	}
	for p, e := range added {
		switch kind, _ := classify(p); kind {
		case kindOutcomeBundle:
			if _, ok := added[strings.TrimSuffix(p, bundleExt)+traceExt]; !ok {
				bad(p, RuleBundleOrphan, "signature added without its outcome")
			}
		case kindOutcome:
			be, ok := added[recordBundlePath(p)]
			if !ok {
				bad(p, RuleBundleMissing, "outcome added without its signature %s", recordBundlePath(p)[strings.LastIndexByte(p, '/')+1:])
				continue
			}
			b, err := s.objs.read(plumbing.BlobObject, e.hash, schema.MaxOutcomeSize)
			if err != nil {
				bad(p, RuleOutcomeInvalid, "%v", err)
				continue
			}
			o, err := schema.ParseOutcome(b)
			if err != nil {
				bad(p, RuleOutcomeInvalid, "%v", err)
				continue
			}
			trace, reporter := outcomeOf(p)
			if o.Trace != trace || o.InstanceID != reporter {
				bad(p, RuleOutcomeInvalid, "reports on %s by %s, but is filed under %s by %s", o.Trace.Short(), o.InstanceID, trace.Short(), reporter)
				continue
			}
			author, err := s.authorAt(parentRoot, trace)
			if err != nil {
				bad(p, RuleOutcomeUnknownTrace, "%v", err)
				continue
			}
			if author == reporter {
				bad(p, RuleOutcomeSelf, "%s reports on its own trace %s; outcomes come from other instances", reporter, trace.Short())
				continue
			}
			if err := s.verifyRecord(parentRoot, reporter, cfg, b, be.hash); err != nil {
				bad(recordBundlePath(p), recordRule(err), "%v", err)
			}
		}
	}
	return vs
}

// authorAt returns the instance_id of trace in the tree root; an error
// when the trace is not there.
func (s *Store) authorAt(root plumbing.Hash, trace schema.ID) (string, error) {
	e, ok, err := s.trees.lookup(root, TracePath(trace))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("trace %s is not in the hive before this commit", trace.Short())
	}
	b, err := s.objs.read(plumbing.BlobObject, e.hash, schema.MaxTraceSize)
	if err != nil {
		return "", err
	}
	var t struct {
		InstanceID string `json:"instance_id"`
	}
	// The trace was checked strictly when it was added; only its author is
	// wanted here.
	if err := json.Unmarshal(b, &t); err != nil {
		return "", fmt.Errorf("trace %s: %v", trace.Short(), err)
	}
	return t.InstanceID, nil
}

// ReportOutcome records, in a commit of its own, instance's signed report
// that it reused trace (on main) and whether it worked. It refuses, before
// writing anything, an outcome by the trace's author, a second outcome of
// instance about trace (ErrExists), and a key that is not instance's
// registered one.
func (s *Store) ReportOutcome(trace schema.ID, success bool, detail, instance string, key *signing.PrivateKey) (plumbing.Hash, error) {
	o, b, bundle, err := s.signOutcome(trace, success, detail, instance, key)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return s.commitOutcome(o, b, bundle)
}

// signOutcome makes and signs an outcome record, dated now.
func (s *Store) signOutcome(trace schema.ID, success bool, detail, instance string, key *signing.PrivateKey) (*schema.Outcome, []byte, []byte, error) {
	o := &schema.Outcome{Kind: "outcome", Trace: trace, Outcome: schema.OutcomeFailure, Detail: detail, InstanceID: instance,
		CreatedAt: s.now().UTC().Format(time.RFC3339)}
	if success {
		o.Outcome = schema.OutcomeSuccess
	}
	b, err := o.Marshal()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	bundle, err := signing.Sign(key, b)
	if err != nil {
		return nil, nil, nil, err
	}
	return o, b, bundle, nil
}

// commitOutcome checks a signed outcome against main and commits it.
func (s *Store) commitOutcome(o *schema.Outcome, b, bundle []byte) (plumbing.Hash, error) {
	p := OutcomePath(o.Trace, o.InstanceID)
	msg := fmt.Sprintf("hive: %s of %s reported by %s\n\nHive-Outcome: %s %s\nHive-Trace: %s\nHive-Instance: %s\n",
		o.Outcome, o.Trace.Short(), o.InstanceID, o.Trace, o.Outcome, o.Trace, o.InstanceID)
	return s.commitFiles(map[string][]byte{p: b, recordBundlePath(p): bundle}, nil, o.InstanceID, msg,
		func(root plumbing.Hash) error { return s.checkOutcomeInput(root, o, b, bundle) })
}

// checkOutcomeInput is what the validator will check of a new outcome,
// with errors for a person or a client: trace on main, not the reporter's
// own, not reported before, signed by the reporter's registered key.
func (s *Store) checkOutcomeInput(root plumbing.Hash, o *schema.Outcome, b, bundle []byte) error {
	author, err := s.authorAt(root, o.Trace)
	if err != nil {
		if _, removed, _ := s.trees.lookup(root, recordPath(disputesRemoved, o.Trace)); removed {
			return fmt.Errorf("%s: %s was removed by a resolved dispute: %w", RuleOutcomeUnknownTrace, o.Trace, ErrNotFound)
		}
		return fmt.Errorf("%s: trace %s is not on main: %w", RuleOutcomeUnknownTrace, o.Trace, ErrNotFound)
	}
	if author == o.InstanceID {
		return fmt.Errorf("%s: %s is the author of %s; outcomes come from other instances: %w", RuleOutcomeSelf, author, o.Trace.Short(), ErrInvalid)
	}
	p := OutcomePath(o.Trace, o.InstanceID)
	if old, ok, err := s.trees.lookup(root, p); err != nil {
		return err
	} else if ok {
		prev, _ := s.objs.read(plumbing.BlobObject, old.hash, schema.MaxOutcomeSize)
		what := "another outcome"
		if bytes.Equal(prev, b) {
			what = "this outcome"
		}
		return fmt.Errorf("%s already reported %s of %s (one per reporter and trace, never changed): %w", o.InstanceID, what, o.Trace.Short(), ErrExists)
	}
	cfg, err := s.configAt(s.trees, root)
	if err != nil {
		return err
	}
	if cfg.IsRevoked(o.InstanceID) {
		return fmt.Errorf("%s: the key of instance %s is revoked: %w", RuleSigKeyRevoked, o.InstanceID, ErrUnauthorised)
	}
	ke, ok, err := s.trees.lookup(root, KeyPath(o.InstanceID))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: no key registered for instance %s (run: hive key add --instance %s): %w", RuleSigKeyUnknown, o.InstanceID, o.InstanceID, ErrUnauthorised)
	}
	pub, err := s.key(&readerCache{objs: s.objs, trees: s.trees}, ke.hash)
	if err != nil {
		return err
	}
	bd, err := signing.ParseBundle(bundle)
	if err != nil {
		return fmt.Errorf("%s: %v: %w", RuleSigBundleInvalid, err, ErrInvalid)
	}
	if err := bd.Verify(pub, b); err != nil {
		return fmt.Errorf("%s: signature of instance %s: %v: %w", RuleSigInvalid, o.InstanceID, err, ErrInvalid)
	}
	return nil
}

// MaxOutcomeEnvelopeSize bounds an outcome envelope: a record, its bundle
// and the JSON around them.
const MaxOutcomeEnvelopeSize = schema.MaxOutcomeSize + signing.MaxBundleSize + 1024

// OutcomeEnvelope is a signed outcome on the wire (POST
// /skills/{id}/outcomes, `hive outcome --export`): a JSON object with
// exactly the members "outcome" (the record) and "signature" (its sigstore
// bundle).
type OutcomeEnvelope struct {
	Outcome *schema.Outcome
	Record  []byte // canonical record bytes
	Bundle  []byte // canonical bundle bytes
}

// MarshalOutcomeEnvelope wraps a canonical outcome record and its bundle.
func MarshalOutcomeEnvelope(record, bundle []byte) ([]byte, error) {
	raw, err := json.Marshal(map[string]json.RawMessage{"outcome": record, "signature": bundle})
	if err != nil {
		return nil, err
	}
	return schema.CanonicalJSON(raw)
}

// SignOutcome makes the envelope of instance's signed outcome about trace,
// without committing it (for POST /skills/{id}/outcomes).
func (s *Store) SignOutcome(trace schema.ID, success bool, detail, instance string, key *signing.PrivateKey) ([]byte, error) {
	_, b, bundle, err := s.signOutcome(trace, success, detail, instance, key)
	if err != nil {
		return nil, err
	}
	return MarshalOutcomeEnvelope(b, bundle)
}

// ParseOutcomeEnvelope parses an outcome envelope strictly: size first,
// the structural checks of every JSON document, exactly two members, a
// record that parses strictly once canonical, and a bundle that parses.
func ParseOutcomeEnvelope(b []byte) (*OutcomeEnvelope, error) {
	if len(b) > MaxOutcomeEnvelopeSize {
		return nil, fmt.Errorf("outcome envelope is %d bytes, over the limit of %d: %w", len(b), MaxOutcomeEnvelopeSize, ErrInvalid)
	}
	if _, err := schema.CanonicalJSON(b); err != nil {
		return nil, fmt.Errorf("outcome envelope: %v: %w", err, ErrInvalid)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("outcome envelope: %v: %w", err, ErrInvalid)
	}
	rec, ok1 := m["outcome"]
	sig, ok2 := m["signature"]
	if !ok1 || !ok2 || len(m) != 2 {
		return nil, fmt.Errorf("outcome envelope: want exactly the members \"outcome\" and \"signature\": %w", ErrInvalid)
	}
	record, err := schema.CanonicalJSON(rec)
	if err != nil {
		return nil, fmt.Errorf("outcome envelope: outcome: %v: %w", err, ErrInvalid)
	}
	o, err := schema.ParseOutcome(record)
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", RuleOutcomeInvalid, err, ErrInvalid)
	}
	bundle, err := schema.CanonicalJSON(sig)
	if err != nil {
		return nil, fmt.Errorf("outcome envelope: signature: %v: %w", err, ErrInvalid)
	}
	if _, err := signing.ParseBundle(bundle); err != nil {
		return nil, fmt.Errorf("%s: %v: %w", RuleSigBundleInvalid, err, ErrInvalid)
	}
	return &OutcomeEnvelope{Outcome: o, Record: record, Bundle: bundle}, nil
}

// ImportOutcome commits a signed outcome from an envelope, with the
// signature it carries, after the checks of ReportOutcome.
func (s *Store) ImportOutcome(env *OutcomeEnvelope) (plumbing.Hash, error) {
	return s.commitOutcome(env.Outcome, env.Record, env.Bundle)
}

// Outcomes lists the outcomes about trace on main, by reporter.
func (s *Store) Outcomes(trace schema.ID) ([]*schema.Outcome, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	h := trace.Hex()
	dir := outcomesDir + "/" + h[:2] + "/" + h
	e, ok, err := s.trees.lookup(root, dir)
	if err != nil || !ok || !e.isTree() {
		return nil, err
	}
	t, err := s.trees.get(e.hash)
	if err != nil {
		return nil, err
	}
	var out []*schema.Outcome
	for _, f := range t.list() {
		if k, _ := classify(dir + "/" + f.name); k != kindOutcome {
			continue
		}
		b, err := s.objs.read(plumbing.BlobObject, f.hash, schema.MaxOutcomeSize)
		if err != nil {
			return nil, err
		}
		o, err := schema.ParseOutcome(b)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", dir, f.name, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// OutcomeKey names an outcome: the trace and its reporter.
type OutcomeKey struct {
	Trace    schema.ID
	Reporter string
}

// OutcomeChanges lists the outcomes added and removed between the trees of
// commits a and b (a may be zero: every outcome of b is added), reading
// only the folders whose hashes differ. Added records are parsed strictly.
func (s *Store) OutcomeChanges(a, b plumbing.Hash) (added []*schema.Outcome, removed []OutcomeKey, err error) {
	changes, err := s.dirChanges(a, b, outcomesDir)
	if err != nil {
		return nil, nil, err
	}
	for _, ch := range changes {
		if k, ok := classify(ch.path); !ok || k != kindOutcome {
			continue
		}
		switch {
		case ch.new == nil:
			trace, reporter := outcomeOf(ch.path)
			removed = append(removed, OutcomeKey{trace, reporter})
		case ch.old == nil:
			data, err := s.objs.read(plumbing.BlobObject, ch.new.hash, schema.MaxOutcomeSize)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", ch.path, err)
			}
			o, err := schema.ParseOutcome(data)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", ch.path, err)
			}
			added = append(added, o)
		}
	}
	return added, removed, nil
}

// RemovalChanges lists the traces whose tombstones were added between the
// trees of commits a and b: the traces removed by an upheld dispute.
func (s *Store) RemovalChanges(a, b plumbing.Hash) ([]schema.ID, error) {
	changes, err := s.dirChanges(a, b, disputesRemoved)
	if err != nil {
		return nil, err
	}
	var out []schema.ID
	for _, ch := range changes {
		if k, ok := classify(ch.path); ok && k == kindTombstone && ch.old == nil && ch.new != nil {
			out = append(out, traceIDOf(ch.path))
		}
	}
	return out, nil
}

// dirChanges lists the files that differ under folder dir between the
// trees of commits a (may be zero) and b.
func (s *Store) dirChanges(a, b plumbing.Hash, dir string) ([]change, error) {
	sub := func(c plumbing.Hash) (plumbing.Hash, error) {
		if c.IsZero() {
			return plumbing.ZeroHash, nil
		}
		root, err := s.CommitTree(c)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		e, ok, err := s.trees.lookup(root, dir)
		if err != nil || !ok || !e.isTree() {
			return plumbing.ZeroHash, err
		}
		return e.hash, nil
	}
	ta, err := sub(a)
	if err != nil {
		return nil, err
	}
	tb, err := sub(b)
	if err != nil {
		return nil, err
	}
	var changes []change
	if err := s.diff(s.trees, ta, tb, false, dir+"/", &changes); err != nil {
		return nil, err
	}
	return changes, nil
}
