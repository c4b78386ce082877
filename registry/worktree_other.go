//go:build !unix

package registry

import (
	"os"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// oNoFollow is 0 where open has no such flag: writeWorkFile checks the
// last part with Lstat before it opens it.
const oNoFollow = 0

// fillStat records nothing more where the system has no inode numbers.
func fillStat(e *index.Entry, fi os.FileInfo) {}
