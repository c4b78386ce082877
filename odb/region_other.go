//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package odb

// openRegion opens the regular file at path for positioned reads: this
// system's files are not mapped.
func openRegion(path string) (region, error) { return openPread(path) }
