package registry

import (
	"errors"
	"strconv"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

var (
	workflowV1 = []byte("name: hive verify\non: pull_request_target\n")
	workflowV2 = []byte("name: hive verify\non: [pull_request_target, push]\n")
)

// workflowFiles returns the workflow b and, when signer is not "", its
// bundle signed by signer.
func (h *testHive) workflowFiles(b []byte, signer string) map[string]*entry {
	files := map[string]*entry{WorkflowPath: h.file(b)}
	if signer != "" {
		files[WorkflowBundlePath] = h.file(h.sign(signer, b))
	}
	return files
}

// workflowAttacks: the one workflow path a hive allows, and what may not
// happen there. TestVerifyAttacks runs them with its own.
var workflowAttacks = []attack{
	{name: "workflow signed by a maintainer", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		return h.commit(f.base, h.workflowFiles(workflowV1, instM)), nil
	}},
	{name: "workflow changed, signed by a maintainer", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c1 := h.commit(f.base, h.workflowFiles(workflowV1, instM))
		return h.commit(c1, h.workflowFiles(workflowV2, instM)), nil
	}},
	{name: "workflow unsigned", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, h.workflowFiles(workflowV1, ""))
		return c, []want{{c, WorkflowPath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow changed without a new signature", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c1 := h.commit(f.base, h.workflowFiles(workflowV1, instM))
		c2 := h.commit(c1, h.workflowFiles(workflowV2, ""))
		return c2, []want{{c2, WorkflowPath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow signed by a non-maintainer", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, h.workflowFiles(workflowV1, instA))
		return c, []want{{c, WorkflowPath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow signed by a maintainer whose key comes in the same commit", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		// Instance c becomes a maintainer first (signed by m), then signs
		// a workflow in the commit that registers its key.
		cfg := h.config(f.base)
		cfg.Version, cfg.Maintainers = 2, []string{instC, instM}
		c1 := h.commit(f.base, h.configFiles(cfg, instM))
		files := h.workflowFiles(workflowV1, instC)
		files[KeyPath(instC)] = h.file(testKey(t, instC).Public().MarshalPEM())
		c2 := h.commit(c1, files)
		return c2, []want{{c2, WorkflowPath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow signed by a revoked maintainer", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		cfg := h.config(f.base)
		cfg.Version, cfg.Revoked = 2, []string{instM}
		c1 := h.commit(f.base, h.configFiles(cfg, instM))
		c2 := h.commit(c1, h.workflowFiles(workflowV1, instM))
		return c2, []want{{c2, WorkflowPath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow bundle over other bytes", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		files := h.workflowFiles(workflowV2, "")
		files[WorkflowBundlePath] = h.file(h.sign(instM, workflowV1))
		c := h.commit(f.base, files)
		return c, []want{{c, WorkflowPath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow bundle changed alone", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c1 := h.commit(f.base, h.workflowFiles(workflowV1, instM))
		c2 := h.commit(c1, map[string]*entry{WorkflowBundlePath: h.file(h.sign(instA, workflowV1))})
		return c2, []want{{c2, WorkflowBundlePath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow bundle that does not parse", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		files := h.workflowFiles(workflowV1, "")
		files[WorkflowBundlePath] = h.file([]byte("{}"))
		c := h.commit(f.base, files)
		return c, []want{{c, WorkflowBundlePath, RuleSigBundleInvalid}}
	}},
	{name: "workflow deleted", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c1 := h.commit(f.base, h.workflowFiles(workflowV1, instM))
		c2 := h.commit(c1, map[string]*entry{WorkflowPath: nil, WorkflowBundlePath: nil})
		return c2, []want{{c2, WorkflowPath, RulePathDeleted}, {c2, WorkflowBundlePath, RulePathDeleted}}
	}},
	{name: "workflow over the size limit", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		big := make([]byte, MaxWorkflowSize+1)
		c := h.commit(f.base, h.workflowFiles(big, instM))
		return c, []want{{c, WorkflowPath, RuleWorkflowUnauthorised}}
	}},
	{name: "a second workflow", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		files := h.workflowFiles(workflowV1, instM)
		files[".github/workflows/other.yml"] = h.file(workflowV1)
		c := h.commit(f.base, files)
		return c, []want{{c, strconv.Quote(".github/workflows/other.yml"), RulePathNotAllowed}}
	}},
	{name: "a second workflow, signed", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		p := ".github/workflows/hive-verify.yaml"
		c := h.commit(f.base, map[string]*entry{p: h.file(workflowV1), WorkflowBundlePath: h.file(h.sign(instM, workflowV1))})
		return c, []want{{c, strconv.Quote(p), RulePathNotAllowed}, {c, WorkflowBundlePath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow case twin", build: pathAttack(".github/workflows/Hive-Verify.yml")},
	{name: "workflow folder case twin", build: pathAttack(".GitHub/workflows/hive-verify.yml")},
	{name: "workflow as a folder", build: pathAttack(WorkflowPath + "/x.yml")},
	{name: "other files under .github", build: pathAttack(".github/CODEOWNERS", ".github/actions/run/action.yml")},
	{name: "workflow a symlink", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		// A symlink to another file, signed as if it were that file.
		target := []byte("../../hive.json")
		files := map[string]*entry{WorkflowPath: {mode: filemode.Symlink, hash: h.blob(target)}, WorkflowBundlePath: h.file(h.sign(instM, target))}
		c := h.commit(f.base, files)
		return c, []want{{c, WorkflowPath, RuleModeNotAllowed}, {c, WorkflowBundlePath, RuleWorkflowUnauthorised}}
	}},
	{name: "workflow executable", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		files := h.workflowFiles(workflowV1, instM)
		files[WorkflowPath].mode = filemode.Executable
		c := h.commit(f.base, files)
		return c, []want{{c, WorkflowPath, RuleModeNotAllowed}, {c, WorkflowBundlePath, RuleWorkflowUnauthorised}}
	}},
	{name: ".github a symlink", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		c := h.commit(f.base, map[string]*entry{".github": {mode: filemode.Symlink, hash: h.blob([]byte("traces"))}})
		return c, []want{{c, strconv.Quote(".github"), RulePathNotAllowed}}
	}},
	{name: "workflow merged from a side that signed it", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x := h.commit(f.base, h.workflowFiles(workflowV1, instM))
		y := h.commit(f.base, h.traceFiles(traceBytes(t, instA, "other side"), instA))
		return h.commitTree(h.edit(y, h.workflowFiles(workflowV1, instM)), x, y), nil
	}},
	{name: "workflow smuggled in by a merge", build: func(t *testing.T, h *testHive, f fixture) (plumbing.Hash, []want) {
		x := h.commit(f.base, h.traceFiles(traceBytes(t, instA, "left"), instA))
		y := h.commit(f.base, h.traceFiles(traceBytes(t, instA, "right"), instA))
		m := h.commitTree(h.edit(x, merge(h.traceFiles(traceBytes(t, instA, "right"), instA), h.workflowFiles(workflowV1, instM))), x, y)
		return m, []want{{m, WorkflowPath, RuleMergeEvil}, {m, WorkflowBundlePath, RuleMergeEvil}}
	}},
}

// TestVerifyRootWorkflow: a root commit may hold the workflow beside
// hive.json (hive init --github), unsigned like its hive.json; nothing
// else under .github.
func TestVerifyRootWorkflow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files func(h *testHive) map[string]*entry
		ok    bool
	}{
		{"hive.json and the workflow", func(h *testHive) map[string]*entry {
			return merge(h.configFiles(DefaultConfig("x"), ""), h.workflowFiles(workflowV1, ""))
		}, true},
		{"the workflow and its bundle", func(h *testHive) map[string]*entry {
			return merge(h.configFiles(DefaultConfig("x"), ""), h.workflowFiles(workflowV1, instM))
		}, false},
		{"another workflow", func(h *testHive) map[string]*entry {
			return merge(h.configFiles(DefaultConfig("x"), ""), map[string]*entry{".github/workflows/x.yml": h.file(workflowV1)})
		}, false},
		{"the workflow and another file under .github", func(h *testHive) map[string]*entry {
			return merge(h.configFiles(DefaultConfig("x"), ""), h.workflowFiles(workflowV1, ""), map[string]*entry{".github/x": h.file(workflowV1)})
		}, false},
		{"a symlink workflow", func(h *testHive) map[string]*entry {
			return merge(h.configFiles(DefaultConfig("x"), ""), map[string]*entry{WorkflowPath: {mode: filemode.Symlink, hash: h.blob([]byte("../../hive.json"))}})
		}, false},
		{"the workflow without hive.json", func(h *testHive) map[string]*entry {
			return merge(h.workflowFiles(workflowV1, ""), map[string]*entry{"x": h.file(workflowV1)})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHive(t, nil)
			root := h.commitTree(h.edit(plumbing.ZeroHash, tc.files(h)))
			r := h.verify(root, VerifyOptions{})
			var wants []want
			if !tc.ok {
				wants = []want{{root, "", RuleRootInvalid}}
			}
			checkViolations(t, "Verify(root)", r, wants)
		})
	}
}

// TestSetWorkflow: a maintainer adds and changes the workflow; anyone else
// is refused before anything is written.
func TestSetWorkflow(t *testing.T) {
	h := newTestHive(t, nil)
	before := h.head()
	if _, err := h.s.SetWorkflow(workflowV1, instA, testKey(t, instA)); !errors.Is(err, ErrUnauthorised) {
		t.Errorf("SetWorkflow by a non-maintainer = %v, want ErrUnauthorised", err)
	}
	if _, err := h.s.SetWorkflow(workflowV1, instM, testKey(t, instA)); !errors.Is(err, ErrUnauthorised) {
		t.Errorf("SetWorkflow with another key = %v, want ErrUnauthorised", err)
	}
	if got := h.head(); got != before {
		t.Fatalf("main moved to %s on a refused SetWorkflow", short(got))
	}
	for _, b := range [][]byte{workflowV1, workflowV2} {
		if _, err := h.s.SetWorkflow(b, instM, testKey(t, instM)); err != nil {
			t.Fatalf("SetWorkflow by the maintainer: %v", err)
		}
	}
	if _, err := h.s.SetWorkflow(workflowV2, instM, testKey(t, instM)); !errors.Is(err, ErrExists) {
		t.Errorf("SetWorkflow of the same workflow = %v, want ErrExists", err)
	}
	if r := h.verify(h.head(), VerifyOptions{Full: true}); r.Err() != nil {
		t.Errorf("Verify(full) = %v", r.Err())
	}
}
