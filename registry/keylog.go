package registry

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// Keys that change: a registered key is replaced only together with a
// signed rotation record, and where hive.json says "registration":
// "maintainers" a new instance's key needs a maintainer's signed approval:
//
//	rotations/<instance>/<n>.json                the n-th rotation of the instance's key (n = 1, 2, 3...)
//	rotations/<instance>/<n>.sigstore.json       signed by the key it retires, or by a maintainer (recovery)
//	registrations/<instance>.json                a maintainer's approval of the instance's first key
//	registrations/<instance>.sigstore.json       signed by that maintainer
//
// A rotation takes effect from the next commit: the commit that makes it is
// judged by the key it retires, as every commit is judged by its parent.
const (
	rotationsDir     = "rotations"
	registrationsDir = "registrations"
)

// RotationPath is the path of the n-th rotation record of instance.
func RotationPath(instance string, n int) string {
	return rotationsDir + "/" + instance + "/" + strconv.Itoa(n) + traceExt
}

// ApprovalPath is the path of the approval of instance's first key.
func ApprovalPath(instance string) string { return registrationsDir + "/" + instance + traceExt }

// keyChange is a registered key replaced by a commit.
type keyChange struct{ old, new plumbing.Hash }

// checkKeyLog checks a commit's key approvals and rotations against its
// parent state: added holds the files it adds, newKeys the valid keys it
// registers, rotated the keys it replaces.
func (v *validator) checkKeyLog(c, parentRoot plumbing.Hash, cfg *Config, added map[string]*entry, newKeys map[string]plumbing.Hash, rotated map[string]keyChange) []Violation {
	s := v.s
	var vs []Violation
	bad := func(p string, rule Rule, format string, args ...any) {
		vs = append(vs, violationf(c, p, rule, format, args...))
	}
	rc := &readerCache{objs: s.objs, trees: s.trees}
	// signedBy checks a record's bundle with the key of signer, a
	// maintainer in the parent state, or with own when the instance itself
	// may sign.
	signedBy := func(signer string, own *signing.PublicKey, data []byte, bundle *entry) error {
		if own == nil {
			if !cfg.IsMaintainer(signer) {
				return fmt.Errorf("%s is not a maintainer of this hive", signer)
			}
			return s.verifyRecord(parentRoot, signer, cfg, data, bundle.hash)
		}
		bb, err := s.objs.read(plumbing.BlobObject, bundle.hash, signing.MaxBundleSize)
		if err != nil {
			return err
		}
		b, err := signing.ParseBundle(bb)
		if err != nil {
			return ruleErrorf(RuleSigBundleInvalid, "%v", err)
		}
		return b.Verify(own, data)
	}
	// authorityRule is the rule a signature check by signedBy broke: def,
	// unless the bundle itself does not parse.
	authorityRule := func(err error, def Rule) Rule {
		var e *schema.Error
		if errors.As(err, &e) && e.Rule == RuleSigBundleInvalid {
			return RuleSigBundleInvalid
		}
		return def
	}
	record := func(p string, e *entry, kindBundle string) ([]byte, *entry) {
		be, ok := added[recordBundlePath(p)]
		if !ok {
			bad(p, RuleBundleMissing, "%s added without its signature", kindBundle)
			return nil, nil
		}
		b, err := s.objs.read(plumbing.BlobObject, e.hash, schema.MaxKeyRecordSize)
		if err != nil {
			bad(p, RuleObjectInvalid, "%v", err)
			return nil, nil
		}
		return b, be
	}
	rotations := map[string][]string{} // instance -> rotation records added
	for p, e := range added {
		switch kind, _ := classify(p); kind {
		case kindKey:
			inst := instanceOf(p)
			if cfg.RegistrationMode() == RegistrationMaintainers {
				if _, ok := added[ApprovalPath(inst)]; !ok {
					bad(p, RuleKeyUnauthorised, "registration is by maintainers in this hive: a new key needs a maintainer's approval in %s", ApprovalPath(inst))
				}
			}
		case kindApprovalBundle, kindRotationBundle:
			if _, ok := added[strings.TrimSuffix(p, bundleExt)+traceExt]; !ok {
				bad(p, RuleBundleOrphan, "signature added without its record")
			}
		case kindRotation:
			inst := strings.Split(p, "/")[1]
			rotations[inst] = append(rotations[inst], p)
		case kindApproval:
			b, be := record(p, e, "approval")
			if b == nil {
				continue
			}
			inst := strings.TrimSuffix(p[len(registrationsDir)+1:], traceExt)
			if _, ok := added[KeyPath(inst)]; !ok {
				bad(p, RuleKeyApprovalInvalid, "approves a key of %s, but the commit registers none", inst)
				continue
			}
			keyBlob, ok := newKeys[inst]
			if !ok {
				continue // the key itself is refused, and reported
			}
			a, err := schema.ParseKeyApproval(b)
			if err != nil {
				bad(p, RuleKeyApprovalInvalid, "%v", err)
				continue
			}
			pub, err := s.key(rc, keyBlob)
			if err != nil {
				continue
			}
			if a.InstanceID != inst || a.Key != pub.Fingerprint() {
				bad(p, RuleKeyApprovalInvalid, "approves key %s of %s, but the commit registers key %s of %s", a.Key[:12], a.InstanceID, pub.Fingerprint()[:12], inst)
				continue
			}
			// A maintainer named in hive.json may approve its own first key.
			var own *signing.PublicKey
			if a.Signer == inst && cfg.IsMaintainer(inst) && !cfg.IsRevoked(inst) {
				own = pub
			}
			if err := signedBy(a.Signer, own, b, be); err != nil {
				bad(recordBundlePath(p), authorityRule(err, RuleKeyUnauthorised), "approval of %s: %v", inst, err)
			}
		}
	}
	for inst, paths := range rotations {
		if _, ok := rotated[inst]; !ok {
			for _, p := range paths {
				bad(p, RuleKeyRotationInvalid, "a rotation record without a change of %s in the same commit", KeyPath(inst))
			}
		}
	}
	for inst, ch := range rotated {
		kp := KeyPath(inst)
		paths := rotations[inst]
		switch {
		case len(paths) == 0:
			bad(kp, RulePathModified, "changed without a rotation record %s; a key is replaced only by a rotation", rotationsDir+"/"+inst+"/<n>.json")
			continue
		case len(paths) > 1:
			bad(kp, RuleKeyRotationInvalid, "%d rotation records of %s in one commit; one at a time", len(paths), inst)
			continue
		}
		p := paths[0]
		if cfg.IsRevoked(inst) {
			bad(p, RuleKeyRotationUnauthorised, "the key of %s is revoked: a revoked instance's key is not rotated", inst)
			continue
		}
		newPub, err := s.key(rc, ch.new)
		if err != nil {
			bad(kp, keyRule(err), "%v", err)
			continue
		}
		oldPub, err := s.key(rc, ch.old)
		if err != nil {
			bad(kp, RuleObjectInvalid, "the retired key: %v", err)
			continue
		}
		b, be := record(p, added[p], "rotation")
		if b == nil {
			continue
		}
		r, err := schema.ParseKeyRotation(b)
		if err != nil {
			bad(p, RuleKeyRotationInvalid, "%v", err)
			continue
		}
		n := rotationNumber(strings.TrimSuffix(p[strings.LastIndexByte(p, '/')+1:], traceExt))
		done, err := s.rotationCount(parentRoot, inst)
		if err != nil {
			bad(p, RuleObjectInvalid, "%v", err)
			continue
		}
		switch {
		case r.InstanceID != inst || r.Sequence != n:
			bad(p, RuleKeyRotationInvalid, "rotation %d of %s, but filed as rotation %d of %s", r.Sequence, r.InstanceID, n, inst)
			continue
		case n != done+1:
			bad(p, RuleKeyRotationInvalid, "rotation %d of %s follows %d rotations; want %d", n, inst, done, done+1)
			continue
		case r.Previous != oldPub.Fingerprint():
			bad(p, RuleKeyRotationInvalid, "retires key %s, but the registered key of %s is %s (a replayed or stale rotation)", r.Previous[:12], inst, oldPub.Fingerprint()[:12])
			continue
		case r.Key != newPub.Fingerprint():
			bad(p, RuleKeyRotationInvalid, "names key %s, but the commit registers %s", r.Key[:12], newPub.Fingerprint()[:12])
			continue
		}
		var own *signing.PublicKey
		if r.Signer == inst {
			own = oldPub
		}
		if err := signedBy(r.Signer, own, b, be); err != nil {
			bad(recordBundlePath(p), authorityRule(err, RuleKeyRotationUnauthorised), "rotation of %s: %v (signed by the key it retires, or by a maintainer)", inst, err)
		}
	}
	return vs
}

