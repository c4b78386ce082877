package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/internal/fault"
)

// verifiedMain verifies main (from the record of verified tips onward) and
// returns it.
func (s *Store) verifiedMain(ctx context.Context) (plumbing.Hash, *Report, error) {
	head, err := s.Head()
	if err != nil {
		return plumbing.ZeroHash, nil, err
	}
	rep, err := s.VerifyContext(ctx, head, VerifyOptions{})
	if err != nil {
		return head, nil, err
	}
	if rep.Err() != nil {
		return head, rep, fmt.Errorf("main does not verify: %w", ErrRefused)
	}
	return head, rep, nil
}

// push pushes local main to ref on the remote.
func (s *Store) push(r Remote, ref plumbing.ReferenceName, force bool, progress io.Writer) error {
	rem := git.NewRemote(s.st, &config.RemoteConfig{Name: r.Name, URLs: []string{r.URL}})
	spec := string(Branch) + ":" + string(ref)
	if force {
		spec = "+" + spec
	}
	err := rem.Push(&git.PushOptions{RemoteName: r.Name, RefSpecs: []config.RefSpec{config.RefSpec(spec)}, Progress: progress})
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case strings.Contains(err.Error(), "non-fast-forward"):
		return fmt.Errorf("push to %s: %w", r.URL, ErrNonFastForward)
	}
	return fmt.Errorf("push to %s: %w", r.URL, err)
}

// Push verifies main and pushes it to the remote's main. The remote's own
// gate (a pre-receive hook, hive serve) may refuse it too; its reasons are
// written to progress.
func (s *Store) Push(r Remote, progress io.Writer) (plumbing.Hash, error) {
	head, _, err := s.verifiedMain(context.Background())
	if err != nil {
		return head, err
	}
	if err := s.push(r, Branch, false, progress); err != nil {
		return head, err
	}
	return head, s.rememberRemote(r, head)
}

// rememberRemote records what the remote's main now is.
func (s *Store) rememberRemote(r Remote, h plumbing.Hash) error {
	if err := s.setRef(seenRef(r), h); err != nil {
		return err
	}
	if strings.HasPrefix(r.Name, "url-") {
		return nil
	}
	return s.setRef(plumbing.NewRemoteReferenceName(r.Name, "main"), h)
}

// Submission is a branch pushed for review.
type Submission struct {
	Remote Remote
	Branch string
	Head   plumbing.Hash
	Base   plumbing.Hash // the remote's main
	Traces []*Entry      // the skills the branch adds
}

// Submit pushes the skills main has and the remote's main lacks to a branch
// hive/<instance>/<first new trace>, for a pull request.
func (s *Store) Submit(r Remote, progress io.Writer) (*Submission, error) {
	head, _, err := s.verifiedMain(context.Background())
	if err != nil {
		return nil, err
	}
	theirs, err := s.fetch(context.Background(), r)
	if err != nil {
		return nil, err
	}
	defer s.db.DeleteRef(incomingRef(r))
	sub := &Submission{Remote: r, Head: head, Base: theirs}
	v := &validator{s: s}
	hc, err := v.readCommit(head)
	if err != nil {
		return nil, err
	}
	tc, err := v.readCommit(theirs)
	if err != nil {
		return nil, err
	}
	var changes []change
	if err := s.diff(s.trees, tc.TreeHash, hc.TreeHash, false, "", &changes); err != nil {
		return nil, err
	}
	for _, ch := range changes {
		if k, _ := classify(ch.path); k == kindTrace && ch.old == nil && ch.new != nil {
			e, err := s.traceAt(s.trees, hc.TreeHash, traceIDOf(ch.path))
			if err != nil {
				return nil, err
			}
			sub.Traces = append(sub.Traces, e)
		}
	}
	if len(sub.Traces) == 0 {
		return sub, errorf(ErrNotFound, "main adds no skill that %s lacks: nothing to submit", r.Name)
	}
	first := sub.Traces[0]
	sub.Branch = "hive/" + first.Trace.InstanceID + "/" + first.ID.Hex()[:12]
	if err := s.push(r, plumbing.NewBranchReferenceName(sub.Branch), true, progress); err != nil {
		return sub, err
	}
	return sub, nil
}

// Clone makes a hive at dir from url: it fetches main into quarantine,
// verifies the whole history, and only then sets main, the remote origin
// and the working tree. A clone that does not verify leaves nothing behind.
func Clone(url, dir string, progress func(done, total int), opts ...Option) (*Store, *Report, error) {
	return CloneContext(context.Background(), url, dir, progress, opts...)
}

