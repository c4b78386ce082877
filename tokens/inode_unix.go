//go:build unix

package tokens

import (
	"io/fs"
	"syscall"
)

// inode is a file's inode number: each write of the tokens file renames a
// new file into place, so a new inode says it changed.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
