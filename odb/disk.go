package odb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/config"
)

// Disk is a DB over a git repository's folder: loose objects, packs and
// the object folders its alternates name, references as loose files and
// packed-refs.
type Disk struct {
	gitDir    string // HEAD and the index: a linked worktree's own folder
	commonDir string // objects, references, config, shared by all worktrees
	dirs      []*objectDir
	refs      refFiles
	closed    atomic.Bool
}

// objectDir is one object folder: the repository's own, or an alternate.
type objectDir struct {
	path  string
	packs *packSet
}

// liveMappings counts the files mapped by all DBs of the process.
var liveMappings atomic.Int64

// Mappings is the number of pack and index files this process has mapped
// (or open for positioned reads): each DB's packs, until it closes or they
// are gone from disk.
func Mappings() int { return int(liveMappings.Load()) }

// Open opens the repository whose git folder is gitDir: a .git folder, a
// bare repository, or a linked worktree's folder (.git/worktrees/NAME, with
// a commondir file naming the repository it shares). It refuses, with one
// line saying why, repositories it cannot read right: SHA-256 object names,
// references in a reftable, and alternates that do not exist.
func Open(gitDir string) (*Disk, error) {
	gitDir, err := filepath.Abs(gitDir)
	if err != nil {
		return nil, err
	}
	common := gitDir
	if b, err := readSmall(filepath.Join(gitDir, "commondir"), 4096); err == nil {
		p := strings.TrimSpace(string(b))
		if !filepath.IsAbs(p) {
			p = filepath.Join(gitDir, p)
		}
		common = filepath.Clean(p)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := checkFormat(common); err != nil {
		return nil, err
	}
	objects := filepath.Join(common, "objects")
	if fi, err := os.Stat(objects); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s: no objects folder: %w", common, ErrNotFound)
	}
	d := &Disk{gitDir: gitDir, commonDir: common, refs: refFiles{gitDir: gitDir, commonDir: common}}
	dirs, err := objectDirs(objects)
	if err != nil {
		return nil, err
	}
	for _, p := range dirs {
		d.dirs = append(d.dirs, &objectDir{path: p, packs: newPackSet(p)})
	}
	return d, nil
}

// checkFormat refuses the repository formats this package cannot read.
func checkFormat(common string) error {
	b, err := readSmall(filepath.Join(common, "config"), 1<<20)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg := config.New()
	if err := config.NewDecoder(bytes.NewReader(b)).Decode(cfg); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(common, "config"), err)
	}
	ext := cfg.Section("extensions")
	if f := strings.ToLower(ext.Option("objectformat")); f != "" && f != "sha1" {
		return fmt.Errorf("%s uses %s object names; only SHA-1 repositories are supported: %w", common, f, ErrUnsupported)
	}
	if r := strings.ToLower(ext.Option("refstorage")); r != "" && r != "files" {
		return fmt.Errorf("%s keeps its references in a %s; only reference files are supported: %w", common, r, ErrUnsupported)
	}
	return nil
}

// maxAlternateDepth bounds alternates of alternates, as git's does.
const maxAlternateDepth = 5

