package registry

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/gofrs/flock"

	"github.com/hive-dev/hive/internal/fault"
	"github.com/hive-dev/hive/schema"
	"github.com/hive-dev/hive/signing"
)

// InitOptions describe a new hive.
type InitOptions struct {
	Name        string   // default: the folder's name
	Maintainers []string // instances allowed to change hive.json
	Bare        bool
	Workflow    []byte // if set, the root commit holds it at WorkflowPath (hive init --github)
	// Registration is hive.json's registration: RegistrationOpen (the
	// default) or RegistrationMaintainers.
	Registration string
}

// Init creates a hive at dir: a git repository whose branch main holds one
// commit with hive.json.
func Init(dir string, o InitOptions, opts ...Option) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range []string{filepath.Join(abs, ".git"), filepath.Join(abs, "objects")} {
		if _, err := os.Stat(p); err == nil {
			return nil, errorf(ErrExists, "init %s: a git repository is already there", dir)
		}
	}
	if o.Name == "" {
		o.Name = filepath.Base(abs)
	}
	cfg := DefaultConfig(o.Name)
	if o.Maintainers != nil {
		cfg.Maintainers = append([]string{}, o.Maintainers...)
		sort.Strings(cfg.Maintainers)
	}
	if o.Registration != "" {
		cfg.Registration = o.Registration
	}
	raw, err := cfg.Marshal()
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	if _, err := git.PlainInitWithOptions(abs, &git.PlainInitOptions{Bare: o.Bare, InitOptions: git.InitOptions{DefaultBranch: Branch}}); err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	gitDir, workDir := filepath.Join(abs, ".git"), abs
	if o.Bare {
		gitDir, workDir = abs, ""
	}
	if len(o.Workflow) > MaxWorkflowSize {
		return nil, errorf(ErrInvalid, "init %s: the workflow is %d bytes, over the limit of %d", dir, len(o.Workflow), MaxWorkflowSize)
	}
	s, err := openAt(gitDir, workDir, opts)
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	if err := s.initCommit(raw, cfg.Name, o.Workflow); err != nil {
		s.Close()
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	return s, nil
}

// InitStorage makes a hive in empty storage (in-memory hives for tests).
func InitStorage(s *Store, name string, maintainers []string) error {
	cfg := DefaultConfig(name)
	if maintainers != nil {
		cfg.Maintainers = append([]string{}, maintainers...)
		sort.Strings(cfg.Maintainers)
	}
	raw, err := cfg.Marshal()
	if err != nil {
		return err
	}
	if err := s.db.SetSymRef(plumbing.HEAD, Branch); err != nil {
		return err
	}
	return s.initCommit(raw, name, nil)
}

func (s *Store) initCommit(raw []byte, name string, workflow []byte) error {
	w := &writer{s: s}
	defer w.discard() // temporary files of objects never synced
	blob, err := w.blob(raw)
	if err != nil {
		return err
	}
	root, err := w.tree([]entry{{name: ConfigPath, mode: filemode.Regular, hash: blob}})
	if err != nil {
		return err
	}
	files := map[string][]byte{ConfigPath: raw}
	if workflow != nil {
		wb, err := w.blob(workflow)
		if err != nil {
			return err
		}
		if root, err = w.edit(root, map[string]*entry{WorkflowPath: {mode: filemode.Regular, hash: wb}}); err != nil {
			return err
		}
		files[WorkflowPath] = workflow
	}
	c, err := w.commit(root, nil, "hive", s.now(), "hive: init "+oneLine(name, 60)+"\n")
	if err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}
	if err := s.moveMain(plumbing.ZeroHash, c); err != nil {
		return err
	}
	if err := s.recordVerified(c); err != nil {
		return err
	}
	s.moved(plumbing.ZeroHash, c, files, []string{})
	return nil
}

// lock serialises writers to one hive across processes. Holding it, a
// writer repairs what writers that died left behind (moveMain, sweepTemp,
// repair).
func (s *Store) lock() (unlock func(), err error) {
	if s.gitDir == "" {
		s.memLock.Lock()
		return s.memLock.Unlock, nil
	}
	dir := filepath.Join(s.gitDir, "hive")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	l := flock.New(filepath.Join(dir, "lock"))
	if err := l.Lock(); err != nil {
		return nil, fmt.Errorf("lock hive: %w", err)
	}
	s.held.Store(true)
	// Under the lock no other hive writes: what a writer left half done
	// is a crash's, and is repaired before this writer starts.
	s.sweepTemp()
	s.repair()
	return func() {
		s.held.Store(false)
		l.Unlock()
	}, nil
}

