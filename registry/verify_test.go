package registry

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/hive-dev/hive/odb"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// fixture is the state each attack starts from: a hive whose main holds
// trace t1 of instance a.
type fixture struct {
	base   plumbing.Hash
	t1     schema.ID
	t1Data []byte
}

// attack builds commits on f.base (main never moves) and returns the head
// of the attacked range and the violations it must produce.
type attack struct {
	name  string
	build func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want)
	// fullOK says the head's whole history is valid on its own (a rewritten
	// history is refused only against the base it dropped).
	fullOK bool
}

// replace returns s with old replaced once by new, failing if old is absent.
func replace(t *testing.T, s, old, new string) []byte {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("replace: %q not in %q", old, s)
	}
	return []byte(strings.Replace(s, old, new, 1))
}

// content commits data as a trace at its own name with a valid signature by
// instance a, as someone bypassing hive add would, expecting rule.
func content(data func(t *testing.T) []byte, rule Rule) func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
	return func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := data(t)
		c := h.commit(f.base, h.traceFiles(b, instA))
		return c, []want{{c, TracePath(schema.Digest(b)), rule}}
	}
}

func seedWith(old, new string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return replace(t, seedTrace, old, new) }
}

func pemOf(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// keyAttack registers key bytes for instance c, expecting rule.
func keyAttack(key func(t *testing.T) []byte, rule Rule) func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
	return func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{KeyPath(instC): h.file(key(t))})
		return c, []want{{c, KeyPath(instC), rule}}
	}
}

// pathAttack adds files at paths outside the layout, expecting each to be
// refused by path.
func pathAttack(paths ...string) func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
	return func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		files := map[string]*entry{}
		for _, p := range paths {
			files[p] = h.file(f.t1Data)
		}
		c := h.commit(f.base, files)
		var ws []want
		for _, p := range paths {
			ws = append(ws, want{c, strconv.Quote(p), RulePathNotAllowed})
		}
		return c, ws
	}
}

// modeAttack adds a valid trace whose file has mode m.
func modeAttack(m filemode.FileMode) func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
	return func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "mode trick")
		id := schema.Digest(b)
		files := h.traceFiles(b, instA)
		files[TracePath(id)].mode = m
		if m == filemode.Submodule {
			files[TracePath(id)].hash = f.base
		}
		c := h.commit(f.base, files)
		// The bundle is then reported too: its trace was not validly added.
		return c, []want{{c, TracePath(id), RuleModeNotAllowed}, {c, BundlePath(id), RuleBundleOrphan}}
	}
}

// rawTree writes a tree object byte for byte, in the given entry order.
func rawTree(t *testing.T, h *testHive, entries []entry) plumbing.Hash {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range entries {
		buf.WriteString(strconv.FormatUint(uint64(e.mode), 8) + " " + e.name + "\x00")
		buf.Write(e.hash[:])
	}
	th, err := h.w.object(plumbing.TreeObject, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// fsckTreeAttack adds an empty folder called name to the seed trace's
// shard; for a name ending in .json, also a file "<name>.x", which git
// sorts between a file and a folder of one name.
func fsckTreeAttack(name string) func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
	return func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		shard := TracePath(f.t1)[:len("traces/ab")]
		e, ok, err := h.s.trees.lookup(h.treeOf(f.base), shard)
		if err != nil || !ok {
			t.Fatalf("lookup %s: %v %v", shard, ok, err)
		}
		st, err := h.s.trees.get(e.hash)
		if err != nil {
			t.Fatal(err)
		}
		es := append(st.list(), entry{name: name, mode: filemode.Dir, hash: rawTree(t, h, nil)})
		if strings.HasSuffix(name, ".json") {
			es = append(es, entry{name: name + ".x", mode: filemode.Regular, hash: h.blob(nil)})
		}
		slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.git().SortKey(), b.git().SortKey()) })
		c := h.commitTree(h.edit(f.base, map[string]*entry{shard: {mode: filemode.Dir, hash: rawTree(t, h, es)}}), f.base)
		return c, []want{{c, "", RuleObjectInvalid}}
	}
}

// fsckCommitAttack writes a commit on base whose author line is author
// (none when empty).
func fsckCommitAttack(author string) func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
	return func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		if author != "" {
			author += "\n"
		}
		raw := "tree " + h.treeOf(f.base).String() + "\nparent " + f.base.String() + "\n" + author +
			"committer x <x@hive.invalid> 1767322000 +0000\n\nfsck\n"
		c, err := h.w.object(plumbing.CommitObject, []byte(raw))
		if err == nil {
			err = h.w.sync()
		}
		if err != nil {
			t.Fatal(err)
		}
		return c, []want{{c, "", RuleObjectInvalid}}
	}
}

// sides adds trace t2 (instance a) and t3 (instance b) on two branches from
// base and returns the branch tips and their files.
func sides(t *testing.T, h *testHive, f fixture) (x, y plumbing.Hash, f2, f3 map[string]*entry) {
	f2 = h.traceFiles(traceBytes(t, instA, "left side"), instA)
	f3 = h.traceFiles(traceBytes(t, instB, "right side"), instB)
	return h.commit(f.base, f2), h.commit(f.base, f3), f2, f3
}

