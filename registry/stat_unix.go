//go:build linux

package registry

import (
	"os"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// oNoFollow makes an open refuse a symbolic link.
const oNoFollow = syscall.O_NOFOLLOW

// statEntry fills the file-system fields of an index entry, as git does,
// so that git sees the file unchanged without reading it.
func statEntry(e *index.Entry, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.CreatedAt = time.Unix(st.Ctim.Unix())
		e.Dev, e.Inode, e.UID, e.GID = uint32(st.Dev), uint32(st.Ino), st.Uid, st.Gid
	}
}
