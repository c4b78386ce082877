package schema

import "errors"

// Rule is a rule code of the hive format: the name of the rule a trace, a
// record or a commit broke. Codes are stable: tools, tests and docs match
// on them, and docs/format.md §7.6 lists each with what it refuses (a test
// keeps that table and Rules equal).
type Rule string

// The codes of the trace's strict parser (Parse, ParseCanonical) and of
// the thresholds.
const (
	RuleTooLarge     Rule = "trace-too-large"     // the file is larger than MaxTraceSize bytes
	RuleJSON         Rule = "trace-json"          // not JSON: syntax error, trailing data, empty input
	RuleUTF8         Rule = "trace-utf8"          // invalid UTF-8, or a \u escape of a lone surrogate
	RuleDepth        Rule = "trace-too-deep"      // nesting deeper than MaxDepth
	RuleDuplicateKey Rule = "trace-duplicate-key" // a key repeated in one object
	RuleUnknownField Rule = "trace-unknown-field" // a key that is not a field name, compared exactly (case-sensitive)
	RuleNull         Rule = "trace-null"          // a null anywhere
	RuleNumber       Rule = "trace-number"        // a number that float64 cannot hold exactly enough (see Parse)
	RuleSchema       Rule = "trace-schema"        // a JSON Schema violation: type, required, range, length, pattern, uniqueness
	RuleSteps        Rule = "trace-steps"         // reasoning steps not numbered 1, 2, 3...
	RuleText         Rule = "trace-text"          // text not NFC, or holding control, bidi or separator characters
	RuleTime         Rule = "trace-time"          // created_at not a real RFC 3339 time in UTC
	RuleNoncanonical Rule = "trace-noncanonical"  // the bytes are not the RFC 8785 canonical form
	RuleThreshold    Rule = "trace-threshold"     // the trace misses a federation threshold
)

// The codes of the validator (registry.(*Store).Verify), which also reports
// the trace codes above for the traces a commit adds.
const (
	RuleHistoryRewritten        Rule = "history-rewritten"         // head does not descend from base
	RuleHistoryUnrelated        Rule = "history-unrelated"         // a second root commit, or a merge of unrelated histories
	RuleRootInvalid             Rule = "root-invalid"              // the root commit holds more than a valid hive.json
	RuleObjectInvalid           Rule = "object-invalid"            // a missing, malformed or oversize git object, or one git fsck refuses
	RuleLimit                   Rule = "limit"                     // too many commits or traces in one range
	RuleMergeOctopus            Rule = "merge-octopus"             // a merge of more than two parents
	RuleMergeEvil               Rule = "merge-evil"                // a merge whose tree is not the merge of its parents
	RulePathNotAllowed          Rule = "path-not-allowed"          // a path outside the layout
	RuleModeNotAllowed          Rule = "mode-not-allowed"          // a symlink, gitlink or executable
	RulePathModified            Rule = "path-modified"             // an existing trace, bundle or key changed
	RulePathDeleted             Rule = "path-deleted"              // an existing file removed
	RuleBundleMissing           Rule = "bundle-missing"            // a trace added without its bundle
	RuleBundleOrphan            Rule = "bundle-orphan"             // a bundle added without its trace
	RuleTraceName               Rule = "trace-name"                // a trace whose file name is not the sha256 of its bytes
	RuleLineageMissing          Rule = "lineage-missing"           // a lineage parent absent from the commit's tree
	RuleSigBundleInvalid        Rule = "sig-bundle-invalid"        // a bundle that does not parse
	RuleSigDigest               Rule = "sig-digest"                // a bundle made for other bytes (copied)
	RuleSigInvalid              Rule = "sig-invalid"               // a signature that does not verify with the instance's key
	RuleSigKeyUnknown           Rule = "sig-key-unknown"           // no key registered for the trace's instance_id
	RuleSigKeyRevoked           Rule = "sig-key-revoked"           // the instance's key is revoked
	RuleKeyInvalid              Rule = "key-invalid"               // a key file that is not one canonical PEM public key
	RuleKeyUnsupported          Rule = "key-unsupported"           // a key type other than ed25519 or ECDSA P-256
	RuleKeyWeak                 Rule = "key-weak"                  // a small-order or malformed ed25519 key
	RuleConfigInvalid           Rule = "config-invalid"            // hive.json does not parse or breaks its bounds
	RuleConfigUnsigned          Rule = "config-unauthorised"       // hive.json changed without a maintainer's signature
	RuleConfigVersion           Rule = "config-version"            // hive.json's version did not grow by one
	RuleConfigBundleAlone       Rule = "config-bundle-orphan"      // hive.sigstore.json changed without hive.json
	RuleDisputeInvalid          Rule = "dispute-invalid"           // a dispute, resolution or tombstone that does not parse or refers to nothing
	RuleResolutionUnauthorised  Rule = "resolution-unauthorised"   // a resolution not signed by a maintainer of the parent state
	RuleRemovalUnresolved       Rule = "removal-unresolved"        // a trace deleted without a maintainer's resolution and tombstone in the same commit
	RuleTraceRemoved            Rule = "trace-removed"             // a trace added again after a resolution removed it
	RuleOutcomeInvalid          Rule = "outcome-invalid"           // an outcome that does not parse or is filed under another trace or reporter
	RuleOutcomeUnknownTrace     Rule = "outcome-unknown-trace"     // an outcome about a trace absent from the parent state
	RuleOutcomeSelf             Rule = "outcome-self"              // an outcome reported by the trace's own author
	RuleKeyUnauthorised         Rule = "key-unauthorised"          // a new key without a maintainer's approval where registration is by maintainers
	RuleKeyApprovalInvalid      Rule = "key-approval-invalid"      // a key approval that does not parse or approves another key
	RuleKeyRotationInvalid      Rule = "key-rotation-invalid"      // a rotation record that does not parse or does not match the key change
	RuleKeyRotationUnauthorised Rule = "key-rotation-unauthorised" // a rotation not signed by the retired key or a maintainer, or of a revoked instance
	RuleKeyRetired              Rule = "key-retired"               // a merge bringing in what a retired key signed on the other side
	RuleWorkflowUnauthorised    Rule = "workflow-unauthorised"     // the pull-request workflow added or changed without a maintainer's signature
)

