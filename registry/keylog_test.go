package registry

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// newKey is a key of instance's that the test hive never registers: the
// one it rotates to.
func newKey(t testing.TB, instance string) *signing.PrivateKey {
	return testKey(t, instance+" next")
}

// rotationFiles returns the files of rotation n of instance from key old
// to key new, signed by signer with key sk.
func (h *testHive) rotationFiles(instance string, n int, old, new *signing.PublicKey, signer string, sk *signing.PrivateKey) map[string]*entry {
	h.t.Helper()
	r := &schema.KeyRotation{Kind: "key-rotation", InstanceID: instance, Sequence: n, Previous: old.Fingerprint(), Key: new.Fingerprint(),
		Signer: signer, Reason: "test", CreatedAt: "2026-01-02T03:04:05Z"}
	b, err := r.Marshal()
	if err != nil {
		h.t.Fatal(err)
	}
	bundle, err := signing.Sign(sk, b)
	if err != nil {
		h.t.Fatal(err)
	}
	p := RotationPath(instance, n)
	return map[string]*entry{KeyPath(instance): h.file(new.MarshalPEM()), p: h.file(b), recordBundlePath(p): h.file(bundle)}
}

// TestKeyRotation: a key is replaced only with a rotation signed by the
// key it retires or by a maintainer; traces keep the key of their commit;
// each way around that is refused with its rule.
func TestKeyRotation(t *testing.T) {
	h := newTestHive(t, nil)
	before := h.add(traceBytes(t, instA, "parse a csv file"))[0]
	base := h.head()
	oldA, nextA := testKey(t, instA), newKey(t, instA)

	rot, err := h.s.RotateKey(instA, nextA.Public().MarshalPEM(), "laptop replaced", instA, oldA)
	if err != nil {
		t.Fatal(err)
	}
	// Traces of the old key still verify; a new one needs the new key.
	if _, err := h.s.Add([]Input{{Name: "old.json", Data: traceBytes(t, instA, "read a yaml file")}}, testKeys(t)); err == nil {
		t.Fatalf("Add signed by the retired key succeeded")
	}
	after, err := h.s.Add([]Input{{Name: "new.json", Data: traceBytes(t, instA, "read a yaml file")}},
		func(string) (*signing.PrivateKey, error) { return nextA, nil })
	if err != nil {
		t.Fatal(err)
	}
	checkViolations(t, "full verification after a rotation", h.verify(after[0].Commit, VerifyOptions{Full: true}), nil)
	if n, err := h.s.rotationCount(h.treeOf(rot), instA); err != nil || n != 1 {
		t.Errorf("rotationCount = %d, %v; want 1", n, err)
	}
	if _, err := h.s.Trace(before); err != nil {
		t.Errorf("the trace signed before the rotation: %v", err)
	}
	// KeyAt names the key each trace's commit was judged by.
	intro, err := h.s.Introduced([]schema.ID{before, after[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[schema.ID]string{before: oldA.Public().Fingerprint(), after[0].ID: nextA.Public().Fingerprint()} {
		if pub, _, err := h.s.KeyAt(intro[id].Hash, instA); err != nil || pub.Fingerprint() != want {
			t.Errorf("KeyAt(the commit of %s) = %v, %v; want the key %s", id.Short(), pub, err, want)
		}
	}
	if pub, err := h.s.Key(instA); err != nil || pub.Fingerprint() != nextA.Public().Fingerprint() {
		t.Errorf("Key after the rotation = %v, %v; want the new key", pub, err)
	}

	yaml := traceBytes(t, instA, "write a toml file")
	cases := []struct {
		name  string
		build func() (plumbing.Hash, []want)
	}{
		{"a trace signed by the retired key after the rotation", func() (plumbing.Hash, []want) {
			c := h.commit(rot, h.traceFiles(yaml, instA))
			return c, []want{{c, BundlePath(schema.Digest(yaml)), RuleSigInvalid}}
		}},
		{"a trace signed by the new key in the rotation's own commit", func() (plumbing.Hash, []want) {
			// The rotation takes effect from the next commit.
			files := h.rotationFiles(instA, 1, oldA.Public(), nextA.Public(), instA, oldA)
			b := traceBytes(t, instA, "write a toml file")
			id := schema.Digest(b)
			files[TracePath(id)] = h.file(b)
			files[BundlePath(id)] = h.file(mustSign(t, nextA, b))
			c := h.commit(base, files)
			return c, []want{{c, BundlePath(id), RuleSigInvalid}}
		}},
		{"signed by the wrong key", func() (plumbing.Hash, []want) {
			c := h.commit(base, h.rotationFiles(instA, 1, oldA.Public(), nextA.Public(), instA, nextA))
			return c, []want{{c, recordBundlePath(RotationPath(instA, 1)), RuleKeyRotationUnauthorised}}
		}},
		{"signed by another instance", func() (plumbing.Hash, []want) {
			c := h.commit(base, h.rotationFiles(instA, 1, oldA.Public(), nextA.Public(), instB, testKey(t, instB)))
			return c, []want{{c, recordBundlePath(RotationPath(instA, 1)), RuleKeyRotationUnauthorised}}
		}},
		{"a maintainer's recovery", func() (plumbing.Hash, []want) {
			return h.commit(base, h.rotationFiles(instA, 1, oldA.Public(), nextA.Public(), instM, testKey(t, instM))), nil
		}},
		{"the key changed without a record", func() (plumbing.Hash, []want) {
			c := h.commit(base, map[string]*entry{KeyPath(instA): h.file(nextA.Public().MarshalPEM())})
			return c, []want{{c, KeyPath(instA), RulePathModified}}
		}},
		{"a record without the key change", func() (plumbing.Hash, []want) {
			files := h.rotationFiles(instA, 1, oldA.Public(), nextA.Public(), instA, oldA)
			delete(files, KeyPath(instA))
			c := h.commit(base, files)
			return c, []want{{c, RotationPath(instA, 1), RuleKeyRotationInvalid}}
		}},
		{"a rotation numbered out of turn", func() (plumbing.Hash, []want) {
			c := h.commit(base, h.rotationFiles(instA, 2, oldA.Public(), nextA.Public(), instA, oldA))
			return c, []want{{c, RotationPath(instA, 2), RuleKeyRotationInvalid}}
		}},
		{"a rotation replayed on another branch", func() (plumbing.Hash, []want) {
			// A branch where the key was rotated to K3: the first rotation
			// (K1 -> K2), signed by K1, is stale there.
			third := testKey(t, instA+" third")
			other := h.commit(base, h.rotationFiles(instA, 1, oldA.Public(), third.Public(), instA, oldA))
			files := h.rotationFiles(instA, 2, oldA.Public(), nextA.Public(), instA, oldA)
			c := h.commit(other, files)
			return c, []want{{c, RotationPath(instA, 2), RuleKeyRotationInvalid}}
		}},
		{"a merge of two different rotations", func() (plumbing.Hash, []want) {
			third := testKey(t, instA+" third")
			other := h.commit(base, h.rotationFiles(instA, 1, oldA.Public(), third.Public(), instA, oldA))
			m := h.commitTree(h.treeOf(rot), rot, other)
			return m, []want{{m, KeyPath(instA), RuleMergeEvil}, {m, RotationPath(instA, 1), RuleMergeEvil}}
		}},
		{"a merge of one rotation made on two branches", func() (plumbing.Hash, []want) {
			// A cherry-pick: the same files, on a branch of its own.
			files := map[string]*entry{}
			for _, p := range []string{KeyPath(instA), RotationPath(instA, 1), recordBundlePath(RotationPath(instA, 1))} {
				files[p] = h.lookupEntry(rot, p)
			}
			twin := h.commit(base, files) // another commit: its time differs
			return h.commitTree(h.treeOf(rot), rot, twin), nil
		}},
		{"a merge bringing what the retired key signed on an old branch", func() (plumbing.Hash, []want) {
			// Someone holding the old key signs on a branch forked before
			// the rotation; the merge may not bring it in.
			side := h.commit(base, h.traceFiles(yaml, instA))
			id := schema.Digest(yaml)
			tree := h.edit(rot, map[string]*entry{TracePath(id): h.lookupEntry(side, TracePath(id)), BundlePath(id): h.lookupEntry(side, BundlePath(id))})
			m := h.commitTree(tree, rot, side)
			return m, []want{{m, TracePath(id), RuleKeyRetired}}
		}},
		{"a weak new key", func() (plumbing.Hash, []want) {
			files := h.rotationFiles(instA, 1, oldA.Public(), nextA.Public(), instA, oldA)
			files[KeyPath(instA)] = h.file(weakKeyPEM(t))
			c := h.commit(base, files)
			return c, []want{{c, KeyPath(instA), RuleKeyWeak}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head, wants := c.build()
			checkViolations(t, "Verify", h.verify(head, VerifyOptions{Base: base}), wants)
		})
	}

	t.Run("a revoked instance", func(t *testing.T) {
		h := newTestHive(t, nil)
		rev, err := h.s.Revoke(instA, "stolen", instM, testKey(t, instM))
		if err != nil {
			t.Fatal(err)
		}
		c := h.commit(rev, h.rotationFiles(instA, 1, oldA.Public(), nextA.Public(), instM, testKey(t, instM)))
		checkViolations(t, "Verify", h.verify(c, VerifyOptions{Base: rev}), []want{{c, RotationPath(instA, 1), RuleKeyRotationUnauthorised}})
		if _, err := h.s.RotateKey(instA, nextA.Public().MarshalPEM(), "x", instM, testKey(t, instM)); !errors.Is(err, ErrUnauthorised) {
			t.Errorf("RotateKey of a revoked instance = %v, want ErrUnauthorised", err)
		}
	})
	t.Run("refused before writing", func(t *testing.T) {
		h := newTestHive(t, nil)
		head := h.head()
		for _, r := range []struct {
			name, signer string
			key          *signing.PrivateKey
			want         error
		}{
			{"another instance", instB, testKey(t, instB), ErrUnauthorised},
			{"the wrong private key", instA, nextA, ErrUnauthorised},
			{"to the same key", instA, oldA, ErrExists},
		} {
			pem := nextA.Public().MarshalPEM()
			if r.want == ErrExists {
				pem = oldA.Public().MarshalPEM()
			}
			if _, err := h.s.RotateKey(instA, pem, "x", r.signer, r.key); !errors.Is(err, r.want) {
				t.Errorf("RotateKey by %s = %v, want %v", r.name, err, r.want)
			}
		}
		if _, err := h.s.RotateKey(instC, nextA.Public().MarshalPEM(), "x", instC, testKey(t, instC)); !errors.Is(err, ErrNotFound) {
			t.Errorf("RotateKey of an unregistered instance = %v, want ErrNotFound", err)
		}
		if h.head() != head {
			t.Errorf("a refused rotation moved main")
		}
	})
}

func mustSign(t testing.TB, k *signing.PrivateKey, b []byte) []byte {
	t.Helper()
	bundle, err := signing.Sign(k, b)
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

// weakKeyPEM is an ed25519 key of small order.
func weakKeyPEM(t *testing.T) []byte {
	identity := make([]byte, 32)
	identity[0] = 1
	return pemOf(t, ed25519.PublicKey(identity))
}

// TestRegistration: where hive.json says registration is by maintainers, a
// new key needs a maintainer's signed approval; a maintainer named in
// hive.json approves its own.
func TestRegistration(t *testing.T) {
	h := newTestHive(t, nil)
	if _, err := h.s.SetRegistration(RegistrationMaintainers, instA, testKey(t, instA)); !errors.Is(err, ErrUnauthorised) {
		t.Errorf("SetRegistration by a non-maintainer = %v, want ErrUnauthorised", err)
	}
	closed, err := h.s.SetRegistration(RegistrationMaintainers, instM, testKey(t, instM))
	if err != nil {
		t.Fatal(err)
	}
	if cfg := h.config(closed); cfg.RegistrationMode() != RegistrationMaintainers || cfg.Version != 2 {
		t.Fatalf("hive.json after SetRegistration: %+v", cfg)
	}
	pemC := testKey(t, instC).Public().MarshalPEM()
	if _, err := h.s.AddKey(instC, pemC); !errors.Is(err, ErrUnauthorised) {
		t.Errorf("AddKey without approval = %v, want ErrUnauthorised", err)
	}
	if _, err := h.s.ApproveKey(instC, pemC, instB, testKey(t, instB)); !errors.Is(err, ErrUnauthorised) {
		t.Errorf("ApproveKey by a non-maintainer = %v, want ErrUnauthorised", err)
	}
	approved, err := h.s.ApproveKey(instC, pemC, instM, testKey(t, instM))
	if err != nil {
		t.Fatal(err)
	}
	checkViolations(t, "full verification", h.verify(approved, VerifyOptions{Full: true}), nil)

	approval := func(inst string, key *signing.PublicKey, signer string, sk *signing.PrivateKey) map[string]*entry {
		a := &schema.KeyApproval{Kind: "key-approval", InstanceID: inst, Key: key.Fingerprint(), Signer: signer, CreatedAt: "2026-01-02T03:04:05Z"}
		b, err := a.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		p := ApprovalPath(inst)
		return map[string]*entry{KeyPath(inst): h.file(key.MarshalPEM()), p: h.file(b), recordBundlePath(p): h.file(mustSign(t, sk, b))}
	}
	d, e := "instance_d", "instance_e"
	kd := testKey(t, d)
	cases := []struct {
		name  string
		build func() (plumbing.Hash, []want)
	}{
		{"a key without approval", func() (plumbing.Hash, []want) {
			c := h.commit(closed, map[string]*entry{KeyPath(d): h.file(kd.Public().MarshalPEM())})
			return c, []want{{c, KeyPath(d), RuleKeyUnauthorised}}
		}},
		{"approved by a maintainer", func() (plumbing.Hash, []want) {
			return h.commit(closed, approval(d, kd.Public(), instM, testKey(t, instM))), nil
		}},
		{"approved by itself", func() (plumbing.Hash, []want) {
			c := h.commit(closed, approval(d, kd.Public(), d, kd))
			return c, []want{{c, recordBundlePath(ApprovalPath(d)), RuleKeyUnauthorised}}
		}},
		{"approved by a non-maintainer", func() (plumbing.Hash, []want) {
			c := h.commit(closed, approval(d, kd.Public(), instA, testKey(t, instA)))
			return c, []want{{c, recordBundlePath(ApprovalPath(d)), RuleKeyUnauthorised}}
		}},
		{"a maintainer's approval of another key", func() (plumbing.Hash, []want) {
			files := approval(d, kd.Public(), instM, testKey(t, instM))
			files[KeyPath(d)] = h.file(testKey(t, e).Public().MarshalPEM())
			c := h.commit(closed, files)
			return c, []want{{c, ApprovalPath(d), RuleKeyApprovalInvalid}}
		}},
		{"an approval copied to another instance id", func() (plumbing.Hash, []want) {
			files := approval(d, kd.Public(), instM, testKey(t, instM))
			c := h.commit(closed, map[string]*entry{KeyPath(e): files[KeyPath(d)], ApprovalPath(e): files[ApprovalPath(d)], recordBundlePath(ApprovalPath(e)): files[recordBundlePath(ApprovalPath(d))]})
			return c, []want{{c, ApprovalPath(e), RuleKeyApprovalInvalid}}
		}},
		{"an approval without a key", func() (plumbing.Hash, []want) {
			files := approval(d, kd.Public(), instM, testKey(t, instM))
			delete(files, KeyPath(d))
			c := h.commit(closed, files)
			return c, []want{{c, ApprovalPath(d), RuleKeyApprovalInvalid}}
		}},
		{"open registration needs none", func() (plumbing.Hash, []want) {
			return h.commit(h.parents(closed)[0], map[string]*entry{KeyPath(d): h.file(kd.Public().MarshalPEM())}), nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head, wants := c.build()
			checkViolations(t, "Verify", h.verify(head, VerifyOptions{Base: h.parents(head)[0]}), wants)
		})
	}

	// A maintainer named in hive.json registers its own first key.
	t.Run("a maintainer's own key", func(t *testing.T) {
		h := newTestHive(t, nil)
		if _, err := h.s.SetRegistration(RegistrationMaintainers, instM, testKey(t, instM)); err != nil {
			t.Fatal(err)
		}
		n := "instance_n"
		if _, err := h.s.ChangeConfig(ConfigChange{Subject: "add maintainer", Apply: func(c *Config) error {
			c.Maintainers = append(c.Maintainers, n)
			return nil
		}}, instM, testKey(t, instM)); err != nil {
			t.Fatal(err)
		}
		c, err := h.s.ApproveKey(n, testKey(t, n).Public().MarshalPEM(), n, testKey(t, n))
		if err != nil {
			t.Fatal(err)
		}
		checkViolations(t, "full verification", h.verify(c, VerifyOptions{Full: true}), nil)
	})
}

// TestRevoke: a maintainer's signed change of hive.json; the last
// maintainer is never revoked.
func TestRevoke(t *testing.T) {
	h := newTestHive(t, nil)
	c, err := h.s.Revoke(instA, "key leaked", instM, testKey(t, instM))
	if err != nil {
		t.Fatal(err)
	}
	checkViolations(t, "full verification", h.verify(c, VerifyOptions{Full: true}), nil)
	if cfg := h.config(c); !cfg.IsRevoked(instA) || cfg.Version != 2 {
		t.Errorf("hive.json after Revoke: %+v", cfg)
	}
	for _, r := range []struct {
		name, inst, by string
		want           error
	}{
		{"again", instA, instM, ErrExists},
		{"by a non-maintainer", instB, instB, ErrUnauthorised},
		{"the last maintainer", instM, instM, ErrInvalid},
	} {
		if _, err := h.s.Revoke(r.inst, "x", r.by, testKey(t, r.by)); !errors.Is(err, r.want) {
			t.Errorf("Revoke %s = %v, want %v", r.name, err, r.want)
		}
	}
	if h.head() != c {
		t.Errorf("a refused revocation moved main")
	}
}