func pathsOf(files map[string]*entry) []string {
	var ps []string
	for p := range files {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

var attacks = []attack{
	// Trace content committed directly, signed by the right key.
	{name: "broken json", build: content(func(*testing.T) []byte { return []byte(`{"intent":`) }, schema.RuleJSON)},
	{name: "trailing data", build: content(func(*testing.T) []byte { return []byte(seedTrace + "{}") }, schema.RuleJSON)},
	{name: "whitespace", build: content(seedWith(`"confidence":0.98,`, `"confidence": 0.98,`), schema.RuleNoncanonical)},
	{name: "final newline", build: content(func(*testing.T) []byte { return []byte(seedTrace + "\n") }, schema.RuleNoncanonical)},
	{name: "key order", build: content(seedWith(`"confidence":0.98,"created_at":"2025-12-13T03:45:00Z",`, `"created_at":"2025-12-13T03:45:00Z","confidence":0.98,`), schema.RuleNoncanonical)},
	{name: "number form", build: content(seedWith(`"verification_score":1}`, `"verification_score":1.0}`), schema.RuleNoncanonical)},
	{name: "duplicate key", build: content(seedWith(`"confidence":0.98,`, `"confidence":0.98,"confidence":0.98,`), schema.RuleDuplicateKey)},
	{name: "case-variant key", build: content(seedWith(`"intent":`, `"Intent":`), schema.RuleUnknownField)},
	{name: "invalid utf-8", build: content(seedWith(`Refactor`, "Refactor\xff"), schema.RuleUTF8)},
	{name: "lone surrogate", build: content(seedWith(`Refactor`, `Refactor\ud800`), schema.RuleUTF8)},
	{name: "unknown field", build: content(seedWith(`"verification_score":1}`, `"verification_score":1,"zzz":1}`), schema.RuleUnknownField)},
	{name: "null", build: content(seedWith(`"lineage":[]`, `"lineage":null`), schema.RuleNull)},
	{name: "wrong type", build: content(seedWith(`"confidence":0.98`, `"confidence":"high"`), schema.RuleSchema)},
	{name: "confidence 1.5", build: content(seedWith(`"confidence":0.98`, `"confidence":1.5`), schema.RuleSchema)},
	{name: "integer 2^53+1", build: content(seedWith(`"verification_score":1}`, `"verification_score":9007199254740993}`), schema.RuleNumber)},
	{name: "huge exponent", build: content(seedWith(`"confidence":0.98`, `"confidence":1e400`), schema.RuleNumber)},
	{name: "deep nesting", build: content(seedWith(`"lineage":[]`, `"lineage":[[[[[[[[[[]]]]]]]]]]`), schema.RuleDepth)},
	{name: "oversize", build: content(func(*testing.T) []byte {
		return []byte(strings.Replace(seedTrace, `import os`, strings.Repeat("x", schema.MaxTraceSize), 1))
	}, schema.RuleTooLarge)},
	{name: "oversize by one byte", build: content(func(t *testing.T) []byte {
		pad := schema.MaxTraceSize + 1 - len(seedTrace)
		b := replace(t, seedTrace, `import os`, `import os`+strings.Repeat("x", pad))
		if len(b) != schema.MaxTraceSize+1 {
			t.Fatalf("len = %d", len(b))
		}
		return b
	}, schema.RuleTooLarge)},
	{name: "below threshold", build: content(seedWith(`"confidence":0.98`, `"confidence":0.9`), schema.RuleThreshold)},

	// Names and hashes.
	{name: "valid trace at the wrong name", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "misnamed")
		wrong := schema.Digest([]byte("something else"))
		c := h.commit(f.base, map[string]*entry{TracePath(wrong): h.file(b), BundlePath(wrong): h.file(h.sign(instA, b))})
		return c, []want{{c, TracePath(wrong), RuleTraceName}}
	}},
	{name: "tampered existing trace", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{TracePath(f.t1): h.file(seedWith(`0.98`, `0.99`)(t))})
		return c, []want{{c, TracePath(f.t1), RulePathModified}}
	}},
	{name: "tampered existing bundle", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		// Signed again by another key (ed25519 signatures are deterministic).
		c := h.commit(f.base, map[string]*entry{BundlePath(f.t1): h.file(h.sign(instB, f.t1Data))})
		return c, []want{{c, BundlePath(f.t1), RulePathModified}}
	}},

	// Signatures.
	{name: "missing bundle", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "unsigned")
		c := h.commit(f.base, map[string]*entry{TracePath(schema.Digest(b)): h.file(b)})
		return c, []want{{c, TracePath(schema.Digest(b)), RuleBundleMissing}}
	}},
	{name: "orphan bundle", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "bundle alone")
		c := h.commit(f.base, map[string]*entry{BundlePath(schema.Digest(b)): h.file(h.sign(instA, b))})
		return c, []want{{c, BundlePath(schema.Digest(b)), RuleBundleOrphan}}
	}},
	{name: "garbage bundle", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "garbage bundle")
		id := schema.Digest(b)
		c := h.commit(f.base, map[string]*entry{TracePath(id): h.file(b), BundlePath(id): h.file([]byte(`{"garbage":true}`))})
		return c, []want{{c, BundlePath(id), RuleSigBundleInvalid}}
	}},
	{name: "oversize bundle", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "big bundle")
		id := schema.Digest(b)
		c := h.commit(f.base, map[string]*entry{TracePath(id): h.file(b), BundlePath(id): h.file(bytes.Repeat([]byte{' '}, signing.MaxBundleSize+1))})
		return c, []want{{c, BundlePath(id), RuleSigBundleInvalid}}
	}},
	{name: "bundle copied from another trace", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "copied bundle")
		id := schema.Digest(b)
		c := h.commit(f.base, map[string]*entry{TracePath(id): h.file(b), BundlePath(id): h.file(h.sign(instA, f.t1Data))})
		return c, []want{{c, BundlePath(id), RuleSigDigest}}
	}},
	{name: "signed by another instance", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "signed by b")
		c := h.commit(f.base, h.traceFiles(b, instB))
		return c, []want{{c, BundlePath(schema.Digest(b)), RuleSigInvalid}}
	}},
	{name: "instance without a key", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instC, "no key")
		c := h.commit(f.base, h.traceFiles(b, instC))
		return c, []want{{c, TracePath(schema.Digest(b)), RuleSigKeyUnknown}}
	}},
	{name: "key registered in the same commit", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instC, "first pull request")
		files := h.traceFiles(b, instC)
		files[KeyPath(instC)] = h.file(testKey(t, instC).Public().MarshalPEM())
		return h.commit(f.base, files), nil
	}},
	{name: "key registered in the same commit, trace signed by another", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instC, "first pull request")
		files := h.traceFiles(b, instA)
		files[KeyPath(instC)] = h.file(testKey(t, instC).Public().MarshalPEM())
		c := h.commit(f.base, files)
		return c, []want{{c, BundlePath(schema.Digest(b)), RuleSigInvalid}}
	}},
	{name: "revoked instance", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Revoked = 2, []string{instA}
		c1 := h.commit(f.base, h.configFiles(cfg, instM))
		b := traceBytes(t, instA, "after revocation")
		c2 := h.commit(c1, h.traceFiles(b, instA))
		return c2, []want{{c2, TracePath(schema.Digest(b)), RuleSigKeyRevoked}}
	}},
	{name: "revocation takes effect from the next commit", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Revoked = 2, []string{instA}
		files := h.configFiles(cfg, instM)
		return h.commit(f.base, merge(files, h.traceFiles(traceBytes(t, instA, "same commit as revocation"), instA))), nil
	}},

	// Keys.
	{name: "invalid pem", build: keyAttack(func(*testing.T) []byte { return []byte("not a key\n") }, RuleKeyInvalid)},
	{name: "non-canonical pem", build: keyAttack(func(t *testing.T) []byte {
		return bytes.ReplaceAll(testKey(t, instC).Public().MarshalPEM(), []byte("\n"), []byte("\r\n"))
	}, RuleKeyInvalid)},
	{name: "private key", build: keyAttack(func(t *testing.T) []byte {
		b, err := testKey(t, instC).MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, RuleKeyInvalid)},
	{name: "oversize key", build: keyAttack(func(t *testing.T) []byte {
		return bytes.Repeat([]byte("-----BEGIN PUBLIC KEY-----\n"), signing.MaxPublicKeySize)
	}, RuleKeyInvalid)},
	{name: "rsa key", build: keyAttack(func(t *testing.T) []byte {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf(t, &k.PublicKey)
	}, RuleKeyUnsupported)},
	{name: "p-384 key", build: keyAttack(func(t *testing.T) []byte {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf(t, &k.PublicKey)
	}, RuleKeyUnsupported)},
	{name: "small-order ed25519 key", build: keyAttack(func(t *testing.T) []byte {
		identity := make(ed25519.PublicKey, ed25519.PublicKeySize)
		identity[0] = 1
		return pemOf(t, identity)
	}, RuleKeyWeak)},
	{name: "replaced key", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{KeyPath(instA): h.file(testKey(t, instC).Public().MarshalPEM())})
		return c, []want{{c, KeyPath(instA), RulePathModified}}
	}},
	{name: "deleted key", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{KeyPath(instB): nil})
		return c, []want{{c, KeyPath(instB), RulePathDeleted}}
	}},
	{name: "replaced key signs in the same commit", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		// The new key is refused and the trace is judged by the old one.
		b := traceBytes(t, instA, "signed by a replacement key")
		files := h.traceFiles(b, instC)
		files[KeyPath(instA)] = h.file(testKey(t, instC).Public().MarshalPEM())
		c := h.commit(f.base, files)
		return c, []want{{c, KeyPath(instA), RulePathModified}, {c, BundlePath(schema.Digest(b)), RuleSigInvalid}}
	}},

	// Lineage.
	{name: "lineage parent missing", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "orphan child", schema.Digest([]byte("no such trace")))
		c := h.commit(f.base, h.traceFiles(b, instA))
		return c, []want{{c, TracePath(schema.Digest(b)), RuleLineageMissing}}
	}},
	{name: "lineage parent added later", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		parent := traceBytes(t, instA, "parent")
		child := traceBytes(t, instA, "child", schema.Digest(parent))
		c1 := h.commit(f.base, h.traceFiles(child, instA))
		c2 := h.commit(c1, h.traceFiles(parent, instA))
		return c2, []want{{c1, TracePath(schema.Digest(child)), RuleLineageMissing}}
	}},
	{name: "lineage parent in the same commit", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		parent := traceBytes(t, instA, "parent")
		child := traceBytes(t, instB, "child", schema.Digest(parent), f.t1)
		return h.commit(f.base, merge(h.traceFiles(parent, instA), h.traceFiles(child, instB))), nil
	}},

	// History.
	{name: "deleted trace", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{TracePath(f.t1): nil, BundlePath(f.t1): nil})
		return c, []want{{c, TracePath(f.t1), RuleRemovalUnresolved}, {c, BundlePath(f.t1), RuleRemovalUnresolved}}
	}},
	{name: "deleted hive.json", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{ConfigPath: nil})
		return c, []want{{c, ConfigPath, RulePathDeleted}}
	}},
	{name: "renamed trace", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		other := schema.Digest([]byte("new name"))
		c := h.commit(f.base, map[string]*entry{
			TracePath(f.t1): nil, BundlePath(f.t1): nil,
			TracePath(other): h.file(f.t1Data), BundlePath(other): h.file(h.sign(instA, f.t1Data)),
		})
		return c, []want{{c, TracePath(f.t1), RuleRemovalUnresolved}, {c, BundlePath(f.t1), RuleRemovalUnresolved}, {c, TracePath(other), RuleTraceName}}
	}},
	{name: "rewritten history", fullOK: true, build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		parent := h.parents(f.base)[0]
		c := h.commit(parent, h.traceFiles(traceBytes(t, instA, "rewritten"), instA))
		return c, []want{{c, "", RuleHistoryRewritten}}
	}},
	{name: "second root merged in", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Name = "other"
		root := h.commitTree(h.edit(plumbing.ZeroHash, h.configFiles(cfg, "")))
		m := h.commitTree(h.treeOf(f.base), f.base, root)
		return m, []want{{m, "", RuleHistoryUnrelated}}
	}},
	{name: "octopus merge", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x, y, f2, f3 := sides(t, h, f)
		m := h.commitTree(h.edit(f.base, merge(f2, f3)), f.base, x, y)
		return m, []want{{m, "", RuleMergeOctopus}}
	}},

	// Merges.
	{name: "clean merge", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x, y, f2, f3 := sides(t, h, f)
		return h.commitTree(h.edit(f.base, merge(f2, f3)), x, y), nil
	}},
	{name: "fast-forward merge of a side branch", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x, _, f2, _ := sides(t, h, f)
		return h.commitTree(h.edit(f.base, f2), f.base, x), nil
	}},
	{name: "evil merge adds a file", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x, y, f2, f3 := sides(t, h, f)
		f4 := h.traceFiles(traceBytes(t, instA, "smuggled"), instA)
		m := h.commitTree(h.edit(f.base, merge(f2, f3, f4)), x, y)
		var ws []want
		for _, p := range pathsOf(f4) {
			ws = append(ws, want{m, p, RuleMergeEvil})
		}
		return m, ws
	}},
	{name: "evil merge drops a side's trace", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x, y, f2, f3 := sides(t, h, f)
		m := h.commitTree(h.edit(f.base, f3), x, y)
		var ws []want
		for _, p := range pathsOf(f2) {
			ws = append(ws, want{m, p, RuleMergeEvil})
		}
		return m, ws
	}},
	{name: "evil merge modifies a trace", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x, y, f2, f3 := sides(t, h, f)
		tampered := map[string]*entry{TracePath(f.t1): h.file(seedWith(`0.98`, `0.99`)(t))}
		m := h.commitTree(h.edit(f.base, merge(f2, f3, tampered)), x, y)
		return m, []want{{m, TracePath(f.t1), RuleMergeEvil}}
	}},
	{name: "evil merge deletes a base trace", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x, y, f2, f3 := sides(t, h, f)
		gone := map[string]*entry{TracePath(f.t1): nil, BundlePath(f.t1): nil}
		m := h.commitTree(h.edit(f.base, merge(f2, f3, gone)), x, y)
		return m, []want{{m, TracePath(f.t1), RuleMergeEvil}, {m, BundlePath(f.t1), RuleMergeEvil}}
	}},

	{name: "merge of conflicting key registrations", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		// Each side registers a different key for instance c and adds a
		// trace signed by it; the merge keeps one key, so the other side's
		// trace would sit in the hive signed by an unregistered key.
		other := testKey(t, "another key of c")
		bx := traceBytes(t, instC, "left c")
		fx := h.traceFiles(bx, instC)
		fx[KeyPath(instC)] = h.file(testKey(t, instC).Public().MarshalPEM())
		by := traceBytes(t, instC, "right c")
		fy := map[string]*entry{KeyPath(instC): h.file(other.Public().MarshalPEM())}
		sig, err := signing.Sign(other, by)
		if err != nil {
			t.Fatal(err)
		}
		fy[TracePath(schema.Digest(by))] = h.file(by)
		fy[BundlePath(schema.Digest(by))] = h.file(sig)
		x, y := h.commit(f.base, fx), h.commit(f.base, fy)
		m := h.commitTree(h.edit(f.base, merge(fy, fx)), x, y)
		return m, []want{{m, KeyPath(instC), RuleMergeEvil}}
	}},
	{name: "merge of one trace with two bundles", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		// ECDSA signatures differ each time: both sides' bundles are valid.
		k, err := signing.Generate(signing.ECDSAP256, nil)
		if err != nil {
			t.Fatal(err)
		}
		kc := h.commit(f.base, map[string]*entry{KeyPath(instC): h.file(k.Public().MarshalPEM())})
		b := traceBytes(t, instC, "same trace, two signatures")
		id := schema.Digest(b)
		files := func() map[string]*entry {
			sig, err := signing.Sign(k, b)
			if err != nil {
				t.Fatal(err)
			}
			return map[string]*entry{TracePath(id): h.file(b), BundlePath(id): h.file(sig)}
		}
		fx, fy := files(), files()
		if fx[BundlePath(id)].hash == fy[BundlePath(id)].hash {
			t.Fatal("two ECDSA bundles are equal")
		}
		x, y := h.commit(kc, fx), h.commit(kc, fy)
		return h.commitTree(h.edit(kc, fy), x, y), nil
	}},
	{name: "merge of conflicting config changes", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Revoked = 2, []string{instA}
		fx := h.configFiles(cfg, instM)
		cfg.Revoked = []string{instB}
		fy := h.configFiles(cfg, instM)
		x, y := h.commit(f.base, fx), h.commit(f.base, fy)
		m := h.commitTree(h.edit(f.base, fx), x, y)
		return m, []want{{m, ConfigPath, RuleMergeEvil}, {m, ConfigBundlePath, RuleMergeEvil}}
	}},

	// Tree tricks.
	{name: "symlink trace", build: modeAttack(filemode.Symlink)},
	{name: "executable trace", build: modeAttack(filemode.Executable)},
	{name: "gitlink trace", build: modeAttack(filemode.Submodule)},
	{name: "executable key", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{KeyPath(instC): {mode: filemode.Executable, hash: h.blob(testKey(t, instC).Public().MarshalPEM())}})
		return c, []want{{c, KeyPath(instC), RuleModeNotAllowed}}
	}},
	{name: ".gitattributes", build: pathAttack(".gitattributes")},
	{name: ".gitmodules", build: pathAttack(".gitmodules")},
	{name: "upper-case shard", build: pathAttack("traces/AB/AB" + strings.Repeat("0", 62) + ".json")},
	{name: "case-folding twin", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		hex := f.t1.Hex()
		twin := "traces/" + hex[:2] + "/" + strings.ToUpper(hex) + ".json"
		return pathAttack(twin)(t, h, f)
	}},
	{name: "readme", build: pathAttack("README.md")},
	{name: "text file in a shard", build: pathAttack("traces/ab/x.txt")},
	{name: "directory named like a trace", build: pathAttack("traces/ab/ab" + strings.Repeat("0", 62) + ".json/x")},
	{name: "disputes", build: pathAttack("disputes/x.json")},
	{name: "key of an invalid instance", build: pathAttack("keys/Instance_A.pub")},
	{name: "trace in the wrong shard", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "wrong shard")
		hex := schema.Digest(b).Hex()
		shard := "00"
		if hex[:2] == shard {
			shard = "ff"
		}
		tp, bp := "traces/"+shard+"/"+hex+".json", "traces/"+shard+"/"+hex+".sigstore.json"
		c := h.commit(f.base, map[string]*entry{tp: h.file(b), bp: h.file(h.sign(instA, b))})
		return c, []want{{c, strconv.Quote(tp), RulePathNotAllowed}, {c, strconv.Quote(bp), RulePathNotAllowed}}
	}},
	{name: "tree entries out of order", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		root, err := h.s.trees.get(h.treeOf(f.base))
		if err != nil {
			t.Fatal(err)
		}
		es := root.list()
		slices.Reverse(es)
		c := h.commitTree(rawTree(t, h, es), f.base)
		return c, []want{{c, "", RuleObjectInvalid}}
	}},
	{name: "tree entry named ..", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		root, err := h.s.trees.get(h.treeOf(f.base))
		if err != nil {
			t.Fatal(err)
		}
		es := append([]entry{{name: "..", mode: filemode.Regular, hash: h.blob(f.t1Data)}}, root.list()...)
		c := h.commitTree(rawTree(t, h, es), f.base)
		return c, []want{{c, "", RuleObjectInvalid}}
	}},
	{name: "duplicate tree entry", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		root, err := h.s.trees.get(h.treeOf(f.base))
		if err != nil {
			t.Fatal(err)
		}
		es := append(root.list(), root.at(root.len()-1))
		c := h.commitTree(rawTree(t, h, es), f.base)
		return c, []want{{c, "", RuleObjectInvalid}}
	}},
	// What git fsck refuses (gitfmt/fsck.go), though the layout rules
	// would not see it: nothing in these trees is a file.
	{name: "empty .git folder in a shard", build: fsckTreeAttack(".git")},
	{name: "empty .gitmodules folder in a shard", build: fsckTreeAttack(".gitmodules")},
	{name: "empty GIT~1 folder in a shard", build: fsckTreeAttack("GIT~1")},
	{name: "empty folder of a file's name", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		// "<hex>.json" and "<hex>.json/" apart: "<hex>.json.x" sorts between.
		return fsckTreeAttack(TracePath(f.t1)[len("traces/ab/"):])(t, h, f)
	}},
	{name: "zero-padded mode", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		root, err := h.s.trees.get(h.treeOf(f.base))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, e := range root.list() {
			mode := strconv.FormatUint(uint64(e.mode), 8)
			if e.isTree() {
				mode = "0" + mode
			}
			buf.WriteString(mode + " " + e.name + "\x00")
			buf.Write(e.hash[:])
		}
		th, err := h.w.object(plumbing.TreeObject, buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		c := h.commitTree(th, f.base)
		return c, []want{{c, "", RuleObjectInvalid}}
	}},
	{name: "NUL in the author", build: fsckCommitAttack("author x\x00y <x@hive.invalid> 1767322000 +0000")},
	{name: "zero-padded date", build: fsckCommitAttack("author x <x@hive.invalid> 01767322000 +0000")},
	{name: "bad time zone", build: fsckCommitAttack("author x <x@hive.invalid> 1767322000 +00")},
	{name: "no author", build: fsckCommitAttack("")},
	{name: "email not closed", build: fsckCommitAttack("author x <x@hive.invalid 1767322000 +0000")},
	{name: "subtree is a blob", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		// A shard folder of mode 040000 whose hash names a blob.
		b := traceBytes(t, instA, "subtree is a blob")
		shard := TracePath(schema.Digest(b))[:len("traces/ab")]
		c := h.commit(f.base, map[string]*entry{shard: {mode: filemode.Dir, hash: h.blob(b)}})
		return c, []want{{c, "", RuleObjectInvalid}}
	}},
	{name: "trace blob is a tree", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "blob is a tree")
		files := h.traceFiles(b, instA)
		files[TracePath(schema.Digest(b))].hash = h.treeOf(f.base)
		c := h.commit(f.base, files)
		return c, []want{{c, TracePath(schema.Digest(b)), RuleObjectInvalid}}
	}},
	{name: "trace blob missing", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		b := traceBytes(t, instA, "blob is missing")
		files := h.traceFiles(b, instA)
		files[TracePath(schema.Digest(b))].hash = plumbing.ComputeHash(plumbing.BlobObject, []byte("never stored"))
		c := h.commit(f.base, files)
		return c, []want{{c, TracePath(schema.Digest(b)), RuleObjectInvalid}}
	}},
	{name: "missing commit parent", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		missing := plumbing.ComputeHash(plumbing.CommitObject, []byte("no such commit"))
		c := h.commitTree(h.treeOf(f.base), f.base, missing)
		return c, []want{{c, "", RuleObjectInvalid}}
	}},

	{name: "oversize commit", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		raw := "tree " + h.treeOf(f.base).String() + "\nparent " + f.base.String() +
			"\nauthor x <x@hive.invalid> 1767322000 +0000\ncommitter x <x@hive.invalid> 1767322000 +0000\n\n" +
			strings.Repeat("x", maxCommitSize)
		c, err := h.w.object(plumbing.CommitObject, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return c, []want{{c, "", RuleObjectInvalid}}
	}},
	{name: "commit tree is a blob", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commitTree(h.blob(f.t1Data), f.base)
		return c, []want{{c, "", RuleObjectInvalid}}
	}},

	// hive.json.
	{name: "config changed without signature", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Name = 2, "renamed"
		c := h.commit(f.base, h.configFiles(cfg, ""))
		return c, []want{{c, ConfigPath, RuleConfigUnsigned}}
	}},
	{name: "config signed by a non-maintainer", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Maintainers = 2, []string{instA, instM}
		c := h.commit(f.base, h.configFiles(cfg, instA))
		return c, []want{{c, ConfigPath, RuleConfigUnsigned}}
	}},
	{name: "config bundle over other bytes", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Name = 2, "renamed"
		files := h.configFiles(cfg, "")
		files[ConfigBundlePath] = h.file(h.sign(instM, f.t1Data))
		c := h.commit(f.base, files)
		return c, []want{{c, ConfigPath, RuleConfigUnsigned}}
	}},
	{name: "config signed by a maintainer", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Name = 2, "renamed"
		return h.commit(f.base, h.configFiles(cfg, instM)), nil
	}},
	{name: "config signed by a revoked maintainer", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Revoked = 2, []string{instM}
		c1 := h.commit(f.base, h.configFiles(cfg, instM))
		cfg.Version, cfg.Revoked = 3, []string{}
		c2 := h.commit(c1, h.configFiles(cfg, instM))
		return c2, []want{{c2, ConfigPath, RuleConfigUnsigned}}
	}},
	{name: "config version replayed", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Name = 2, "renamed"
		c1 := h.commit(f.base, h.configFiles(cfg, instM))
		cfg.Revoked = []string{instB}
		c2 := h.commit(c1, h.configFiles(cfg, instM))
		return c2, []want{{c2, ConfigPath, RuleConfigVersion}}
	}},
	{name: "config version skipped", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version = 3
		c := h.commit(f.base, h.configFiles(cfg, instM))
		return c, []want{{c, ConfigPath, RuleConfigVersion}}
	}},
	{name: "config not canonical", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version = 2
		raw, err := cfg.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, '\n')
		c := h.commit(f.base, map[string]*entry{ConfigPath: h.file(raw), ConfigBundlePath: h.file(h.sign(instM, raw))})
		return c, []want{{c, ConfigPath, RuleConfigInvalid}}
	}},
	{name: "config bundle without hive.json", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{ConfigBundlePath: h.file(h.sign(instM, f.t1Data))})
		return c, []want{{c, ConfigBundlePath, RuleConfigBundleAlone}}
	}},
}

