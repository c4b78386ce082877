//go:build !unix

package agentskills

// oNoFollow is not available here; readFile checks the opened file's mode.
const oNoFollow = 0
