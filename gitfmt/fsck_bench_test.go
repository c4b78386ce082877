package gitfmt

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// shard is a tree like a shard of a 100k-trace hive: 390 traces and their
// bundles, 780 files named <64 hex>.json and <64 hex>.sigstore.json.
func shard() []byte {
	var es []Entry
	for i := range 390 {
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		name := "ab" + hex.EncodeToString(sum[:])[2:]
		h := plumbing.ComputeHash(plumbing.BlobObject, sum[:])
		es = append(es, Entry{Name: name + ".json", Mode: filemode.Regular, Hash: h}, Entry{Name: name + ".sigstore.json", Mode: filemode.Regular, Hash: h})
	}
	b, _ := EncodeTree(es)
	return b
}

// BenchmarkParseShard parses a shard whole, with git fsck's checks of each
// entry: the cost of a tree the validator reads for the first time.
func BenchmarkParseShard(b *testing.B) {
	raw := shard()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ParseTree(plumbing.ZeroHash, append([]byte(nil), raw...)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFsckShard runs FsckTree, git's checks alone, on the same shard.
func BenchmarkFsckShard(b *testing.B) {
	raw := shard()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := FsckTree(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFsckCommit checks a commit as hive writes them.
func BenchmarkFsckCommit(b *testing.B) {
	raw := []byte("tree " + emptyTree + "\nparent " + emptyTree + "\nauthor instance_0 <instance_0@hive.invalid> 1767322000 +0000\n" +
		"committer instance_0 <instance_0@hive.invalid> 1767322000 +0000\n\nhive: add sha256:0123456789ab Refactor auth to use env vars\n\n" +
		"Hive-Trace: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nHive-Instance: instance_0\n")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := FsckCommit(raw); err != nil {
			b.Fatal(err)
		}
	}
}