// newFixture makes a hive whose main holds the seed trace.
func newFixture(t *testing.T) (*testHive, fixture) {
	return fixtureIn(t, newTestHive(t, nil))
}

// fixtureIn adds the seed's trace to the hive h.
func fixtureIn(t *testing.T, h *testHive) (*testHive, fixture) {
	t1 := traceBytes(t, instA, "Refactor auth to use env vars")
	if string(t1) != seedTrace {
		t.Fatalf("traceBytes(seed) = %s, want %s", t1, seedTrace)
	}
	ids := h.add(t1)
	return h, fixture{base: h.head(), t1: ids[0], t1Data: t1}
}

// TestVerifyAttacks runs every attack twice: with trees cached as a
// small hive's are, and with every tree borrowed as a large hive's shards
// are (read into a buffer that is overwritten once given back, so that a
// name kept past its tree's use would show).
func TestVerifyAttacks(t *testing.T) {
	for _, borrowed := range []bool{false, true} {
		for _, a := range slices.Concat(attacks, workflowAttacks) {
			name := a.name
			if borrowed {
				name += " (trees borrowed)"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testAttack(t, a, borrowed)
			})
		}
	}
}

func testAttack(t *testing.T, a attack, borrowed bool) {
	var h *testHive
	var f fixture
	if borrowed {
		// On disk, where borrowed trees are read into reused buffers.
		h, f = copyDiskTestHive(t)
		h.s.trees.borrowMax, h.s.trees.poison = -1, true
	} else {
		h, f = newFixture(t)
	}
	head, wants := a.build(t, h, f)
	if borrowed {
		if err := h.w.sync(); err != nil { // the objects the attack wrote, into place
			t.Fatal(err)
		}
		h.s.trees.lru.Purge() // and out of the cache
	}
	if head == f.base {
		t.Fatal("the attack made no commit")
	}
	r := h.verify(head, VerifyOptions{Base: f.base})
	checkViolations(t, "Verify(head, base)", r, wants)
	if (r.Err() == nil) != (len(wants) == 0) {
		t.Errorf("Verify(head, base).Err() = %v, want an error: %v", r.Err(), len(wants) > 0)
	}
	full := h.verify(head, VerifyOptions{Full: true})
	if a.fullOK {
		checkViolations(t, "Verify(head, full)", full, nil)
	} else {
		checkViolations(t, "Verify(head, full)", full, wants)
	}
	if got := h.head(); got != f.base {
		t.Errorf("main = %s, want %s (unmoved)", short(got), short(f.base))
	}
	if r := h.verify(f.base, VerifyOptions{Full: true}); r.Err() != nil {
		t.Errorf("Verify(base, full) = %v, want no violations", r.Err())
	}
	// Every violation is an error with the commit, path and rule.
	for _, v := range r.Violations {
		if !strings.Contains(v.Error(), string(v.Rule)) || (v.Path != "" && !strings.Contains(v.Error(), v.Path)) {
			t.Errorf("Violation.Error() = %q, missing its path or rule", v.Error())
		}
		var got Violation
		if !errors.As(r.Err(), &got) {
			t.Errorf("errors.As(Report.Err(), *Violation) = false")
		}
	}
}

