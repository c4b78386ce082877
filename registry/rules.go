package registry

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/schema"
)

// Rule is a rule code of the format (schema.Rule); docs/format.md §7.6
// lists each.
type Rule = schema.Rule

// Rule codes of the validator (schema's, named here too). Trace content
// rules are schema's (schema.Rule*).
const (
	RuleHistoryRewritten        = schema.RuleHistoryRewritten
	RuleHistoryUnrelated        = schema.RuleHistoryUnrelated
	RuleRootInvalid             = schema.RuleRootInvalid
	RuleObjectInvalid           = schema.RuleObjectInvalid
	RuleLimit                   = schema.RuleLimit
	RuleMergeOctopus            = schema.RuleMergeOctopus
	RuleMergeEvil               = schema.RuleMergeEvil
	RulePathNotAllowed          = schema.RulePathNotAllowed
	RuleModeNotAllowed          = schema.RuleModeNotAllowed
	RulePathModified            = schema.RulePathModified
	RulePathDeleted             = schema.RulePathDeleted
	RuleBundleMissing           = schema.RuleBundleMissing
	RuleBundleOrphan            = schema.RuleBundleOrphan
	RuleTraceName               = schema.RuleTraceName
	RuleLineageMissing          = schema.RuleLineageMissing
	RuleSigBundleInvalid        = schema.RuleSigBundleInvalid
	RuleSigDigest               = schema.RuleSigDigest
	RuleSigInvalid              = schema.RuleSigInvalid
	RuleSigKeyUnknown           = schema.RuleSigKeyUnknown
	RuleSigKeyRevoked           = schema.RuleSigKeyRevoked
	RuleKeyInvalid              = schema.RuleKeyInvalid
	RuleKeyUnsupported          = schema.RuleKeyUnsupported
	RuleKeyWeak                 = schema.RuleKeyWeak
	RuleConfigInvalid           = schema.RuleConfigInvalid
	RuleConfigUnsigned          = schema.RuleConfigUnsigned
	RuleConfigVersion           = schema.RuleConfigVersion
	RuleConfigBundleAlone       = schema.RuleConfigBundleAlone
	RuleDisputeInvalid          = schema.RuleDisputeInvalid
	RuleResolutionUnauthorised  = schema.RuleResolutionUnauthorised
	RuleRemovalUnresolved       = schema.RuleRemovalUnresolved
	RuleTraceRemoved            = schema.RuleTraceRemoved
	RuleOutcomeInvalid          = schema.RuleOutcomeInvalid
	RuleOutcomeUnknownTrace     = schema.RuleOutcomeUnknownTrace
	RuleOutcomeSelf             = schema.RuleOutcomeSelf
	RuleKeyUnauthorised         = schema.RuleKeyUnauthorised
	RuleKeyApprovalInvalid      = schema.RuleKeyApprovalInvalid
	RuleKeyRotationInvalid      = schema.RuleKeyRotationInvalid
	RuleKeyRotationUnauthorised = schema.RuleKeyRotationUnauthorised
	RuleKeyRetired              = schema.RuleKeyRetired
	RuleWorkflowUnauthorised    = schema.RuleWorkflowUnauthorised
)

// Violation is one broken rule: where (commit and path) and why.
type Violation struct {
	Commit plumbing.Hash
	Path   string
	Rule   Rule
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
	b.WriteString(string(v.Rule))
	b.WriteString(": ")
	b.WriteString(v.Msg)
	return b.String()
}

// Is reports that a violation is ErrInvalid: a rule of the format broken.
func (v Violation) Is(target error) bool { return target == ErrInvalid }

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
	kindOutcome
	kindOutcomeBundle
	kindRotation
	kindRotationBundle
	kindApproval
	kindApprovalBundle
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
	case strings.HasPrefix(p, outcomesDir+"/"), strings.HasPrefix(p, rotationsDir+"/"), strings.HasPrefix(p, registrationsDir+"/"):
		return classifyTrust(p)
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

func violationf(c plumbing.Hash, path string, rule Rule, format string, args ...any) Violation {
	return Violation{Commit: c, Path: path, Rule: rule, Msg: fmt.Sprintf(format, args...)}
}
