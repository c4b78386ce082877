package registry

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// Rule codes of the validator. They are stable: docs/format.md lists each
// with what it refuses. Trace content rules are schema's (schema.Rule*).
const (
	RuleHistoryRewritten       = "history-rewritten"   // head does not descend from base
	RuleHistoryUnrelated       = "history-unrelated"   // a second root commit, or a merge of unrelated histories
	RuleRootInvalid            = "root-invalid"        // the root commit holds more than a valid hive.json
	RuleObjectInvalid          = "object-invalid"      // a missing, malformed or oversize git object
	RuleLimit                  = "limit"               // too many commits or traces in one range
	RuleMergeOctopus           = "merge-octopus"       // a merge of more than two parents
	RuleMergeEvil              = "merge-evil"          // a merge whose tree is not the merge of its parents
	RulePathNotAllowed         = "path-not-allowed"    // a path outside the layout
	RuleModeNotAllowed         = "mode-not-allowed"    // a symlink, gitlink or executable
	RulePathModified           = "path-modified"       // an existing trace, bundle or key changed
	RulePathDeleted            = "path-deleted"        // an existing file removed
	RuleBundleMissing          = "bundle-missing"      // a trace added without its bundle
	RuleBundleOrphan           = "bundle-orphan"       // a bundle added without its trace
	RuleTraceName              = "trace-name"          // a trace whose file name is not the sha256 of its bytes
	RuleLineageMissing         = "lineage-missing"     // a lineage parent absent from the commit's tree
	RuleSigBundleInvalid       = "sig-bundle-invalid"  // a bundle that does not parse
	RuleSigDigest              = "sig-digest"          // a bundle made for other bytes (copied)
	RuleSigInvalid             = "sig-invalid"         // a signature that does not verify with the instance's key
	RuleSigKeyUnknown          = "sig-key-unknown"     // no key registered for the trace's instance_id
	RuleSigKeyRevoked          = "sig-key-revoked"     // the instance's key is revoked
	RuleKeyInvalid             = "key-invalid"         // a key file that is not one canonical PEM public key
	RuleKeyUnsupported         = "key-unsupported"     // a key type other than ed25519 or ECDSA P-256
	RuleKeyWeak                = "key-weak"            // a small-order or malformed ed25519 key
	RuleConfigInvalid          = "config-invalid"      // hive.json does not parse or breaks its bounds
	RuleConfigUnsigned         = "config-unauthorised" // hive.json changed without a maintainer's signature
	RuleConfigVersion          = "config-version"      // hive.json's version did not grow by one
	RuleConfigBundleAlone      = "config-bundle-orphan"
	RuleDisputeInvalid         = "dispute-invalid"         // a dispute, resolution or tombstone that does not parse or refers to nothing
	RuleResolutionUnauthorised = "resolution-unauthorised" // a resolution not signed by a maintainer of the parent state
	RuleRemovalUnresolved      = "removal-unresolved"      // a trace deleted without a maintainer's resolution and tombstone in the same commit
	RuleTraceRemoved           = "trace-removed"           // a trace added again after a resolution removed it
	RuleWorkflowUnauthorised   = "workflow-unauthorised"   // the pull-request workflow added or changed without a maintainer's signature
)

// Violation is one broken rule: where (commit and path) and why.
type Violation struct {
	Commit plumbing.Hash
	Path   string
	Rule   string
	Msg    string
}

// Error formats the violation as one line: "commit C: PATH: RULE: MSG".
func (v Violation) Error() string {
	var b strings.Builder
	b.WriteString("commit ")
	if v.Commit.IsZero() {
		b.WriteString("-")
	} else {
		b.WriteString(short(v.Commit))
	}
	b.WriteString(": ")
	if v.Path != "" {
		b.WriteString(v.Path)
		b.WriteString(": ")
	}
	b.WriteString(v.Rule)
	b.WriteString(": ")
	b.WriteString(v.Msg)
	return b.String()
}

// Violations is every violation found in a range.
type Violations []Violation

// Error joins the violations, one a line.
func (vs Violations) Error() string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = v.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each violation.
func (vs Violations) Unwrap() []error {
	errs := make([]error, len(vs))
	for i, v := range vs {
		errs[i] = v
	}
	return errs
}

// quotePath shows a path that broke the layout: quoted and truncated, since
// an attacker chose it.
func quotePath(p string) string {
	if _, ok := classify(p); ok {
		return p
	}
	return schema.Quote(p, 120)
}

// pathKind is what a path in the layout holds.
type pathKind int

const (
	kindConfig pathKind = iota + 1
	kindConfigBundle
	kindKey
	kindTrace
	kindBundle
	kindDispute
	kindDisputeBundle
	kindResolution
	kindResolutionBundle
	kindTombstone
	kindWorkflow
	kindWorkflowBundle
)

// classify tells what an allowed path holds; ok is false for any path
// outside the layout. The grammar is ASCII and lower case only, so no two
// allowed paths fold to the same name on a case-insensitive file system.
func classify(p string) (pathKind, bool) {
	switch {
	case p == ConfigPath:
		return kindConfig, true
	case p == ConfigBundlePath:
		return kindConfigBundle, true
	case p == WorkflowPath:
		return kindWorkflow, true
	case p == WorkflowBundlePath:
		return kindWorkflowBundle, true
	case strings.HasPrefix(p, keysDir+"/"):
		name, ok := strings.CutSuffix(p[len(keysDir)+1:], keyExt)
		return kindKey, ok && schema.ValidInstanceID(name)
	case strings.HasPrefix(p, disputesDir+"/"):
		return classifyDispute(p)
	case strings.HasPrefix(p, tracesDir+"/"):
		rest := p[len(tracesDir)+1:]
		if len(rest) < 3 || rest[2] != '/' {
			return 0, false
		}
		shard, file := rest[:2], rest[3:]
		kind := kindTrace
		hex, ok := strings.CutSuffix(file, bundleExt)
		if ok {
			kind = kindBundle
		} else if hex, ok = strings.CutSuffix(file, traceExt); !ok {
			return 0, false
		}
		return kind, isHex64(hex) && hex[:2] == shard
	}
	return 0, false
}

func isHex64(s string) bool { return len(s) == 64 && isHex(s) }

// traceIDOf returns the id a trace or bundle path names.
func traceIDOf(p string) schema.ID {
	file := p[strings.LastIndexByte(p, '/')+1:]
	return schema.ID("sha256:" + file[:64])
}

// instanceOf returns the instance a key path names.
func instanceOf(p string) string {
	return strings.TrimSuffix(strings.TrimPrefix(p, keysDir+"/"), keyExt)
}

func violationf(c plumbing.Hash, path, rule, format string, args ...any) Violation {
	return Violation{Commit: c, Path: path, Rule: rule, Msg: fmt.Sprintf(format, args...)}
}
