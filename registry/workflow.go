package registry

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hive-dev/hive/signing"
)

// The one workflow a hive may hold: the pull-request gate a git host runs
// (GitHub Actions reads .github/workflows/*.yml), with a maintainer's
// signature over its exact bytes beside it, outside the workflows folder so
// that the host sees exactly one workflow. Like hive.json, the root commit
// may hold it unsigned; every later addition or change needs a maintainer
// of the parent state (docs/format.md §5.2).
const (
	WorkflowPath       = ".github/workflows/hive-verify.yml"
	WorkflowBundlePath = ".github/hive-verify.sigstore.json"
)

// MaxWorkflowSize bounds the workflow file.
const MaxWorkflowSize = 64 << 10

// checkWorkflowChange checks a commit that adds or changes the workflow or
// its signature: the workflow, at most MaxWorkflowSize bytes, signed in
// WorkflowBundlePath by a maintainer of the parent state whose key is
// registered there and not revoked.
func (s *Store) checkWorkflowChange(c *object.Commit, parentRoot plumbing.Hash, cfg *Config, workflowChanged bool) []Violation {
	if !workflowChanged {
		return []Violation{violationf(c.Hash, WorkflowBundlePath, RuleWorkflowUnauthorised, "signature changed without the workflow")}
	}
	e, ok, err := s.trees.lookup(c.TreeHash, WorkflowPath)
	if err != nil || !ok {
		return []Violation{violationf(c.Hash, WorkflowPath, RulePathDeleted, "the workflow removed")}
	}
	b, err := s.objs.read(plumbing.BlobObject, e.hash, MaxWorkflowSize)
	if err != nil {
		return []Violation{violationf(c.Hash, WorkflowPath, RuleWorkflowUnauthorised, "%v", err)}
	}
	be, ok, err := s.trees.lookup(c.TreeHash, WorkflowBundlePath)
	if err != nil || !ok {
		return []Violation{violationf(c.Hash, WorkflowPath, RuleWorkflowUnauthorised, "added or changed without a maintainer's signature in %s", WorkflowBundlePath)}
	}
	bb, err := s.objs.read(plumbing.BlobObject, be.hash, signing.MaxBundleSize)
	if err != nil {
		return []Violation{violationf(c.Hash, WorkflowBundlePath, RuleSigBundleInvalid, "%v", err)}
	}
	bundle, err := signing.ParseBundle(bb)
	if err != nil {
		return []Violation{violationf(c.Hash, WorkflowBundlePath, RuleSigBundleInvalid, "%v", err)}
	}
	if s.signedByMaintainer(parentRoot, cfg, bundle, b) {
		return nil
	}
	return []Violation{violationf(c.Hash, WorkflowPath, RuleWorkflowUnauthorised, "not signed by a maintainer of the parent commit's hive.json")}
}

// signedByMaintainer reports whether bundle signs b with the key, registered
// in parentRoot, of a maintainer of cfg that is not revoked.
func (s *Store) signedByMaintainer(parentRoot plumbing.Hash, cfg *Config, bundle *signing.Bundle, b []byte) bool {
	rc := &readerCache{objs: s.objs, trees: s.trees}
	for _, m := range cfg.Maintainers {
		if cfg.IsRevoked(m) {
			continue
		}
		ke, found, err := s.trees.lookup(parentRoot, KeyPath(m))
		if err != nil || !found {
			continue
		}
		pub, err := s.key(rc, ke.hash)
		if err != nil || pub.Fingerprint() != bundle.Hint() {
			continue
		}
		if bundle.Verify(pub, b) == nil {
			return true
		}
	}
	return false
}

// rootWorkflow reports whether a root tree's entries other than hive.json
// are exactly the workflow, a regular file: `hive init --github`.
func (s *Store) rootWorkflow(root *tree) bool {
	if root.len() != 2 {
		return false
	}
	e, ok, err := s.trees.lookup(root.hash, WorkflowPath)
	if err != nil || !ok || e.mode != filemode.Regular {
		return false
	}
	gh, ok, err := s.trees.lookup(root.hash, ".github")
	if err != nil || !ok {
		return false
	}
	ght, err := s.trees.get(gh.hash)
	if err != nil || ght.len() != 1 {
		return false
	}
	wf, ok, err := s.trees.lookup(root.hash, ".github/workflows")
	if err != nil || !ok {
		return false
	}
	wft, err := s.trees.get(wf.hash)
	return err == nil && wft.len() == 1
}

// SetWorkflow adds or replaces the hive's workflow (WorkflowPath) in a
// commit of its own, signed by instance, a maintainer of main's hive.json
// whose key is registered.
func (s *Store) SetWorkflow(workflow []byte, instance string, key *signing.PrivateKey) (plumbing.Hash, error) {
	if len(workflow) > MaxWorkflowSize {
		return plumbing.ZeroHash, errorf(ErrInvalid, "the workflow is %d bytes, over the limit of %d", len(workflow), MaxWorkflowSize)
	}
	bundle, err := signing.Sign(key, workflow)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	files := map[string][]byte{WorkflowPath: workflow, WorkflowBundlePath: bundle}
	msg := fmt.Sprintf("hive: set the pull-request workflow\n\nHive-Workflow: %s\nHive-Instance: %s\n", WorkflowPath, instance)
	return s.commitFiles(files, nil, instance, msg, func(root plumbing.Hash) error {
		cfg, err := s.configAt(s.trees, root)
		if err != nil {
			return err
		}
		if !cfg.IsMaintainer(instance) || cfg.IsRevoked(instance) {
			return errorf(ErrUnauthorised, "%s: %s is not a maintainer of this hive (hive.json lists %v)", RuleWorkflowUnauthorised, instance, cfg.Maintainers)
		}
		if e, ok, err := s.trees.lookup(root, WorkflowPath); err != nil {
			return err
		} else if ok {
			if old, err := s.objs.read(plumbing.BlobObject, e.hash, MaxWorkflowSize); err == nil && string(old) == string(workflow) {
				return errorf(ErrExists, "%s is already this workflow", WorkflowPath)
			}
		}
		return s.checkSigner(root, instance, key)
	})
}
