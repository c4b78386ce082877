//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package odb

// canMap says whether this system maps files: not here.
const canMap = false

// openMapped reads the file by positioned reads: this system's files are
// not mapped.
func openMapped(path string) (region, error) { return openPread(path) }
