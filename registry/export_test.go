package registry

import "github.com/go-git/go-git/v5/plumbing"

// ReadObject exposes the object reader to the package's external tests.
func ReadObject(s *Store, t plumbing.ObjectType, h plumbing.Hash) ([]byte, error) {
	return s.objs.read(t, h, 1<<30)
}

// CountBasesNow makes the store's pack reader keep delta bases by count
// from the first delta read.
func CountBasesNow(s *Store) { s.objs.packs.countAfter = 0 }

// PackBases is the number and size of the delta bases the pack reader keeps.
func PackBases(s *Store) (n, bytes int) {
	ps := s.objs.packs
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	return ps.bases.Len(), ps.baseBytes
}
