package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/hive-dev/hive/internal/fault"
	"github.com/hive-dev/hive/odb"
)

var (
	// ErrRefused reports a pull or push the validator refused; the report
	// that comes with it lists every violation.
	ErrRefused = errors.New("refused by the validator")
	// ErrMergeConflict reports a merge that would have to choose between
	// two different changes of hive.json or of a key.
	ErrMergeConflict = errors.New("merge conflict")
	// ErrNonFastForward reports a push that the remote refused because
	// its main has commits this hive lacks.
	ErrNonFastForward = errors.New("the remote's main has commits this hive lacks")
)

// checkIsHive refuses, in one line, a fetched main with no hive.json at
// the top of its tree: a git repository that is not a hive, whose every
// commit would otherwise be reported as a violation.
func (s *Store) checkIsHive(r Remote, main plumbing.Hash) error {
	c, err := s.commitHeader(main)
	if err != nil {
		return err
	}
	if _, ok, err := s.trees.lookup(c.Tree, ConfigPath); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s is not a hive: its main (%s) has no %s; nothing was taken from it", r.URL, short(main), ConfigPath)
	}
	return nil
}

// Remote is where a hive syncs with: a named git remote or a URL.
type Remote struct {
	Name string `json:"name"` // the git remote's name, or a name derived from the URL
	URL  string `json:"url"`
}

// ResolveRemote turns a remote's name (from the git config) or a URL (a
// path, file://, http(s)://, ssh) into a Remote. An empty name is origin.
func (s *Store) ResolveRemote(nameOrURL string) (Remote, error) {
	if nameOrURL == "" {
		nameOrURL = "origin"
	}
	cfg, err := s.st.Config()
	if err != nil {
		return Remote{}, err
	}
	if rc, ok := cfg.Remotes[nameOrURL]; ok && len(rc.URLs) > 0 {
		url := rc.URLs[0]
		if isLocalPath(url) && !filepath.IsAbs(url) && s.gitDir != "" {
			// git resolves a relative remote from the repository's top.
			top := s.workDir
			if top == "" {
				top = s.gitDir
			}
			url = filepath.Join(top, url)
		}
		return Remote{Name: nameOrURL, URL: url}, nil
	}
	if fi, err := os.Stat(nameOrURL); (err != nil || !fi.IsDir()) && !strings.Contains(nameOrURL, "/") && !strings.Contains(nameOrURL, ":") {
		return Remote{}, errorf(ErrNotFound, "no remote %q (add one with `git remote add %s URL`, or give a URL)", nameOrURL, nameOrURL)
	}
	url := nameOrURL
	if _, err := os.Stat(url); err == nil {
		if abs, err := filepath.Abs(url); err == nil {
			url = abs
		}
	} else if user, _, ok := strings.Cut(url, "@"); ok && !strings.Contains(url, "://") && strings.Contains(user, ":") {
		// user:password@host without a scheme: git would read it as an
		// ssh address whose host is the user name.
		return Remote{}, errorf(ErrInvalid, "remote %q is not a URL: a user and password belong in an http(s) URL (http://git:TOKEN@host/hive.git), or the token in $HIVE_TOKEN", url)
	}
	sum := sha256.Sum256([]byte(url))
	return Remote{Name: "url-" + hex.EncodeToString(sum[:6]), URL: url}, nil
}

// isLocalPath reports whether a remote URL is a path rather than a URL with
// a scheme or an scp-like host:path.
func isLocalPath(url string) bool {
	if strings.Contains(url, "://") {
		return false
	}
	colon := strings.IndexByte(url, ':')
	slash := strings.IndexByte(url, '/')
	return colon < 0 || (slash >= 0 && slash < colon)
}

// incomingRef holds what a pull fetched until the validator has passed it.
func incomingRef(r Remote) plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/hive/incoming/" + r.Name)
}

// seenRef is the last tip of a remote's main that this hive accepted; a
// remote whose main no longer descends from it rewrote its history.
func seenRef(r Remote) plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/hive/remotes/" + r.Name + "/main")
}