// objectDirs lists the object folder objects and, after it, the folders
// its objects/info/alternates name (relative ones from objects), and
// theirs, each once.
func objectDirs(objects string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var add func(dir string, depth int) error
	add = func(dir string, depth int) error {
		key := dir
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			key = r
		}
		if seen[key] {
			return nil
		}
		seen[key] = true
		out = append(out, dir)
		b, err := readSmall(filepath.Join(dir, "info", "alternates"), 1<<20)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if depth == maxAlternateDepth {
			return fmt.Errorf("%s: alternates nested more than %d deep", dir, maxAlternateDepth)
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimRight(line, "\r")
			if line == "" || line[0] == '#' {
				continue
			}
			if line[0] == '"' {
				q, err := strconv.Unquote(line)
				if err != nil {
					return fmt.Errorf("%s: bad line %q: %w", filepath.Join(dir, "info", "alternates"), line, ErrCorrupt)
				}
				line = q
			}
			alt := filepath.FromSlash(line)
			if !filepath.IsAbs(alt) {
				alt = filepath.Join(dir, alt)
			}
			alt = filepath.Clean(alt)
			if fi, err := os.Stat(alt); err != nil || !fi.IsDir() {
				return fmt.Errorf("alternate object folder %s (named in %s) does not exist: %w", alt, filepath.Join(dir, "info", "alternates"), ErrNotFound)
			}
			if err := add(alt, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := add(objects, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// readSmall reads a regular file of at most max bytes.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		if errors.Is(err, errNotExist) {
			return nil, os.ErrNotExist
		}
		return nil, err
	}
	defer f.Close()
	if f.size > max {
		return nil, &CorruptError{Path: path, Err: fmt.Errorf("%d bytes, over %d", f.size, max)}
	}
	b := make([]byte, f.size)
	if _, err := io.ReadFull(f, b); err != nil {
		if _, named := err.(*fs.PathError); named {
			return nil, err // it names the read and the file already
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// GitDir is the repository's own git folder (a linked worktree's).
func (d *Disk) GitDir() string { return d.gitDir }

// CommonDir is the folder of the objects and references the repository
// shares with its worktrees (GitDir, unless it is a linked worktree).
func (d *Disk) CommonDir() string { return d.commonDir }

// ObjectDirs are the object folders read: the repository's own, then its
// alternates.
func (d *Disk) ObjectDirs() []string {
	out := make([]string, len(d.dirs))
	for i, od := range d.dirs {
		out[i] = od.path
	}
	return out
}

// Read implements Reader.
func (d *Disk) Read(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	b, pb, err := d.read(t, h, max, math.MaxInt64)
	if pb != nil {
		b = bytes.Clone(b)
		fileBuffers.Put(pb)
	}
	return b, err
}

// Borrow implements Reader.
func (d *Disk) Borrow(t plumbing.ObjectType, h plumbing.Hash, max, uncheckedAbove int64) ([]byte, func(), error) {
	b, pb, err := d.read(t, h, max, uncheckedAbove)
	if err != nil || pb == nil {
		return b, nil, err
	}
	return b, func() { fileBuffers.Put(pb) }, nil
}

// read finds h as git does: in each object folder, in the packs it has
// open (an in-memory search), then as a loose file; then in packs written
// since it last looked. A git gc that packs an object and then prunes its
// loose file between the first two looks is seen by the third.
func (d *Disk) read(t plumbing.ObjectType, h plumbing.Hash, max, uncheckedAbove int64) ([]byte, *[]byte, error) {
	if d.closed.Load() {
		return nil, nil, errClosed
	}
	packed := func(od *objectDir, packs []*pack) ([]byte, bool, error) {
		o, found, err := od.packs.find(packs, h, max)
		if found && err == nil && o.typ != t {
			return nil, true, &TypeError{Object: h, Got: o.typ, Want: t}
		}
		return o.data, found, err
	}
	for _, od := range d.dirs {
		if b, found, err := packed(od, od.packs.current()); found {
			return b, nil, err
		}
		if b, pb, found, err := readLoose(od.path, t, h, max, uncheckedAbove); found {
			return b, pb, err
		}
	}
	var broken []error
	for _, od := range d.dirs {
		if b, found, err := packed(od, od.packs.rescan()); found {
			return b, nil, err
		}
		if err := od.packs.brokenErr(); err != nil {
			broken = append(broken, err)
		}
	}
	if len(broken) > 0 {
		// Not "not found": the object may be in a pack that is damaged.
		return nil, nil, fmt.Errorf("object %s: not in any readable pack or loose file: %w", h, errors.Join(broken...))
	}
	return nil, nil, fmt.Errorf("object %s: %w", h, ErrNotFound)
}

// Abbrev implements DB.
func (d *Disk) Abbrev(prefix string, limit int) ([]plumbing.Hash, error) {
	if len(prefix) < 4 || len(prefix) > 40 || !isHex(prefix) {
		return nil, fmt.Errorf("%q is not an abbreviated object name", prefix)
	}
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	add := func(h plumbing.Hash) {
		if !seen[h] && len(out) < limit {
			seen[h] = true
			out = append(out, h)
		}
	}
	from := plumbing.NewHash((prefix + strings.Repeat("0", 40))[:40])
	for _, od := range d.dirs {
		for _, p := range od.packs.rescan() {
			p.mu.RLock()
			if !p.closed {
				for i := p.idx.Search(from); i < p.idx.Len(); i++ {
					name := p.idx.Name(i)
					if !strings.HasPrefix(name.String(), prefix) {
						break
					}
					add(name)
				}
			}
			p.mu.RUnlock()
		}
		ents, err := os.ReadDir(filepath.Join(od.path, prefix[:2]))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, e := range ents {
			if n := prefix[:2] + e.Name(); len(n) == 40 && isHex(n) && strings.HasPrefix(n, prefix) {
				add(plumbing.NewHash(n))
			}
		}
	}
	return out, nil
}

// Close implements DB: it unmaps every pack.
func (d *Disk) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	for _, od := range d.dirs {
		od.packs.close()
	}
	return nil
}

// DeltaDepth returns how many deltas building object h takes from the
// object stored whole at the end of its chain (0: h is stored whole), and
// false when no pack holds h (it is loose, or missing) or the chain cannot
// be followed. Readers of many versions of one file use it to walk them
// in the order their pack chains them: git's own packs store the newest
// version whole and older ones as deltas on newer ones; git fast-import
// the other way round.
func (d *Disk) DeltaDepth(h plumbing.Hash) (depth int, ok bool) {
	for _, od := range d.dirs {
		if holding(od.packs.current(), h, func(p *pack, off uint64) { depth, ok = p.depth(off) }) {
			return depth, ok
		}
	}
	return 0, false
}