// TestVerifyCorruptObject: a loose object whose bytes are corrupted is
// refused. A compressed object (a trace) is checked against its zlib
// stream's Adler-32 as it is inflated, to the stream's end; so is a tree
// whose stream structure is broken. A large tree borrowed for a diff (as a
// 100k hive's shards are; every tree here) is not checked but compared:
// corrupted content on either side shows as changes that are not there,
// refused, and a corrupted checksum alone changes nothing the diff reads.
func TestVerifyCorruptObject(t *testing.T) {
	for _, tc := range []struct {
		name   string
		older  bool // the traces folder as the older side of the diff, else the newer
		trace  bool // the trace file instead
		at     int  // offset from the file's end of the byte flipped
		passes bool
	}{
		{name: "tree, newer, content", at: 10}, // the last byte of the last entry's hash
		{name: "tree, newer, final block", at: 5},
		{name: "tree, newer, checksum only", at: 1, passes: true},
		{name: "tree, older, content", older: true, at: 10},
		{name: "tree, older, final block", older: true, at: 5},
		{name: "trace, checksum", trace: true, at: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, f := copyDiskTestHive(t)
			h.s.trees.borrowMax = -1
			t2 := traceBytes(t, instB, "Rotate the signing keys")
			c := h.commit(f.base, h.traceFiles(t2, instB))
			c3 := h.commit(c, h.traceFiles(traceBytes(t, instA, "Cache the token"), instA))
			// The traces folder of c is the newer side of c's diff and the
			// older side of c3's.
			path := tracesDir
			if tc.trace {
				path = TracePath(schema.Digest(t2))
			}
			e, ok, err := h.s.trees.lookup(h.treeOf(c), path)
			if err != nil || !ok {
				t.Fatalf("lookup %s: %v %v", path, ok, err)
			}
			hex := e.hash.String()
			p := filepath.Join(h.s.gitDir, "objects", hex[:2], hex[2:])
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-tc.at] ^= 1
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o444); err != nil {
				t.Fatal(err)
			}
			h.s.trees.lru.Purge()
			head, base := c, f.base
			if tc.older {
				head, base = c3, c
			}
			r := h.verify(head, VerifyOptions{Base: base})
			switch {
			case tc.passes:
				checkViolations(t, "Verify", r, nil)
			case tc.trace:
				checkViolations(t, "Verify", r, []want{{c, path, RuleObjectInvalid}})
			case r.Err() == nil:
				t.Fatal("Verify passed over a corrupted tree, want it refused")
			}
		})
	}
}