// rotationCount counts the rotation records of instance in a tree.
func (s *Store) rotationCount(root plumbing.Hash, instance string) (int, error) {
	dir := rotationsDir + "/" + instance
	e, ok, err := s.trees.lookup(root, dir)
	if err != nil || !ok || !e.isTree() {
		return 0, err
	}
	t, err := s.trees.get(e.hash)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range t.list() {
		if k, _ := classify(dir + "/" + f.name); k == kindRotation {
			n++
		}
	}
	return n, nil
}

// RotateKey replaces instance's registered key by newPEM, in one commit
// with rotation record n+1 signed by signer: instance itself (key is its
// current private key) or a maintainer (key is the maintainer's), to
// recover a lost or stolen key. Traces already in the hive keep the key they
// were verified with; from the next commit on, instance signs with the new
// key.
func (s *Store) RotateKey(instance string, newPEM []byte, reason, signer string, key *signing.PrivateKey) (plumbing.Hash, error) {
	newPub, err := signing.ParsePublicKeyPEM(newPEM)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("new key of %s: %w", instance, err)
	}
	root, err := s.headTree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	oldPub, err := s.rotationAuthority(root, instance, signer, key)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if oldPub.Equal(newPub) {
		return plumbing.ZeroHash, fmt.Errorf("instance %s: the new key is the registered one: %w", instance, ErrExists)
	}
	n, err := s.rotationCount(root, instance)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	n++
	r := &schema.KeyRotation{Kind: "key-rotation", InstanceID: instance, Sequence: n, Previous: oldPub.Fingerprint(), Key: newPub.Fingerprint(),
		Signer: signer, Reason: reason, CreatedAt: s.now().UTC().Format(time.RFC3339)}
	b, err := r.Marshal()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	bundle, err := signing.Sign(key, b)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	p := RotationPath(instance, n)
	msg := fmt.Sprintf("hive: rotate key of %s\n\nHive-Key: %s %s:%s\nHive-Rotation: %s %d %s\nHive-Instance: %s\n",
		instance, instance, newPub.Algorithm(), newPub.Fingerprint(), instance, n, oldPub.Fingerprint(), signer)
	return s.commitFiles(map[string][]byte{KeyPath(instance): newPEM, p: b, recordBundlePath(p): bundle}, nil, signer, msg,
		func(now plumbing.Hash) error {
			if now == root {
				return nil
			}
			// main moved since: the rotation must still follow its parent.
			if _, err := s.rotationAuthority(now, instance, signer, key); err != nil {
				return err
			}
			if k, err := s.rotationCount(now, instance); err != nil || k != n-1 {
				return fmt.Errorf("the key of %s was rotated meanwhile: %w", instance, ErrConflict)
			}
			return nil
		})
}