// fetch fetches the remote's main into the quarantine ref and returns it.
func (s *Store) fetch(ctx context.Context, r Remote) (plumbing.Hash, error) {
	rem := git.NewRemote(s.st, &config.RemoteConfig{Name: r.Name, URLs: []string{r.URL}})
	spec := config.RefSpec("+" + string(Branch) + ":" + string(incomingRef(r)))
	err := rem.FetchContext(ctx, &git.FetchOptions{RemoteName: r.Name, RefSpecs: []config.RefSpec{spec}, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		if errors.Is(err, transport.ErrEmptyRemoteRepository) {
			return plumbing.ZeroHash, errorf(ErrNotFound, "fetch %s: the remote is empty", r.URL)
		}
		return plumbing.ZeroHash, fmt.Errorf("fetch main from %s: %w", r.URL, err)
	}
	h, err := s.db.Ref(incomingRef(r))
	if err != nil {
		return plumbing.ZeroHash, errorf(ErrNotFound, "fetch %s: no branch main there", r.URL)
	}
	return h, nil
}

// PullResult says what a pull did.
type PullResult struct {
	Remote  Remote
	Old     plumbing.Hash // main before
	New     plumbing.Hash // main after (Old when nothing changed)
	Fetched plumbing.Hash // the remote's main
	Merged  bool          // a merge commit was made
	Report  *Report       // the validator's report on what was fetched
	Added   int           // traces new on main
}

// Pull fetches the remote's main into quarantine, verifies what it adds
// against this hive's verified main, and fast-forwards or merges. On any
// violation it returns the report with ErrRefused and changes nothing:
// main, the index and the working tree stay as they were.
func (s *Store) Pull(r Remote, progress func(done, total int)) (*PullResult, error) {
	return s.PullContext(context.Background(), r, progress)
}

// PullContext is Pull that stops when ctx ends, with ctx's error, until
// main is about to move: from then on it completes.
func (s *Store) PullContext(ctx context.Context, r Remote, progress func(done, total int)) (*PullResult, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	local, err := s.Head()
	if err != nil {
		return nil, err
	}
	res := &PullResult{Remote: r, Old: local, New: local}
	// Our own main first: a pull extends only a verified state.
	if rep, err := s.VerifyContext(ctx, local, VerifyOptions{}); err != nil {
		return nil, err
	} else if rep.Err() != nil {
		res.Report = rep
		return res, fmt.Errorf("this hive's own main does not verify; run `hive verify`: %w", ErrRefused)
	}
	incoming, err := s.fetch(ctx, r)
	if err != nil {
		return nil, err
	}
	res.Fetched = incoming
	defer s.db.DeleteRef(incomingRef(r))
	if err := s.checkIsHive(r, incoming); err != nil {
		return nil, err
	}
	// A remote must never serve less than it served before.
	if seen, err := s.db.Ref(seenRef(r)); err == nil && seen != incoming {
		ok, err := s.isAncestor(seen, incoming)
		if err != nil {
			return nil, err
		}
		if !ok {
			res.Report = &Report{Head: incoming, Base: seen, Violations: Violations{violationf(incoming, "", RuleHistoryRewritten,
				"%s's main %s does not descend from %s, which it served before: history was rewritten", r.Name, short(incoming), short(seen))}}
			return res, fmt.Errorf("pull from %s: %w", r.URL, ErrRefused)
		}
	}
	if done, err := s.isAncestor(incoming, local); err != nil {
		return nil, err
	} else if done {
		res.Report = &Report{Head: incoming, Cached: true}
		return res, s.setRef(seenRef(r), incoming)
	}
	ff, err := s.isAncestor(local, incoming)
	if err != nil {
		return nil, err
	}
	opts := VerifyOptions{Progress: progress}
	if ff {
		opts.Base = local
	} else {
		opts.Known = []plumbing.Hash{local}
	}
	rep, err := s.VerifyContext(ctx, incoming, opts)
	if err != nil {
		return nil, err
	}
	res.Report = rep
	if rep.Err() != nil {
		return res, fmt.Errorf("pull from %s: %w", r.URL, ErrRefused)
	}
	tip := incoming
	w := &writer{s: s}
	defer w.discard()
	if !ff {
		if tip, err = s.mergeCommit(w, local, incoming, fmt.Sprintf("hive: merge %s from %s\n", short(incoming), r.Name)); err != nil {
			return nil, err
		}
		res.Merged = true
		if err := w.sync(); err != nil {
			return nil, err
		}
		mrep, err := s.Verify(tip, VerifyOptions{Base: local, Known: []plumbing.Hash{incoming}})
		if err != nil {
			return nil, err
		}
		if mrep.Err() != nil {
			return res, fmt.Errorf("the merge breaks the rules (a bug in hive): %w", mrep.Err())
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pull from %s: %w", r.URL, err)
	}
	// What the working tree is to become, checked before main moves: a
	// file changed by hand there is the person's, not the pull's.
	var files map[string][]byte
	var removed []string
	if s.headIsMain() {
		if files, removed, err = s.changedFiles(local, tip); err != nil {
			return nil, err
		}
		lc, err := s.commitHeader(local)
		if err != nil {
			return nil, err
		}
		if err := s.checkHandEdits(lc.Tree, files, removed); err != nil {
			return res, fmt.Errorf("pull from %s: %w", r.URL, err)
		}
		if removed == nil {
			removed = []string{}
		}
	}
	fault.Kill("before-ref")
	if err := s.moveMain(local, tip); err != nil {
		return nil, err
	}
	res.New = tip
	s.moved(local, tip, files, removed)
	if added, _, err := s.Changes(local, tip); err == nil {
		res.Added = len(added)
	}
	return res, s.setRef(seenRef(r), incoming)
}

// setRef points a ref of hive's own at h.
func (s *Store) setRef(name plumbing.ReferenceName, h plumbing.Hash) error {
	return s.db.SetRef(name, h)
}

// isAncestor reports whether a is b or one of b's ancestors.
func (s *Store) isAncestor(a, b plumbing.Hash) (bool, error) {
	if a == b {
		return true, nil
	}
	v := &validator{s: s, report: &Report{}, limits: s.limits}
	v.walk(b, a, nil)
	for _, x := range v.report.Violations {
		if x.Rule == RuleHistoryRewritten {
			return false, nil
		}
		return false, x
	}
	return true, nil
}

// mergeCommit writes the merge of theirs into ours: a three-way merge of
// the trees in which content-addressed traces never conflict; two
// different changes of hive.json or a key do, and nothing is written.
func (s *Store) mergeCommit(w *writer, ours, theirs plumbing.Hash, msg string) (plumbing.Hash, error) {
	v := &validator{s: s}
	oc, err := v.readCommit(ours)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tc, err := v.readCommit(theirs)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	bases, err := s.mergeBases(ours, theirs)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if len(bases) == 0 {
		return plumbing.ZeroHash, fmt.Errorf("%s and %s share no history: %w", short(ours), short(theirs), ErrMergeConflict)
	}
	bc, err := v.readCommit(bases[0])
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var conflicts []string
	root, err := w.merge3(bc.TreeHash, oc.TreeHash, tc.TreeHash, "", &conflicts)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if len(conflicts) > 0 {
		return plumbing.ZeroHash, fmt.Errorf("both sides changed %s differently; resolve it by hand with git, then run hive verify: %w", strings.Join(conflicts, ", "), ErrMergeConflict)
	}
	// A trace one side removed by a resolved dispute may not come back
	// from the other.
	var changes []change
	if err := s.diff(s.trees, oc.TreeHash, root, false, "", &changes); err != nil {
		return plumbing.ZeroHash, err
	}
	for _, ch := range changes {
		if k, _ := classify(ch.path); k == kindTrace && ch.new != nil {
			if _, gone, err := s.trees.lookup(root, recordPath(disputesRemoved, traceIDOf(ch.path))); err == nil && gone {
				return plumbing.ZeroHash, fmt.Errorf("%s: the remote has %s, which a resolved dispute removed here: %w", RuleTraceRemoved, traceIDOf(ch.path), ErrMergeConflict)
			}
		}
	}
	return w.commit(root, []plumbing.Hash{ours, theirs}, "hive", s.now(), msg)
}

// mergeBases returns the best common ancestors of a and b.
func (s *Store) mergeBases(a, b plumbing.Hash) ([]plumbing.Hash, error) {
	return odb.MergeBases(context.Background(), s.db, a, b)
}

// merge3 merges trees a and b from their base o, path by path.
func (w *writer) merge3(o, a, b plumbing.Hash, prefix string, conflicts *[]string) (plumbing.Hash, error) {
	switch {
	case a == b:
		return a, nil
	case o == a:
		return b, nil
	case o == b:
		return a, nil
	}
	entries := func(h plumbing.Hash) (map[string]*entry, error) {
		m := map[string]*entry{}
		if h.IsZero() {
			return m, nil
		}
		t, err := w.s.trees.get(h)
		if err != nil {
			return nil, err
		}
		es := t.list()
		for i := range es {
			m[es[i].name] = &es[i]
		}
		return m, nil
	}
	eo, err := entries(o)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	ea, err := entries(a)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	eb, err := entries(b)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	names := map[string]bool{}
	for _, m := range []map[string]*entry{eo, ea, eb} {
		for n := range m {
			names[n] = true
		}
	}
	var out []entry
	for n := range names {
		x, y, z := eo[n], ea[n], eb[n]
		var pick *entry
		switch {
		case sameEntry(y, z):
			pick = y
		case sameEntry(x, y):
			pick = z
		case sameEntry(x, z):
			pick = y
		case isTreeOrNil(x) && isTreeOrNil(y) && isTreeOrNil(z):
			h, err := w.merge3(hashOf(x), hashOf(y), hashOf(z), prefix+n+"/", conflicts)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if !h.IsZero() {
				pick = &entry{name: n, mode: filemode.Dir, hash: h}
			}
		case x == nil && y != nil && z != nil && strings.HasSuffix(n, bundleExt):
			pick = y // one trace, two valid signatures (ECDSA is randomised): keep ours
		default:
			*conflicts = append(*conflicts, prefix+n)
		}
		if pick != nil {
			out = append(out, *pick)
		}
	}
	if len(out) == 0 {
		return plumbing.ZeroHash, nil
	}
	return w.tree(out)
}

func isTreeOrNil(e *entry) bool { return e == nil || e.isTree() }

func hashOf(e *entry) plumbing.Hash {
	if e == nil {
		return plumbing.ZeroHash
	}
	return e.hash
}

// changedFiles returns the files tip's tree adds to old's, with their
// bytes, and the paths it removes, for the working tree.
func (s *Store) changedFiles(old, tip plumbing.Hash) (map[string][]byte, []string, error) {
	if s.workDir == "" {
		return nil, nil, nil
	}
	v := &validator{s: s}
	var oldTree plumbing.Hash
	if !old.IsZero() {
		oc, err := v.readCommit(old)
		if err != nil {
			return nil, nil, err
		}
		oldTree = oc.TreeHash
	}
	tc, err := v.readCommit(tip)
	if err != nil {
		return nil, nil, err
	}
	var changes []change
	if err := s.diff(s.trees, oldTree, tc.TreeHash, false, "", &changes); err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	var removed []string
	for _, ch := range changes {
		if ch.new == nil {
			removed = append(removed, ch.path)
			continue
		}
		b, err := s.objs.read(plumbing.BlobObject, ch.new.hash, maxTreeSize)
		if err != nil {
			return nil, nil, err
		}
		files[ch.path] = b
	}
	return files, removed, nil
}
