package agentskills

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// Bounds on a folder read from disk, checked before anything is parsed.
const (
	maxFiles     = 256
	maxDepth     = 6
	maxFileSize  = 4 << 20
	maxTotalSize = 8 << 20
)

// readFolder reads every file under dir, keyed by slash-separated path.
// Only directories and regular files are allowed: a symlink, device or
// pipe is refused, as is a .git folder, so that what is checked is what an
// agent will load.
func readFolder(dir string) (map[string][]byte, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a folder: %w", dir, ErrInvalid)
	}
	files := map[string][]byte{}
	total := 0
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("%s: folders nested over %d deep: %w", filepath.Join(dir, rel), maxDepth, ErrInvalid)
		}
		ents, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, e := range ents {
			p := path.Join(filepath.ToSlash(rel), e.Name())
			full := filepath.Join(dir, filepath.FromSlash(p))
			switch {
			case e.Name() == ".git":
				return fmt.Errorf("%s: a git folder inside a skill: %w", full, ErrInvalid)
			case e.IsDir():
				if err := walk(p, depth+1); err != nil {
					return err
				}
				continue
			case !e.Type().IsRegular():
				return fmt.Errorf("%s: not a regular file (%s): %w", full, typeName(e.Type()), ErrInvalid)
			}
			if len(files) == maxFiles {
				return fmt.Errorf("%s: over %d files: %w", dir, maxFiles, ErrInvalid)
			}
			b, err := readFile(full, maxFileSize)
			if err != nil {
				return err
			}
			if total += len(b); total > maxTotalSize {
				return fmt.Errorf("%s: over %d bytes in all: %w", dir, maxTotalSize, ErrInvalid)
			}
			files[p] = b
		}
		return nil
	}
	if err := walk("", 0); err != nil {
		return nil, err
	}
	return files, nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a file"
}

// readFile reads a regular file of at most max bytes, refusing anything
// else even if it was swapped in after the folder was listed.
func readFile(p string, max int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file: %w", p, ErrInvalid)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, over %d: %w", p, fi.Size(), max, ErrInvalid)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: over %d bytes: %w", p, max, ErrInvalid)
	}
	return b, nil
}

// sortedPaths lists the paths of files in order.
func sortedPaths(files map[string][]byte) []string {
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// writeFolder makes parent/name hold exactly files: they are written to a
// new folder beside it, synced, checked by check (when not nil), and only
// then moved into place, replacing what was there; on any error the old
// folder is left as it was.
func writeFolder(parent, name string, files map[string][]byte, check func(dir string) error) (err error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+name+".new-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for _, p := range sortedPaths(files) {
		full := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := writeSynced(full, files[p]); err != nil {
			return err
		}
	}
	if check != nil {
		if err := check(tmp); err != nil {
			return err
		}
	}
	dst := filepath.Join(parent, name)
	if _, err := os.Lstat(dst); err == nil {
		old, err := os.MkdirTemp(parent, "."+name+".old-")
		if err != nil {
			return err
		}
		if err := os.Remove(old); err != nil {
			return err
		}
		if err := os.Rename(dst, old); err != nil {
			return err
		}
		if err := os.Rename(tmp, dst); err != nil {
			if rerr := os.Rename(old, dst); rerr != nil {
				return errors.Join(err, rerr)
			}
			return err
		}
		return os.RemoveAll(old)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(tmp, dst)
}

func writeSynced(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
