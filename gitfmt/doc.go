// Package gitfmt reads and writes git's object formats: trees, deltas, the
// headers of loose objects, packs and pack indexes, and zlib streams. It is
// pure: it works on bytes it is given and does no I/O, so every function can
// be fuzzed and none can hang on a file. Malformed input is an error that
// says what is wrong and where, never a panic.
//
// The object database that finds these bytes on disk is package odb.
package gitfmt
