//go:build unix

package agentskills

import "syscall"

// oNoFollow makes opening a symlink fail.
const oNoFollow = syscall.O_NOFOLLOW