// TestVerifyRoot checks root commits: exactly one valid hive.json.
func TestVerifyRoot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files func(h *testHive) map[string]*entry
		rule  Rule
		path  string
	}{
		{"extra file", func(h *testHive) map[string]*entry {
			return merge(h.configFiles(DefaultConfig("x"), ""), map[string]*entry{"README.md": h.file([]byte("hi\n"))})
		}, RuleRootInvalid, ""},
		{"extra key", func(h *testHive) map[string]*entry {
			return merge(h.configFiles(DefaultConfig("x"), ""), map[string]*entry{KeyPath(instA): h.file(testKey(h.t, instA).Public().MarshalPEM())})
		}, RuleRootInvalid, ""},
		{"no hive.json", func(h *testHive) map[string]*entry {
			return map[string]*entry{"README.md": h.file([]byte("hi\n"))}
		}, RuleRootInvalid, ""},
		{"version 2", func(h *testHive) map[string]*entry {
			cfg := DefaultConfig("x")
			cfg.Version = 2
			return h.configFiles(cfg, "")
		}, RuleConfigVersion, ConfigPath},
		{"invalid hive.json", func(h *testHive) map[string]*entry {
			return map[string]*entry{ConfigPath: h.file([]byte(`{"format":"hive/v1"}`))}
		}, RuleConfigInvalid, ConfigPath},
		{"executable hive.json", func(h *testHive) map[string]*entry {
			raw, _ := DefaultConfig("x").Marshal()
			return map[string]*entry{ConfigPath: {mode: filemode.Executable, hash: h.blob(raw)}}
		}, RuleRootInvalid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHive(t, nil)
			root := h.commitTree(h.edit(plumbing.ZeroHash, tc.files(h)))
			r := h.verify(root, VerifyOptions{})
			checkViolations(t, "Verify(root)", r, []want{{root, tc.path, tc.rule}})
		})
	}
}

