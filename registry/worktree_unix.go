//go:build unix

package registry

import (
	"os"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// oNoFollow makes an open refuse a symbolic link as its last part.
const oNoFollow = syscall.O_NOFOLLOW

// fillStat copies the file's identity into an index entry, as git records it.
func fillStat(e *index.Entry, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.Dev, e.Inode, e.UID, e.GID = uint32(st.Dev), uint32(st.Ino), st.Uid, st.Gid
	}
}
