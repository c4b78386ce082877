// Package workflow holds the GitHub Actions workflow that gates a hive's
// pull requests: the one file a hive may keep under .github/
// (registry.WorkflowPath), written by `hive init --github`.
package workflow

import (
	_ "embed"
	"strings"

	"golang.org/x/mod/semver"
)

//go:embed hive-verify.yml
var template string

// Bytes returns the workflow, installing hive at the given module version
// ("latest", or a release such as "v1.2.0"). docs/hive-verify.yml is
// Bytes("latest").
func Bytes(version string) []byte {
	return []byte(strings.Replace(template, "@HIVE_VERSION", "@"+version, 1))
}

// Version is the version of hive a workflow installs: the binary's own
// module version when it is a release (v1.2.0, not a pre-release or a
// pseudo-version of a commit that may exist only here), else "latest".
func Version(moduleVersion string) string {
	if semver.IsValid(moduleVersion) && semver.Prerelease(moduleVersion) == "" && semver.Build(moduleVersion) == "" {
		return moduleVersion
	}
	return "latest"
}