func TestVerifyLimits(t *testing.T) {
	t.Run("commits", func(t *testing.T) {
		h := newTestHive(t, nil, WithLimits(Limits{MaxCommits: 2, MaxTraces: 100, MaxViolations: 100}))
		base := h.head()
		head := base
		for i := range 3 {
			head = h.commit(head, h.traceFiles(traceBytes(t, instA, "limit "+strconv.Itoa(i)), instA))
		}
		r := h.verify(head, VerifyOptions{Base: base})
		checkViolations(t, "Verify(3 commits)", r, []want{{head, "", RuleLimit}})
		// Two commits are within the limit.
		parent := h.parents(head)[0]
		if r := h.verify(parent, VerifyOptions{Base: base}); r.Err() != nil {
			t.Errorf("Verify(2 commits) = %v, want no violations", r.Err())
		}
	})
	t.Run("traces", func(t *testing.T) {
		h := newTestHive(t, nil, WithLimits(Limits{MaxCommits: 100, MaxTraces: 2, MaxViolations: 100}))
		base := h.head()
		files := map[string]*entry{}
		for i := range 3 {
			files = merge(files, h.traceFiles(traceBytes(t, instA, "limit "+strconv.Itoa(i)), instA))
		}
		head := h.commit(base, files)
		r := h.verify(head, VerifyOptions{Base: base})
		checkViolations(t, "Verify(3 traces)", r, []want{{head, "", RuleLimit}})
	})
	t.Run("violations", func(t *testing.T) {
		h := newTestHive(t, nil, WithLimits(Limits{MaxCommits: 100, MaxTraces: 100, MaxViolations: 2}))
		base := h.head()
		files := map[string]*entry{}
		for _, p := range []string{"a", "b", "c", "d", "e"} {
			files[p] = h.file([]byte(p))
		}
		head := h.commit(base, files)
		r := h.verify(head, VerifyOptions{Base: base})
		if len(r.Violations) != 2 || r.Omitted != 3 {
			t.Fatalf("Verify(5 violations, max 2) = %d listed, %d omitted, want 2, 3", len(r.Violations), r.Omitted)
		}
		// The first violations are kept, in path order.
		checkViolations(t, "Verify(5 violations, max 2)", r, []want{{head, `"a"`, RulePathNotAllowed}, {head, `"b"`, RulePathNotAllowed}})
	})
}