// rotationAuthority checks that signer, holding key, may rotate instance's
// key in the state root, and returns instance's registered key.
func (s *Store) rotationAuthority(root plumbing.Hash, instance, signer string, key *signing.PrivateKey) (*signing.PublicKey, error) {
	cfg, err := s.configAt(s.trees, root)
	if err != nil {
		return nil, err
	}
	if cfg.IsRevoked(instance) {
		return nil, fmt.Errorf("%s: the key of %s is revoked; a revoked instance's key is not rotated: %w", RuleKeyRotationUnauthorised, instance, ErrUnauthorised)
	}
	old, err := s.registeredKey(root, instance)
	if err != nil {
		return nil, err
	}
	want := old
	if signer != instance {
		if !cfg.IsMaintainer(signer) || cfg.IsRevoked(signer) {
			return nil, fmt.Errorf("%s: %s is not a maintainer of this hive (hive.json lists %v); only the instance itself or a maintainer rotates its key: %w",
				RuleKeyRotationUnauthorised, signer, cfg.Maintainers, ErrUnauthorised)
		}
		if want, err = s.registeredKey(root, signer); err != nil {
			return nil, err
		}
	}
	if !key.Public().Equal(want) {
		return nil, fmt.Errorf("the private key given for %s does not match %s: %w", signer, KeyPath(signer), ErrUnauthorised)
	}
	return old, nil
}

// registeredKey returns the key of instance in the state root.
func (s *Store) registeredKey(root plumbing.Hash, instance string) (*signing.PublicKey, error) {
	e, ok, err := s.trees.lookup(root, KeyPath(instance))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: no key registered for instance %s: %w", RuleSigKeyUnknown, instance, ErrNotFound)
	}
	return s.key(&readerCache{objs: s.objs, trees: s.trees}, e.hash)
}