// Input is one trace to add, as the user gave it.
type Input struct {
	Name string // where it came from, for messages ("trace.json", "-", "trace.json[2]")
	Data []byte
}

// Added is a trace that Add committed.
type Added struct {
	ID     schema.ID     `json:"id"`
	Commit plumbing.Hash `json:"commit"`
	Name   string        `json:"input"`
}

// InputErrors lists what was wrong with the inputs of an Add, each error
// naming its input. Nothing was committed.
type InputErrors []error

func (e InputErrors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As see each error.
func (e InputErrors) Unwrap() []error { return e }

// KeyFunc returns the private key that signs for an instance.
type KeyFunc func(instance string) (*signing.PrivateKey, error)

type pending struct {
	in     Input
	id     schema.ID
	canon  []byte
	t      *schema.Trace
	bundle []byte // nil: sign with the instance's key
}

// Add validates, canonicalises, signs and commits traces, one commit each,
// parents before children. It checks every input first: when any is
// invalid, it commits nothing and returns InputErrors.
func (s *Store) Add(inputs []Input, keys KeyFunc) ([]Added, error) {
	return s.AddBatchContext(context.Background(), inputs, keys, 1)
}

// AddContext is Add that stops when ctx ends, with ctx's error: then
// nothing is committed and main does not move.
func (s *Store) AddContext(ctx context.Context, inputs []Input, keys KeyFunc) ([]Added, error) {
	return s.AddBatchContext(ctx, inputs, keys, 1)
}

// AddBatch is Add with up to perCommit traces in each commit, as a
// squash-merged pull request or a bulk import makes them.
func (s *Store) AddBatch(inputs []Input, keys KeyFunc, perCommit int) ([]Added, error) {
	return s.AddBatchContext(context.Background(), inputs, keys, perCommit)
}

// AddBatchContext is AddBatch that stops when ctx ends, with ctx's error:
// then nothing is committed and main does not move.
func (s *Store) AddBatchContext(ctx context.Context, inputs []Input, keys KeyFunc, perCommit int) ([]Added, error) {
	var errs InputErrors
	var todo []*pending
	seen := map[schema.ID]bool{}
	for _, in := range inputs {
		canon, err := schema.Canonical(in.Data)
		var t *schema.Trace
		if err == nil {
			t, err = schema.ParseCanonical(canon)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
			continue
		}
		id := schema.Digest(canon)
		if seen[id] {
			errs = append(errs, errorf(ErrExists, "%s: %s appears twice in the input", in.Name, id))
			continue
		}
		seen[id] = true
		todo = append(todo, &pending{in: in, id: id, canon: canon, t: t})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s.commitTraces(ctx, todo, keys, perCommit)
}

// Import commits traces from federation_trace_v1 envelopes with the
// signatures they carry, which must verify with each instance's registered
// key. Like Add, it commits nothing when any input is invalid.
func (s *Store) Import(inputs []Input) ([]Added, error) {
	var errs InputErrors
	var todo []*pending
	seen := map[schema.ID]bool{}
	for _, in := range inputs {
		env, err := ParseEnvelope(in.Data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
			continue
		}
		if seen[env.ID] {
			errs = append(errs, errorf(ErrExists, "%s: %s appears twice in the input", in.Name, env.ID))
			continue
		}
		seen[env.ID] = true
		t, err := schema.ParseCanonical(env.Trace)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", in.Name, err))
			continue
		}
		todo = append(todo, &pending{in: in, id: env.ID, canon: env.Trace, t: t, bundle: env.Bundle})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s.commitTraces(context.Background(), todo, nil, 1)
}

// commitTraces checks pending traces against the hive and commits them.
func (s *Store) commitTraces(ctx context.Context, todo []*pending, keys KeyFunc, perCommit int) ([]Added, error) {
	if perCommit < 1 {
		perCommit = 1
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.commitTracesLocked(ctx, todo, keys, perCommit)
}

// commitTracesLocked is commitTraces for a caller that holds the lock.
func (s *Store) commitTracesLocked(ctx context.Context, todo []*pending, keys KeyFunc, perCommit int) ([]Added, error) {
	var errs InputErrors
	head, headTree, err := s.headState()
	if err != nil {
		return nil, err
	}
	cfg, err := s.configAt(s.trees, headTree)
	if err != nil {
		return nil, err
	}
	todo, err = lineageOrder(todo)
	if err != nil {
		return nil, err
	}
	signers := map[string]*signing.PrivateKey{}
	earlier := map[schema.ID]bool{}
	for _, p := range todo {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.checkInput(headTree, cfg, p, earlier, signers, keys); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.in.Name, err))
		}
		earlier[p.id] = true
	}
	if len(errs) > 0 {
		return nil, errs
	}
	w := &writer{s: s}
	defer w.discard() // temporary files of objects never synced
	root, tip := headTree, head
	var added []Added
	files := map[string][]byte{}
	for start := 0; start < len(todo); start += perCommit {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := todo[start:min(start+perCommit, len(todo))]
		edits := map[string]*entry{}
		for _, p := range batch {
			bundle := p.bundle
			if bundle == nil {
				if bundle, err = signing.Sign(signers[p.t.InstanceID], p.canon); err != nil {
					return nil, fmt.Errorf("sign %s: %w", p.in.Name, err)
				}
			}
			tb, err := w.blob(p.canon)
			if err != nil {
				return nil, err
			}
			bb, err := w.blob(bundle)
			if err != nil {
				return nil, err
			}
			edits[TracePath(p.id)] = &entry{mode: filemode.Regular, hash: tb}
			edits[BundlePath(p.id)] = &entry{mode: filemode.Regular, hash: bb}
			if s.workDir != "" {
				files[TracePath(p.id)], files[BundlePath(p.id)] = p.canon, bundle
			}
		}
		if root, err = w.edit(root, edits); err != nil {
			return nil, err
		}
		if tip, err = w.commit(root, []plumbing.Hash{tip}, batch[0].t.InstanceID, s.now(), traceMessage(batch)); err != nil {
			return nil, err
		}
		for _, p := range batch {
			added = append(added, Added{ID: p.id, Commit: tip, Name: p.in.Name})
		}
		if err := w.flushIfLarge(); err != nil {
			return nil, err
		}
	}
	if err := s.commitRangeContext(ctx, w, head, tip); err != nil {
		return nil, err
	}
	s.moved(head, tip, files, []string{})
	return added, nil
}

