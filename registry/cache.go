package registry

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/hive-dev/hive/signing"
)

// parsedCache keeps parsed keys and configs by blob hash; both are
// immutable, so a hit is as good as a parse.
type parsedCache struct {
	keys    *lru.Cache[plumbing.Hash, *signing.PublicKey]
	configs *lru.Cache[plumbing.Hash, *Config]
}

func newParsedCache() *parsedCache {
	k, _ := lru.New[plumbing.Hash, *signing.PublicKey](4096)
	c, _ := lru.New[plumbing.Hash, *Config](64)
	return &parsedCache{keys: k, configs: c}
}

// readerCache is what a goroutine reads through: the store's objects and
// tree cache, both safe for concurrent use.
type readerCache struct {
	objs  objectStore
	trees *treeCache
}

func (s *Store) readerCache() *readerCache {
	return &readerCache{objs: s.objs, trees: s.trees}
}

// close is a no-op: workers share the store's readers.
func (rc *readerCache) close() {}

// concurrentReads reports whether the store's objects may be read on all
// cores: always, since every odb.DB is safe for concurrent use.
func (s *Store) concurrentReads() bool { return true }

// The record of verified tips lives in .git/hive/verified, one commit a
// line, newest last. It only lets verification skip work already done: a
// tip in it is a place where a walk may stop, never a reason to accept
// anything new. Deleting it costs one full verification.
const maxVerifiedTips = 32

func (s *Store) verifiedPath() string { return filepath.Join(s.gitDir, "hive", "verified") }

func (s *Store) verifiedTips() ([]plumbing.Hash, error) {
	if s.gitDir == "" {
		return s.memTips, nil
	}
	f, err := os.Open(s.verifiedPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read verified tips: %w", err)
	}
	defer f.Close()
	var tips []plumbing.Hash
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if len(line) == 40 && plumbing.IsHash(line) {
			tips = append(tips, plumbing.NewHash(line))
		}
	}
	return tips, sc.Err()
}

// recordVerified adds h to the record, keeping the newest tips.
func (s *Store) recordVerified(h plumbing.Hash) error {
	tips, err := s.verifiedTips()
	if err != nil {
		return err
	}
	kept := []plumbing.Hash{}
	for _, t := range tips {
		if t != h {
			kept = append(kept, t)
		}
	}
	kept = append(kept, h)
	if len(kept) > maxVerifiedTips {
		kept = kept[len(kept)-maxVerifiedTips:]
	}
	if s.gitDir == "" {
		s.memTips = kept
		return nil
	}
	var b strings.Builder
	for _, t := range kept {
		b.WriteString(t.String())
		b.WriteByte('\n')
	}
	return WriteFileAtomic(s.verifiedPath(), []byte(b.String()))
}

// WriteFileAtomic writes a file by rename of a synced temporary file, so
// that readers see the old bytes or the new, never a part.
func WriteFileAtomic(path string, b []byte) error { return writeRenamed(path, b, true) }

// WriteFileUnsynced is WriteFileAtomic without the sync, for derived data
// that a checksum guards: after a crash the file may be missing or torn,
// and its reader rebuilds it.
func WriteFileUnsynced(path string, b []byte) error { return writeRenamed(path, b, false) }

func writeRenamed(path string, b []byte, sync bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