// CloneContext is Clone that stops when ctx ends, with ctx's error, and
// leaves nothing behind, until main is about to be set.
func CloneContext(ctx context.Context, url, dir string, progress func(done, total int), opts ...Option) (*Store, *Report, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(abs); err == nil {
		if ents, _ := os.ReadDir(abs); len(ents) > 0 {
			return nil, nil, errorf(ErrExists, "clone into %s: the folder is not empty", dir)
		}
	}
	if fi, err := os.Stat(url); err == nil && fi.IsDir() {
		if u, err := filepath.Abs(url); err == nil {
			url = u
		}
	}
	if _, err := git.PlainInitWithOptions(abs, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: Branch}}); err != nil {
		return nil, nil, fmt.Errorf("clone into %s: %w", dir, err)
	}
	gitDir := filepath.Join(abs, ".git")
	s, err := openAt(gitDir, abs, opts)
	if err != nil {
		os.RemoveAll(abs)
		return nil, nil, fmt.Errorf("clone into %s: %w", dir, err)
	}
	fail := func(err error) (*Store, *Report, error) {
		s.Close()
		os.RemoveAll(abs)
		return nil, nil, err
	}
	cfg, err := s.st.Config()
	if err != nil {
		return fail(err)
	}
	cfg.Remotes["origin"] = &config.RemoteConfig{Name: "origin", URLs: []string{url}, Fetch: []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*"}}
	cfg.Branches["main"] = &config.Branch{Name: "main", Remote: "origin", Merge: Branch}
	if err := s.st.SetConfig(cfg); err != nil {
		return fail(err)
	}
	r := Remote{Name: "origin", URL: url}
	incoming, err := s.fetch(ctx, r)
	if err != nil {
		return fail(err)
	}
	if err := s.checkIsHive(r, incoming); err != nil {
		return fail(err)
	}
	rep, err := s.VerifyContext(ctx, incoming, VerifyOptions{Full: true, Progress: progress})
	if err != nil {
		return fail(err)
	}
	if rep.Err() != nil {
		s.Close()
		os.RemoveAll(abs)
		return nil, rep, fmt.Errorf("clone %s: %w", url, ErrRefused)
	}
	s.db.DeleteRef(incomingRef(r))
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := s.moveMain(plumbing.ZeroHash, incoming); err != nil {
		return fail(err)
	}
	if err := s.rememberRemote(r, incoming); err != nil {
		return fail(err)
	}
	s.checkoutAll(incoming)
	return s, rep, nil
}

// checkoutAll writes main's whole tree into a new clone's working tree and
// index; a failure is a warning, as after any move of main.
func (s *Store) checkoutAll(main plumbing.Hash) {
	if gitBinary() == "" {
		s.moved(plumbing.ZeroHash, main, nil, nil)
		return
	}
	// The whole tree at once: git's checkout writes files and index
	// natively, far faster than a file at a time.
	cmd := exec.Command(gitBinary(), "--git-dir", s.gitDir, "--work-tree", s.workDir, "checkout", "-q", "-f", "main")
	cmd.Dir = s.workDir // paths are the work tree's, not those of the folder hive runs in
	cmd.Env = gitEnv()
	err := fault.Fail("worktree")
	if err == nil {
		if out, cerr := cmd.CombinedOutput(); cerr != nil {
			err = fmt.Errorf("git checkout: %v: %s", cerr, strings.TrimSpace(string(out)))
		}
	}
	if err == nil {
		err = s.recordWorktree(main)
	}
	if err != nil {
		s.tell("warning: " + (&WorktreeError{err}).Error() + "; the next hive write brings it up to main (or run `git checkout -f main`)")
	}
}

// Update is one ref update a server is asked to make (a pre-receive line).
type Update struct {
	Old, New plumbing.Hash
	Ref      plumbing.ReferenceName
}

// SubmitPrefix is the branch namespace for submissions (pull requests).
const SubmitPrefix = "refs/heads/hive/"

// OpenQuarantine opens the objects of a push that git's receive-pack keeps
// in quarantine (GIT_QUARANTINE_PATH) together with the repository's own,
// for a pre-receive hook. It links the quarantined files into a private
// folder whose alternates name the repository's objects; the caller calls
// the returned cleanup when done.
func OpenQuarantine(gitDir, quarantine string) (*Store, func(), error) {
	tmp, err := os.MkdirTemp("", "hive-quarantine-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	objects := filepath.Join(tmp, "objects")
	err = filepath.Walk(quarantine, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(quarantine, p)
		dst := filepath.Join(objects, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if err := os.Link(p, dst); err != nil {
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				return rerr
			}
			return os.WriteFile(dst, b, 0o444)
		}
		return nil
	})
	if err == nil {
		err = os.MkdirAll(filepath.Join(objects, "info"), 0o755)
	}
	absObjects, _ := filepath.Abs(filepath.Join(gitDir, "objects"))
	if err == nil {
		err = os.WriteFile(filepath.Join(objects, "info", "alternates"), []byte(absObjects+"\n"), 0o644)
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("open quarantine %s: %w", quarantine, err)
	}
	s, err := openAt(tmp, "", nil)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("open quarantine %s: %w", quarantine, err)
	}
	return s, func() { s.Close(); cleanup() }, nil
}