// commitRange makes new commits durable, gates them with the validator and
// moves main to tip. Objects of refused commits stay unreferenced, as git
// leaves them, until a gc.
func (s *Store) commitRange(w *writer, head, tip plumbing.Hash) error {
	return s.commitRangeContext(context.Background(), w, head, tip)
}

// commitRangeContext is commitRange that stops when ctx ends, before main
// moves, with ctx's error.
func (s *Store) commitRangeContext(ctx context.Context, w *writer, head, tip plumbing.Hash) error {
	if err := w.sync(); err != nil {
		w.discard()
		return err
	}
	r, err := s.VerifyContext(ctx, tip, VerifyOptions{Base: head})
	if err != nil {
		return err
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("the new commits break the rules (a bug in hive): %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fault.Kill("before-ref")
	return s.moveMain(head, tip)
}

// checkInput checks what the trace needs from the hive: not present yet,
// thresholds, lineage parents present, a registered and unrevoked key whose
// private half is at hand.
func (s *Store) checkInput(root plumbing.Hash, cfg *Config, p *pending, earlier map[schema.ID]bool, signers map[string]*signing.PrivateKey, keys KeyFunc) error {
	if _, ok, err := s.trees.lookup(root, TracePath(p.id)); err != nil {
		return err
	} else if ok {
		return errorf(ErrExists, "%s is already in the hive", p.id)
	}
	if _, gone, err := s.trees.lookup(root, recordPath(disputesRemoved, p.id)); err != nil {
		return err
	} else if gone {
		return fmt.Errorf("%s: %s was removed by a resolved dispute and may not come back: %w", RuleTraceRemoved, p.id, ErrInvalid)
	}
	if err := cfg.Thresholds.Check(p.t); err != nil {
		return err
	}
	for _, l := range p.t.Lineage {
		if earlier[l] {
			continue
		}
		if _, ok, err := s.trees.lookup(root, TracePath(l)); err != nil {
			return err
		} else if !ok {
			return errorf(ErrNotFound, "%s: lineage parent %s is not in the hive", RuleLineageMissing, l)
		}
	}
	inst := p.t.InstanceID
	if cfg.IsRevoked(inst) {
		return errorf(ErrUnauthorised, "%s: the key of instance %s is revoked", RuleSigKeyRevoked, inst)
	}
	if _, ok := signers[inst]; ok && p.bundle == nil {
		return nil
	}
	e, ok, err := s.trees.lookup(root, KeyPath(inst))
	if err != nil {
		return err
	}
	if !ok {
		return errorf(ErrUnauthorised, "%s: no key registered for instance %s", RuleSigKeyUnknown, inst)
	}
	pub, err := s.key(&readerCache{objs: s.objs, trees: s.trees}, e.hash)
	if err != nil {
		return err
	}
	if p.bundle != nil {
		b, err := signing.ParseBundle(p.bundle)
		if err == nil {
			err = b.Verify(pub, p.canon)
		}
		if err != nil {
			return fmt.Errorf("%s: signature of instance %s: %w", RuleSigInvalid, inst, err)
		}
		return nil
	}
	priv, err := keys(inst)
	if err != nil {
		return fmt.Errorf("private key of instance %s: %w", inst, err)
	}
	if !priv.Public().Equal(pub) {
		return fmt.Errorf("the private key for instance %s does not match %s", inst, KeyPath(inst))
	}
	signers[inst] = priv
	return nil
}

// lineageOrder sorts inputs so that each comes after the inputs in its
// lineage, keeping the given order otherwise.
func lineageOrder(in []*pending) ([]*pending, error) {
	byID := map[schema.ID]*pending{}
	for _, p := range in {
		byID[p.id] = p
	}
	var out []*pending
	state := map[schema.ID]int{} // 1 visiting, 2 done
	var visit func(p *pending) error
	visit = func(p *pending) error {
		switch state[p.id] {
		case 1:
			return fmt.Errorf("%s: lineage cycle", p.in.Name) // impossible with sha256 ids
		case 2:
			return nil
		}
		state[p.id] = 1
		for _, l := range p.t.Lineage {
			if q, ok := byID[l]; ok {
				if err := visit(q); err != nil {
					return err
				}
			}
		}
		state[p.id] = 2
		out = append(out, p)
		return nil
	}
	for _, p := range in {
		if err := visit(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// traceMessage is the commit message of an added trace, with the trailers
// that let plain git audit lineage.
func traceMessage(batch []*pending) string {
	var b strings.Builder
	if len(batch) == 1 {
		fmt.Fprintf(&b, "hive: add %s %s\n\n", batch[0].id.Short(), oneLine(batch[0].t.Intent, 60))
	} else {
		fmt.Fprintf(&b, "hive: add %d traces\n\n", len(batch))
	}
	for _, p := range batch {
		fmt.Fprintf(&b, "Hive-Trace: %s\nHive-Instance: %s\n", p.id, p.t.InstanceID)
		for _, l := range p.t.Lineage {
			fmt.Fprintf(&b, "Hive-Parent: %s\n", l)
		}
	}
	return b.String()
}

// oneLine shortens text for a commit subject.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// AddKey registers an instance's public key (PEM) in a commit of its own.
func (s *Store) AddKey(instance string, pem []byte) (plumbing.Hash, error) {
	if !schema.ValidInstanceID(instance) {
		return plumbing.ZeroHash, fmt.Errorf("instance id %s: must match %s: %w", schema.Quote(instance, 70), schema.InstanceIDPattern, ErrInvalid)
	}
	pub, err := signing.ParsePublicKeyPEM(pem)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("key for %s: %w", instance, err)
	}
	unlock, err := s.lock()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer unlock()
	return s.addKeyLocked(instance, pem, pub)
}

// addKeyLocked is AddKey for a caller that holds the lock.
func (s *Store) addKeyLocked(instance string, pem []byte, pub *signing.PublicKey) (plumbing.Hash, error) {
	head, root, err := s.headState()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if e, ok, err := s.trees.lookup(root, KeyPath(instance)); err != nil {
		return plumbing.ZeroHash, err
	} else if ok {
		old, _ := s.objs.read(plumbing.BlobObject, e.hash, signing.MaxPublicKeySize)
		if bytes.Equal(old, pem) {
			return plumbing.ZeroHash, errorf(ErrExists, "instance %s: this key is already registered", instance)
		}
		return plumbing.ZeroHash, errorf(ErrExists, "instance %s already has another key in %s; replace it with hive key rotate", instance, KeyPath(instance))
	}
	if cfg, err := s.configAt(s.trees, root); err != nil {
		return plumbing.ZeroHash, err
	} else if cfg.RegistrationMode() == RegistrationMaintainers {
		return plumbing.ZeroHash, fmt.Errorf("%s: registration is by maintainers in this hive: a maintainer approves the key of %s (hive key add --instance %s --pub FILE --by MAINTAINER): %w",
			RuleKeyUnauthorised, instance, instance, ErrUnauthorised)
	}
	if err := s.checkHandEdits(root, map[string][]byte{KeyPath(instance): pem}, nil); err != nil {
		return plumbing.ZeroHash, err
	}
	w := &writer{s: s}
	defer w.discard() // temporary files of objects never synced
	kb, err := w.blob(pem)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	root, err = w.edit(root, map[string]*entry{KeyPath(instance): {mode: filemode.Regular, hash: kb}})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	msg := fmt.Sprintf("hive: register key of %s\n\nHive-Key: %s %s:%s\n", instance, instance, pub.Algorithm(), pub.Fingerprint())
	c, err := w.commit(root, []plumbing.Hash{head}, instance, s.now(), msg)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := s.commitRange(w, head, c); err != nil {
		return plumbing.ZeroHash, err
	}
	s.moved(head, c, map[string][]byte{KeyPath(instance): pem}, []string{})
	return c, nil
}

// ImportEach is Import for many independent submitters (the server's
// POST /skills): each envelope is accepted or refused on its own, and the
// accepted ones are committed together, one commit each, with one round of
// syncs. The result and the error of input i are at index i; an input's
// own faults are InputErrors, other errors are the hive's.
func (s *Store) ImportEach(inputs []Input) ([]*Added, []error) {
	res := make([]*Added, len(inputs))
	errs := make([]error, len(inputs))
	index := map[*pending]int{}
	seen := map[schema.ID]bool{}
	var todo []*pending
	for i, in := range inputs {
		env, err := ParseEnvelope(in.Data)
		if err != nil {
			errs[i] = InputErrors{fmt.Errorf("%s: %w", in.Name, err)}
			continue
		}
		if seen[env.ID] {
			errs[i] = InputErrors{errorf(ErrExists, "%s: %s is already submitted", in.Name, env.ID)}
			continue
		}
		t, err := schema.ParseCanonical(env.Trace)
		if err != nil {
			errs[i] = InputErrors{fmt.Errorf("%s: %w", in.Name, err)}
			continue
		}
		seen[env.ID] = true
		p := &pending{in: in, id: env.ID, canon: env.Trace, t: t, bundle: env.Bundle}
		index[p] = i
		todo = append(todo, p)
	}
	fail := func(err error) ([]*Added, []error) {
		for _, p := range todo {
			if errs[index[p]] == nil {
				errs[index[p]] = err
			}
		}
		return res, errs
	}
	if len(todo) == 0 {
		return res, errs
	}
	unlock, err := s.lock()
	if err != nil {
		return fail(err)
	}
	defer unlock()
	root, err := s.headTree()
	if err != nil {
		return fail(err)
	}
	cfg, err := s.configAt(s.trees, root)
	if err != nil {
		return fail(err)
	}
	if todo, err = lineageOrder(todo); err != nil {
		return fail(err)
	}
	earlier := map[schema.ID]bool{}
	var keep []*pending
	for _, p := range todo {
		if err := s.checkInput(root, cfg, p, earlier, map[string]*signing.PrivateKey{}, nil); err != nil {
			errs[index[p]] = InputErrors{fmt.Errorf("%s: %w", p.in.Name, err)}
			continue
		}
		earlier[p.id] = true
		keep = append(keep, p)
	}
	if len(keep) == 0 {
		return res, errs
	}
	added, err := s.commitTracesLocked(context.Background(), keep, nil, 1)
	if err != nil {
		todo = keep
		return fail(err)
	}
	byID := map[schema.ID]*Added{}
	for i := range added {
		byID[added[i].ID] = &added[i]
	}
	for _, p := range keep {
		res[index[p]] = byID[p.id]
	}
	return res, errs
}
