package registry

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// TestGitLess: the tree order without building keys agrees with the keys.
func TestGitLess(t *testing.T) {
	names := []string{"a", "a.b", "a-b", "a/", "ab", "a0", "b", "", "keys", "keys.pub", "keys-x", "traces", "tracesx", "traces.json"}
	for _, x := range names {
		for _, y := range names {
			for _, xt := range []bool{false, true} {
				for _, yt := range []bool{false, true} {
					a, b := entry{name: x, mode: filemode.Regular}, entry{name: y, mode: filemode.Regular}
					if xt {
						a.mode = filemode.Dir
					}
					if yt {
						b.mode = filemode.Dir
					}
					if got, want := gitLess(a, b), a.sortKey() < b.sortKey(); got != want {
						t.Errorf("gitLess(%q tree=%v, %q tree=%v) = %v, want %v", x, xt, y, yt, got, want)
					}
				}
			}
		}
	}
}
