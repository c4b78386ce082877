package registry

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// FirstParents lists the first-parent chain of commit head, oldest first:
// the root, then each commit's child along first parents, up to head. Each
// commit of it is an ancestor of the next (reputation over time walks it).
func (s *Store) FirstParents(ctx context.Context, head plumbing.Hash) ([]plumbing.Hash, error) {
	v := &validator{s: s}
	var out []plumbing.Hash
	for h := head; ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := v.readCommit(h)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", h, err)
		}
		out = append(out, h)
		if len(c.ParentHashes) == 0 {
			break
		}
		h = c.ParentHashes[0]
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