// TraceRules are the codes of a trace's content, in the order of
// docs/format.md's table.
var TraceRules = []Rule{
	RuleTooLarge, RuleJSON, RuleUTF8, RuleDepth, RuleDuplicateKey, RuleUnknownField, RuleNull,
	RuleNumber, RuleSchema, RuleSteps, RuleText, RuleTime, RuleNoncanonical, RuleThreshold,
}

// ValidatorRules are the validator's own codes, in the order of
// docs/format.md's table.
var ValidatorRules = []Rule{
	RuleHistoryRewritten, RuleHistoryUnrelated, RuleRootInvalid, RuleObjectInvalid, RuleLimit,
	RuleMergeOctopus, RuleMergeEvil, RulePathNotAllowed, RuleModeNotAllowed, RulePathModified,
	RulePathDeleted, RuleBundleMissing, RuleBundleOrphan, RuleTraceName, RuleLineageMissing,
	RuleSigBundleInvalid, RuleSigDigest, RuleSigInvalid, RuleSigKeyUnknown, RuleSigKeyRevoked,
	RuleKeyInvalid, RuleKeyUnsupported, RuleKeyWeak, RuleConfigInvalid, RuleConfigUnsigned,
	RuleConfigVersion, RuleConfigBundleAlone, RuleDisputeInvalid, RuleResolutionUnauthorised,
	RuleRemovalUnresolved, RuleTraceRemoved, RuleWorkflowUnauthorised, RuleOutcomeInvalid, RuleOutcomeUnknownTrace, RuleOutcomeSelf,
	RuleKeyUnauthorised, RuleKeyApprovalInvalid, RuleKeyRotationInvalid, RuleKeyRotationUnauthorised, RuleKeyRetired,
}

// ErrInvalid reports input that breaks a rule of the format: every *Error
// is one, with its Rule, and so are the registry's violations. With the
// registry's ErrNotFound (missing) and ErrCorrupt (stored data that cannot
// be trusted), it is one of the three kinds every error of the module is
// sorted into.
var ErrInvalid = errors.New("invalid")
