package registry

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// defaultGCAuto is git's gc.auto default: the loose objects git lets
// accumulate before `git gc --auto` packs them.
const defaultGCAuto = 6700

// NeedsPacking reports whether the hive holds more loose objects than its
// gc.auto setting allows (git's default 6700; 0 or less turns packing
// off), estimated as git estimates it: from the files in objects/17, one
// of the 256 folders loose objects are spread over. It costs one read of
// that folder.
//
// git runs `gc --auto` after the commands that write objects; hive writes
// its objects itself, so it must ask in its turn. A hive left loose holds
// one file per object, ten times the bytes of a pack (docs/performance.md,
// "Figures from code comments"), and reads each with a system call or
// three.
func (s *Store) NeedsPacking() bool {
	if s.gitDir == "" || gitBinary() == "" {
		return false
	}
	limit := defaultGCAuto
	if cfg, err := s.st.Config(); err == nil && cfg.Raw.HasSection("gc") {
		if v := cfg.Raw.Section("gc").Option("auto"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return false // git would refuse the setting: leave it to git
			}
			limit = n
		}
	}
	if limit <= 0 {
		return false
	}
	names, err := os.ReadDir(filepath.Join(s.gitDir, "objects", "17"))
	if err != nil {
		return false
	}
	n, threshold := 0, (limit+255)/256
	for _, e := range names {
		if len(e.Name()) == 38 && isHex(e.Name()) {
			if n++; n > threshold {
				return true
			}
		}
	}
	return false
}

// isHex reports whether s is lower-case hex digits only.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Pack runs `git gc --auto --quiet` in the hive: git packs the loose
// objects, in the background unless gc.autoDetach is false, and decides
// for itself (gc.auto, a gc already running) whether to. hive's readers
// look for new packs when a loose object has gone, and git moves main
// only under main.lock, as hive does, so hive and git gc may run at once.
func (s *Store) Pack() error {
	if s.gitDir == "" || gitBinary() == "" {
		return nil
	}
	cmd := exec.Command(gitBinary(), "--git-dir", s.gitDir, "gc", "--auto", "--quiet")
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git gc --auto in %s: %v: %s", s.gitDir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Temporary object files (objects/xx/tmp_obj_*) of writers that died are
// removed by the next writer, under the hive's lock, once they are older
// than any writer lives: tempMaxAge. Listing every object folder costs a
// moment on a hive of many loose objects, so it is done at most once per
// sweepEvery, noted by the time of .git/hive/swept.
const (
	tempMaxAge = time.Hour
	sweepEvery = time.Hour
)

// sweepTemp removes old temporary object files, at most once per
// sweepEvery; the caller holds the hive's lock. Failures are only
// reported: nothing depends on the sweep.
func (s *Store) sweepTemp() {
	if s.disk == nil {
		return
	}
	mark := filepath.Join(s.gitDir, "hive", "swept")
	if fi, err := os.Stat(mark); err == nil && time.Since(fi.ModTime()) < sweepEvery {
		return
	}
	n, err := s.disk.SweepTemp(tempMaxAge)
	if n > 0 {
		s.tell(fmt.Sprintf("removed %d temporary object files older than %s, left by writers that are no longer running", n, tempMaxAge))
	}
	if err != nil {
		s.tell(fmt.Sprintf("removing old temporary object files: %v", err))
	}
	if f, err := os.Create(mark); err == nil {
		f.Close()
	}
}

// Writable reports why a write to the hive would fail now, or nil: its
// object folder and its own folder (.git/hive, beside the references)
// must take a new file (not read-only, not
// full). A lock a dead writer left on main is not such a reason: the next
// writer removes it (moveMain).
func (s *Store) Writable() error {
	if s.disk == nil {
		return nil
	}
	for _, dir := range []string{filepath.Join(s.gitDir, "objects"), filepath.Join(s.gitDir, "hive")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("the hive cannot be written: %w", err)
		}
		f, err := os.CreateTemp(dir, ".hive-writable-*")
		if err != nil {
			return fmt.Errorf("the hive cannot be written: %w", err)
		}
		_, err = f.Write([]byte("hive\n"))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		os.Remove(f.Name())
		if err != nil {
			return fmt.Errorf("the hive cannot be written: %s: %w", dir, err)
		}
	}
	return nil
}