// ApproveKey registers instance's public key (PEM) with the signed approval
// of maintainer signer (key is its private key), as a hive whose
// registration is by maintainers requires. A maintainer named in hive.json
// approves its own first key with that key.
func (s *Store) ApproveKey(instance string, pem []byte, signer string, key *signing.PrivateKey) (plumbing.Hash, error) {
	if !schema.ValidInstanceID(instance) {
		return plumbing.ZeroHash, fmt.Errorf("instance id %s: must match %s: %w", schema.Quote(instance, 70), schema.InstanceIDPattern, ErrInvalid)
	}
	pub, err := signing.ParsePublicKeyPEM(pem)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("key for %s: %w", instance, err)
	}
	a := &schema.KeyApproval{Kind: "key-approval", InstanceID: instance, Key: pub.Fingerprint(), Signer: signer, CreatedAt: s.now().UTC().Format(time.RFC3339)}
	b, err := a.Marshal()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	bundle, err := signing.Sign(key, b)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	p := ApprovalPath(instance)
	msg := fmt.Sprintf("hive: register key of %s, approved by %s\n\nHive-Key: %s %s:%s\nHive-Approval: %s\n",
		instance, signer, instance, pub.Algorithm(), pub.Fingerprint(), signer)
	return s.commitFiles(map[string][]byte{KeyPath(instance): pem, p: b, recordBundlePath(p): bundle}, nil, signer, msg,
		func(root plumbing.Hash) error {
			if e, ok, err := s.trees.lookup(root, KeyPath(instance)); err != nil {
				return err
			} else if ok {
				old, _ := s.objs.read(plumbing.BlobObject, e.hash, signing.MaxPublicKeySize)
				if bytes.Equal(old, pem) {
					return fmt.Errorf("instance %s: this key is already registered: %w", instance, ErrExists)
				}
				return fmt.Errorf("instance %s already has a key in %s; replace it with hive key rotate: %w", instance, KeyPath(instance), ErrExists)
			}
			cfg, err := s.configAt(s.trees, root)
			if err != nil {
				return err
			}
			want := pub // a maintainer's own first key
			if signer != instance || !cfg.IsMaintainer(instance) {
				if !cfg.IsMaintainer(signer) || cfg.IsRevoked(signer) {
					return fmt.Errorf("%s: %s is not a maintainer of this hive (hive.json lists %v): %w", RuleKeyUnauthorised, signer, cfg.Maintainers, ErrUnauthorised)
				}
				if want, err = s.registeredKey(root, signer); err != nil {
					return err
				}
			}
			if !key.Public().Equal(want) {
				return fmt.Errorf("the private key given for %s does not match its registered key: %w", signer, ErrUnauthorised)
			}
			return nil
		})
}

// checkMergeKeys refuses a merge that brings from one side a trace or an
// outcome of an instance whose key (registered at the merge base) the other
// side replaced: what a retired
// key signs on a branch forked before its rotation (a stolen key, say)
// does not come back through a merge. changes are the paths in which the
// merge m differs from its parents p1 and p2.
func (v *validator) checkMergeKeys(c, m, base, p1, p2 plumbing.Hash, changes []change) []Violation {
	trees := v.s.trees
	sides := [2]plumbing.Hash{p1, p2}
	retired := [2]map[string]bool{{}, {}} // side -> instances whose key there is not the merge's
	found := false
	for _, ch := range changes {
		if k, _ := classify(ch.path); k != kindKey {
			continue
		}
		me, mok, err := trees.lookup(m, ch.path)
		if err != nil || !mok {
			continue
		}
		if _, rotation, err := trees.lookup(base, ch.path); err != nil || !rotation {
			continue // two first registrations: merge-evil already
		}
		for i, side := range sides {
			if se, ok, err := trees.lookup(side, ch.path); err == nil && ok && se.hash != me.hash {
				retired[i][instanceOf(ch.path)] = true
				found = true
			}
		}
	}
	if !found {
		return nil
	}
	var vs []Violation
	seen := map[string]bool{}
	for _, ch := range changes {
		kind, _ := classify(ch.path)
		if seen[ch.path] || (kind != kindTrace && kind != kindOutcome) {
			continue
		}
		seen[ch.path] = true
		if _, ok, err := trees.lookup(m, ch.path); err != nil || !ok {
			continue
		}
		var in [2]bool
		for i, side := range sides {
			_, in[i], _ = trees.lookup(side, ch.path)
		}
		for i := range sides {
			if !in[i] || in[1-i] {
				continue // not brought by side i alone
			}
			signer := ""
			if kind == kindOutcome {
				_, signer = outcomeOf(ch.path)
			} else if a, err := v.s.authorAt(sides[i], traceIDOf(ch.path)); err == nil {
				signer = a
			}
			if retired[i][signer] {
				vs = append(vs, violationf(c, ch.path, RuleKeyRetired, "signed by %s with a key the other side of the merge replaced (%s)", signer, KeyPath(signer)))
			}
		}
	}
	return vs
}

// Rotations counts, for each instance whose key was ever replaced, the
// rotations on main.
func (s *Store) Rotations() (map[string]int, error) {
	root, err := s.headTree()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	e, ok, err := s.trees.lookup(root, rotationsDir)
	if err != nil || !ok || !e.isTree() {
		return out, err
	}
	t, err := s.trees.get(e.hash)
	if err != nil {
		return nil, err
	}
	for _, d := range t.list() {
		if !d.isTree() || !schema.ValidInstanceID(d.name) {
			continue
		}
		if out[d.name], err = s.rotationCount(root, d.name); err != nil {
			return nil, err
		}
	}
	return out, nil
}
