package registry

import "github.com/go-git/go-git/v5/plumbing"

// ReadObject exposes the object reader to the package's external tests.
func ReadObject(s *Store, t plumbing.ObjectType, h plumbing.Hash) ([]byte, error) {
	return s.objs.read(t, h, 1<<30)
}
