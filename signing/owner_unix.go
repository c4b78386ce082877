//go:build unix

package signing

import (
	"io/fs"
	"os"
	"syscall"
)

// ownedByOther reports the owner of a file and whether it is another user
// than the one running (root may use its own files only, too).
func ownedByOther(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), int(st.Uid) != os.Geteuid()
}