func TestVerifyTipsRecord(t *testing.T) {
	h, f := newFixture(t)
	r := h.verify(f.base, VerifyOptions{})
	if !r.Cached {
		t.Errorf("Verify(main) after Add: Cached = false, want true")
	}
	r = h.verify(f.base, VerifyOptions{Full: true})
	if r.Cached || r.Err() != nil || r.Traces != 1 || r.Keys != 3 {
		t.Errorf("Verify(main, full) = cached %v, %d traces, %d keys, %v; want not cached, 1 trace, 3 keys, no violations", r.Cached, r.Traces, r.Keys, r.Err())
	}

	// A valid commit verified from the root is recorded; then cached.
	good := h.commit(f.base, h.traceFiles(traceBytes(t, instB, "good"), instB))
	if r := h.verify(good, VerifyOptions{}); r.Cached || r.Err() != nil || r.Commits != 1 {
		t.Errorf("Verify(good) = cached %v, %d commits, %v; want a check of 1 commit, no violations", r.Cached, r.Commits, r.Err())
	}
	if r := h.verify(good, VerifyOptions{}); !r.Cached {
		t.Errorf("second Verify(good): Cached = false, want true")
	}
	if r := h.verify(good, VerifyOptions{Full: true}); r.Cached || r.Err() != nil {
		t.Errorf("Verify(good, full) = cached %v, %v; want checked, no violations", r.Cached, r.Err())
	}

	// A tampered commit on top of a verified tip is caught, and not recorded.
	bad := h.commit(good, map[string]*entry{TracePath(f.t1): h.file([]byte("tampered"))})
	for i := range 2 {
		r := h.verify(bad, VerifyOptions{})
		if r.Cached {
			t.Fatalf("Verify(bad) #%d: Cached = true", i)
		}
		checkViolations(t, "Verify(bad)", r, []want{{bad, TracePath(f.t1), RulePathModified}})
	}
	// A valid commit on top of the bad one is still refused.
	after := h.commit(bad, h.traceFiles(traceBytes(t, instA, "after"), instA))
	checkViolations(t, "Verify(after bad)", h.verify(after, VerifyOptions{}), []want{{bad, TracePath(f.t1), RulePathModified}})
	checkViolations(t, "Verify(after bad, base good)", h.verify(after, VerifyOptions{Base: good}), []want{{bad, TracePath(f.t1), RulePathModified}})

	// A range from an unrecorded base is not recorded, since its base was
	// never checked; verifying from the root still works.
	side := h.commit(f.base, map[string]*entry{KeyPath(instC): h.file(testKey(t, instC).Public().MarshalPEM())})
	tip := h.commit(side, h.traceFiles(traceBytes(t, instC, "c"), instC))
	if r := h.verify(tip, VerifyOptions{Base: side}); r.Err() != nil {
		t.Fatalf("Verify(tip, base side) = %v", r.Err())
	}
	if r := h.verify(tip, VerifyOptions{}); r.Cached || r.Commits != 2 {
		t.Errorf("Verify(tip) = cached %v, %d commits; want 2 commits checked (side was never recorded)", r.Cached, r.Commits)
	}
}

// TestVerifyBaseBehindVerifiedTips checks a range whose base is older than
// tips on record: the tips must not hide that head descends from base.
func TestVerifyBaseBehindVerifiedTips(t *testing.T) {
	h, f := newFixture(t)
	rootHash := f.base
	for ps := h.parents(rootHash); len(ps) > 0; ps = h.parents(rootHash) {
		rootHash = ps[0]
	}
	h.add(traceBytes(t, instB, "later"))
	// A commit not on record, so that the walk cannot answer from the record.
	head := h.commit(h.head(), h.traceFiles(traceBytes(t, instA, "head"), instA))
	for _, base := range []plumbing.Hash{rootHash, f.base, h.head()} {
		if r := h.verify(head, VerifyOptions{Base: base}); r.Err() != nil {
			t.Errorf("Verify(main, base %s) = %v, want no violations", short(base), r.Err())
		}
	}
}

