package odb

import "fmt"

// CountBasesNow makes d's pack readers keep delta bases by count from the
// first delta read.
func CountBasesNow(d *Disk) {
	for _, od := range d.dirs {
		od.packs.countAfter = 0
	}
}

// PackBases is the number and size of the delta bases d's pack readers keep.
func PackBases(d *Disk) (n, bytes int) {
	for _, od := range d.dirs {
		ps := od.packs
		ps.bmu.Lock()
		n, bytes = n+ps.bases.Len()+ps.spare.Len(), bytes+ps.baseBytes+ps.spareBytes
		ps.bmu.Unlock()
	}
	return n, bytes
}

// LookAlways makes readers look for changed packs at every read, until
// the test ends.
func LookAlways(t interface{ Cleanup(func()) }) {
	old := lookEvery
	lookEvery = 0
	t.Cleanup(func() { lookEvery = old })
}

// MapPacks makes packs opened until the test ends mapped where the system
// allows it (else read by positioned reads).
func MapPacks(t interface{ Cleanup(func()) }) {
	old := mapPacks
	mapPacks = canMap
	t.Cleanup(func() { mapPacks = old })
}

// DumpBases describes the entries d's pack readers keep, for failure
// messages.
func DumpBases(d *Disk) (out []string) {
	for _, od := range d.dirs {
		ps := od.packs
		for _, k := range ps.bases.Keys() {
			e, _ := ps.bases.Peek(k)
			out = append(out, fmt.Sprintf("base off=%d left=%d self=%v kids=%d", k.off, e.left, e.self, k.p.kids[k.off]))
		}
		for _, k := range ps.spare.Keys() {
			e, _ := ps.spare.Peek(k)
			out = append(out, fmt.Sprintf("spare off=%d left=%d self=%v kids=%d", k.off, e.left, e.self, k.p.kids[k.off]))
		}
	}
	return out
}