// sizeCheckingDB fails the test if the poisoned object is read with a
// limit that lets it through whole.
type sizeCheckingDB struct {
	*odb.Memory
	t      testing.TB
	poison plumbing.Hash
}

func (s *sizeCheckingDB) Read(typ plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	if h == s.poison && max > schema.MaxTraceSize {
		s.t.Errorf("oversize object %s read with a limit of %d", short(h), max)
	}
	return s.Memory.Read(typ, h, max)
}

func (s *sizeCheckingDB) Borrow(typ plumbing.ObjectType, h plumbing.Hash, max, unchecked int64) ([]byte, func(), error) {
	if h == s.poison && max > schema.MaxTraceSize {
		s.t.Errorf("oversize object %s borrowed with a limit of %d", short(h), max)
	}
	return s.Memory.Borrow(typ, h, max, unchecked)
}

func TestVerifyOversizeTraceNotRead(t *testing.T) {
	st := &sizeCheckingDB{Memory: odb.NewMemory(), t: t}
	h := newTestHive(t, st)
	base := h.head()
	b := []byte(strings.Replace(seedTrace, "import os", strings.Repeat("x", schema.MaxTraceSize), 1))
	files := h.traceFiles(b, instA)
	st.poison = files[TracePath(schema.Digest(b))].hash
	c := h.commit(base, files)
	r := h.verify(c, VerifyOptions{Base: base})
	checkViolations(t, "Verify(oversize)", r, []want{{c, TracePath(schema.Digest(b)), schema.RuleTooLarge}})
}

func TestAddOutputVerifies(t *testing.T) {
	h := newTestHive(t, nil)
	base := h.head()
	p := traceBytes(t, instA, "parent")
	c1 := traceBytes(t, instB, "child", schema.Digest(p))
	c2 := traceBytes(t, instA, "grandchild", schema.Digest(c1), schema.Digest(p))
	other := traceBytes(t, instB, "unrelated")
	// Children first: AddBatch orders by lineage.
	in := []Input{{"c2.json", c2}, {"c1.json", c1}, {"other.json", other}, {"p.json", p}}
	added, err := h.s.AddBatch(in, testKeys(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 4 || added[0].Commit != added[2].Commit || added[3].Commit == added[0].Commit {
		t.Errorf("AddBatch(4, 3 a commit) = %+v, want 2 commits of 3 and 1", added)
	}
	if h.head() != added[3].Commit {
		t.Errorf("main = %s, want %s", short(h.head()), short(added[3].Commit))
	}
	r := h.verify(h.head(), VerifyOptions{Full: true})
	if r.Err() != nil || r.Traces != 4 || r.Commits != 6 {
		t.Errorf("Verify(full) = %d commits, %d traces, %v; want 6, 4, no violations", r.Commits, r.Traces, r.Err())
	}
	if r := h.verify(h.head(), VerifyOptions{Base: base}); r.Err() != nil {
		t.Errorf("Verify(base) = %v", r.Err())
	}
}

func TestAddRefused(t *testing.T) {
	h, f := newFixture(t)
	valid := Input{"ok.json", traceBytes(t, instB, "valid")}
	for _, tc := range []struct {
		name string
		in   Input
		msg  string
	}{
		{"invalid input", Input{"bad.json", []byte(`{"intent":"x"}`)}, string(schema.RuleSchema)},
		{"confidence", Input{"low.json", replace(t, seedTrace, "0.98", "0.5")}, string(schema.RuleThreshold)},
		{"unknown key", Input{"c.json", traceBytes(t, instC, "no key")}, string(RuleSigKeyUnknown)},
		{"existing trace", Input{"again.json", f.t1Data}, "already in the hive"},
		{"missing parent", Input{"orphan.json", traceBytes(t, instA, "orphan", schema.Digest([]byte("x")))}, string(RuleLineageMissing)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			added, err := h.s.Add([]Input{valid, tc.in}, testKeys(t))
			var ie InputErrors
			if !errors.As(err, &ie) {
				t.Fatalf("Add(%s) = %v, %v; want InputErrors", tc.in.Name, added, err)
			}
			if len(ie) != 1 || !strings.Contains(ie[0].Error(), tc.in.Name) || !strings.Contains(ie[0].Error(), tc.msg) {
				t.Errorf("Add(%s) = %v, want one error naming %s and %q", tc.in.Name, err, tc.in.Name, tc.msg)
			}
			if added != nil {
				t.Errorf("Add(%s) added %v, want nothing", tc.in.Name, added)
			}
			if got := h.head(); got != f.base {
				t.Errorf("main = %s after a refused Add, want %s", short(got), short(f.base))
			}
		})
	}
}

// FuzzVerifyTraceBlob commits fuzzed bytes as a trace with a valid
// signature over them: the validator must not panic, and must report a
// violation unless the bytes are a valid canonical trace.
func FuzzVerifyTraceBlob(f *testing.F) {
	for _, s := range []string{
		seedTrace,
		strings.Replace(seedTrace, `"lineage":[]`, `"lineage":null`, 1),
		strings.Replace(seedTrace, `0.98`, `0.5`, 1),
		strings.Replace(seedTrace, `instance_a`, `instance_c`, 1),
		`{}`, `[]`, `null`, `{"intent":`, "\xff",
	} {
		f.Add([]byte(s))
	}
	h := newTestHive(f, nil)
	base := h.head()
	f.Fuzz(func(t *testing.T, b []byte) {
		h.t = t // the target runs one input at a time in a process
		if len(b) > schema.MaxTraceSize+16 {
			return
		}
		c := h.commit(base, h.traceFiles(b, instA))
		r, err := h.s.Verify(c, VerifyOptions{Base: base})
		if err != nil {
			t.Fatal(err)
		}
		_, perr := schema.ParseCanonical(b)
		if r.Err() == nil && perr != nil {
			t.Fatalf("Verify(%q) found no violation; ParseCanonical: %v", b, perr)
		}
		for _, v := range r.Violations {
			if v.Commit != c {
				t.Errorf("violation %v names commit %s, want %s", v, short(v.Commit), short(c))
			}
		}
	})
}
