package odb

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/hive-dev/hive/gitfmt"
)

// The packs of an object folder (objects/pack/*.pack with their version 2
// .idx), read in place: mapped where the system allows it (mmap_unix.go),
// else by positioned reads (region_other.go). A lookup is a binary search
// in the index; an object is one inflate, plus the deltas it is built
// from, whose bases are cached. Other files beside the packs (.keep,
// .bitmap, .rev, .mtimes of cruft packs, .promisor, multi-pack-index) are
// not needed to read objects and are ignored: every pack git writes has
// its own .idx, whatever else indexes it.

// packObject is a resolved object and what building it cost: the largest
// object in its delta chain and the bytes of all of them (see Budget).
type packObject struct {
	typ     plumbing.ObjectType
	data    []byte
	largest uint64
	total   uint64
}

// pack is one pack and its index.
type pack struct {
	name   string // the .pack file's path
	idx    *gitfmt.Idx
	idxMap region
	data   region
	// offs are the objects' offsets in increasing order, where an entry
	// read by positioned reads ends (the next one starts); built on first
	// use, and not for a mapped pack, whose entries are read to its end.
	offsOnce sync.Once
	offs     []uint64
	// built marks, by position in offs, the objects built from their
	// deltas once already, so that building one again does not count
	// again against its base's deltas to come; guarded by the pack set's
	// bmu. read marks, the same way, the objects read for themselves.
	built []uint64
	read  []uint64
	// mu guards the mappings: readers hold it shared while they read the
	// pack's bytes; closing takes it exclusively, so that nothing is
	// unmapped under a reader.
	mu     sync.RWMutex
	closed bool
	// kids counts, by offset, the deltas whose base is the object there:
	// how often it will be needed as a base. Built on first use.
	kidsOnce sync.Once
	kids     map[uint64]int32
}

// packSet is the packs of one object folder, shared by the readers of a DB.
type packSet struct {
	dir    string // objects/pack
	mu     sync.Mutex
	packs  []*pack
	broken map[string]error // packs that could not be opened, by .idx path
	// scanned is the pack folder's modification time at the last scan;
	// looked, when the folder was last looked at (unix nanoseconds).
	scanned time.Time
	looked  atomic.Int64
	closed  bool

	// bases keeps resolved objects that deltas not read yet are built on,
	// each until its last such delta is read, within maxBaseBytes (least
	// recently used first out past it). git stores a file's versions as
	// chains of deltas up to 50 deep, each on a version some steps away; a
	// cache that kept whatever was read last was flooded by the chains of
	// 256 shards and missed nearly always, rebuilding each chain from its
	// end (docs/performance.md).
	//
	// The objects between a chain's base and the object read are not
	// built at all (build composes the deltas), unless another delta still
	// to read is built on them. A chain's base, read whole, whose own read
	// is still to come (a walk newest first reads git fast-import's
	// oldest versions last) goes, once the deltas on it are read, to
	// spare, bounded apart: such objects are worth keeping only while they
	// fit, and must never push out the bases of deltas still to read.
	bmu        sync.Mutex
	bases      *lru.Cache[packKey, *baseEntry]
	baseBytes  int
	spare      *lru.Cache[packKey, *baseEntry]
	spareBytes int
	// builds counts the objects built from deltas. Counting every pack's
	// deltas by base reads each object's header, worth it for a long walk,
	// not for a command that reads some thousands of objects (a range
	// verification builds each shard tree once, however long its chain):
	// until countAfter objects are built, bases are kept as a plain LRU
	// would.
	builds     atomic.Int64
	countAfter int64
}

// countAfter is the number of objects built from deltas before bases are
// kept by count.
const countAfter = 4096

// lookEvery is how often readers look whether the pack folder changed
// (git gc replaced the packs): packs that are gone are then unmapped.
var lookEvery = time.Second

type packKey struct {
	p   *pack
	off uint64
}

// baseEntry is a cached object and its uses still to come: the deltas on
// it still to be read (-1: not counted) and, when it was built as a base
// rather than read (self), the read of it.
type baseEntry struct {
	obj  packObject
	left int32
	self bool
}

// maxBaseBytes bounds the delta bases kept, as git's core.deltaBaseCacheLimit;
// maxSpareBytes the objects kept only for their own read.
const (
	maxBaseBytes  = 64 << 20
	maxSpareBytes = 8 << 20
)

func newPackSet(objectsDir string) *packSet {
	ps := &packSet{dir: filepath.Join(objectsDir, "pack"), countAfter: countAfter, broken: map[string]error{}}
	// Every way out of the cache (dropped after its last delta, least
	// recently used, past the entry limit) comes through here, under bmu.
	ps.bases, _ = lru.NewWithEvict(1<<20, func(_ packKey, e *baseEntry) { ps.baseBytes -= len(e.obj.data) })
	ps.spare, _ = lru.NewWithEvict(1<<20, func(_ packKey, e *baseEntry) { ps.spareBytes -= len(e.obj.data) })
	return ps
}

// kidsOf returns p's count of deltas by base offset still to build,
// reading every object's header once; the counts are changed under the
// pack set's bmu.
func (p *pack) kidsOf() map[uint64]int32 {
	p.kidsOnce.Do(func() {
		p.kids = map[uint64]int32{}
		if _, ok := p.data.(*preadFile); !ok {
			for i := range p.idx.Len() {
				if base, ok := p.baseOf(p.header(p.idx.Offset(i))); ok {
					p.kids[base]++
				}
			}
			return
		}
		// A pack read by positioned reads is read in order, in windows of
		// 1 MiB, not by one read a header (a syscall an object: 0.3 s of a
		// 0.9 s range verification of a packed 100k hive).
		const window = 1 << 20
		var win []byte
		var winOff uint64
		last := p.data.size() - 20
		offs := p.sorted()
		for i, off := range offs {
			end := last
			if i+1 < len(offs) {
				end = offs[i+1]
			}
			hend := min(off+gitfmt.MaxObjectHeader, end)
			if off < winOff || hend > winOff+uint64(len(win)) {
				b, done, err := p.data.read(off, min(off+window, last))
				if err != nil {
					return // reading the objects reports it
				}
				win = append(win[:0], b...)
				winOff = off
				if done != nil {
					done()
				}
			}
			if hend < off || hend > winOff+uint64(len(win)) {
				continue
			}
			if base, ok := p.baseOf(gitfmt.ParseObjectHeader(win[off-winOff:hend-winOff], off)); ok {
				p.kids[base]++
			}
		}
	})
	return p.kids
}

// entry returns the bytes of the pack's entry at off (for a mapped pack,
// all the bytes from off on) and done, to call once they are not used
// (nil when nothing is lent).
func (p *pack) entry(off uint64) ([]byte, func(), error) {
	return p.data.read(off, p.end(off))
}

// end is where the entry at off ends.
func (p *pack) end(off uint64) uint64 {
	last := p.data.size() - 20
	if _, ok := p.data.(*preadFile); !ok {
		return last
	}
	offs := p.sorted()
	if i := sort.Search(len(offs), func(i int) bool { return offs[i] > off }); i < len(offs) {
		return offs[i]
	}
	return last
}

// sorted returns the objects' offsets in increasing order.
func (p *pack) sorted() []uint64 {
	p.offsOnce.Do(func() {
		p.offs = make([]uint64, p.idx.Len())
		for i := range p.offs {
			p.offs[i] = p.idx.Offset(i)
		}
		sortOffsets(p.offs)
	})
	return p.offs
}

// firstBuilt records that the object at off was built from its deltas,
// and reports whether it was the first time; the caller holds the pack
// set's bmu.
func (p *pack) firstBuilt(off uint64) bool { return p.mark(&p.built, off) }

// firstRead records that the object at off was read for itself, and
// reports whether it was the first time; the caller holds the pack set's
// bmu.
func (p *pack) firstRead(off uint64) bool { return p.mark(&p.read, off) }

// mark sets the bit of the object at off in set, by its position in the
// pack, and reports whether it was clear.
func (p *pack) mark(set *[]uint64, off uint64) bool {
	offs := p.sorted()
	i, ok := slices.BinarySearch(offs, off)
	if !ok {
		return true
	}
	if *set == nil {
		*set = make([]uint64, (len(offs)+63)/64)
	}
	w, bit := i/64, uint64(1)<<(i%64)
	if (*set)[w]&bit != 0 {
		return false
	}
	(*set)[w] |= bit
	return true
}

// wasRead reports whether the object at off was read for itself; the
// caller holds the pack set's bmu.
func (p *pack) wasRead(off uint64) bool {
	offs := p.sorted()
	i, ok := slices.BinarySearch(offs, off)
	return ok && p.read != nil && p.read[i/64]&(1<<(i%64)) != 0
}

// header reads the header of the object at off.
func (p *pack) header(off uint64) (gitfmt.ObjectHeader, error) {
	b, done, err := p.data.read(off, min(off+gitfmt.MaxObjectHeader, p.end(off)))
	if err != nil {
		return gitfmt.ObjectHeader{}, err
	}
	if done != nil {
		defer done()
	}
	return gitfmt.ParseObjectHeader(b, off)
}

// baseOf returns the offset of the base of the delta whose header is h,
// or false when the object is not a delta (or its header is corrupt,
// which reading it reports).
func (p *pack) baseOf(h gitfmt.ObjectHeader, err error) (uint64, bool) {
	switch {
	case err != nil:
		return 0, false
	case h.Type == gitfmt.OFSDelta:
		return h.Base, true
	case h.Type == gitfmt.REFDelta:
		if i, ok := p.idx.Find(h.Ref); ok {
			return p.idx.Offset(i), true
		}
	}
	return 0, false
}

// cachedBase returns the object at off in p if it is kept. target says
// it is read for itself: the read a base was kept for is then done.
func (ps *packSet) cachedBase(p *pack, off uint64, target bool) (packObject, bool) {
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	if target {
		p.firstRead(off)
	}
	k := packKey{p, off}
	if e, ok := ps.spare.Peek(k); ok {
		if target {
			ps.spare.Remove(k)
		}
		return e.obj, true
	}
	e, ok := ps.bases.Get(k)
	if !ok {
		return packObject{}, false
	}
	if target {
		e.self = false
	}
	return e.obj, true
}

// keep caches the object at off in p for the uses still to come: the
// deltas built on it and, when it was built as a base (target false) and
// not read for itself yet, the read of it that a walk of every object
// will make (or, before countAfter objects are built, when it is a tree or
// over 4 KiB, the objects deltas are usually built on).
func (ps *packSet) keep(p *pack, off uint64, o packObject, target bool) {
	if len(o.data) > maxBaseBytes/4 {
		return
	}
	var kids map[uint64]int32
	if ps.builds.Load() >= ps.countAfter {
		kids = p.kidsOf()
	} else if o.typ != plumbing.TreeObject && len(o.data) <= 4096 {
		return
	}
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	n := int32(-1) // not counted: dropped only as least recently used
	self := false
	if kids != nil {
		n, self = kids[off], !target && !p.wasRead(off)
		if n == 0 && !self {
			return
		}
	}
	k := packKey{p, off}
	if ps.bases.Contains(k) || ps.spare.Contains(k) {
		return
	}
	e := &baseEntry{obj: o, left: n, self: self}
	if n == 0 {
		ps.spareOne(k, e)
		return
	}
	ps.baseBytes += len(o.data)
	ps.bases.Add(k, e)
	for ps.baseBytes > maxBaseBytes {
		if _, _, ok := ps.bases.RemoveOldest(); !ok {
			break
		}
	}
}

// spareOne keeps e, which only its own read is still to use, in spare;
// the caller holds bmu.
func (ps *packSet) spareOne(k packKey, e *baseEntry) {
	ps.spareBytes += len(e.obj.data)
	ps.spare.Add(k, e)
	for ps.spareBytes > maxSpareBytes {
		if _, _, ok := ps.spare.RemoveOldest(); !ok {
			break
		}
	}
}

// used records that the delta at kid on the object at off in p was built:
// after the last, the object is dropped. The count of the deltas still to
// build on each object outlives its entry in the cache, so that an object
// built again (dropped, then needed again) is kept only for the deltas on
// it not built yet; a delta built again does not count.
func (ps *packSet) used(p *pack, off, kid uint64) {
	var kids map[uint64]int32
	if ps.builds.Load() >= ps.countAfter {
		kids = p.kidsOf()
	}
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	if !p.firstBuilt(kid) {
		return
	}
	if kids[off] > 0 {
		kids[off]--
	}
	k := packKey{p, off}
	if e, ok := ps.bases.Peek(k); ok && e.left > 0 {
		if e.left--; e.left == 0 {
			ps.bases.Remove(k)
			if e.self {
				ps.spareOne(k, e)
			}
		}
	}
}

// forget drops the cached bases of p.
func (ps *packSet) forget(p *pack) {
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	for _, c := range []*lru.Cache[packKey, *baseEntry]{ps.bases, ps.spare} {
		for _, k := range c.Keys() {
			if k.p == p {
				c.Remove(k)
			}
		}
	}
}

// current returns the packs, first looking whether the folder changed
// when it was last looked at more than lookEvery ago.
func (ps *packSet) current() []*pack {
	if now := time.Now().UnixNano(); now-ps.looked.Load() >= int64(lookEvery) {
		return ps.rescan()
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.packs
}

// rescan opens the packs written since the last scan and closes those
// that are gone, when the folder changed.
func (ps *packSet) rescan() []*pack {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.looked.Store(time.Now().UnixNano())
	if ps.closed {
		return nil
	}
	fi, err := os.Stat(ps.dir)
	if err != nil {
		// No pack folder (yet): a repository of loose objects.
		ps.closeAll()
		return nil
	}
	if fi.ModTime().Equal(ps.scanned) && !ps.scanned.IsZero() {
		return ps.packs
	}
	ps.scanned = fi.ModTime()
	names, _ := filepath.Glob(filepath.Join(ps.dir, "pack-*.idx"))
	sort.Strings(names)
	have := map[string]*pack{}
	for _, p := range ps.packs {
		have[p.name] = p
	}
	var packs []*pack
	broken := map[string]error{}
	for _, idx := range names {
		name := strings.TrimSuffix(idx, ".idx") + ".pack"
		if p, ok := have[name]; ok {
			packs = append(packs, p)
			delete(have, name)
			continue
		}
		if err, ok := ps.broken[idx]; ok {
			broken[idx] = err // a broken pack stays broken until it changes name
			continue
		}
		p, err := openPack(idx, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Being deleted by git gc (the .pack goes first), or the .idx
			// of a pack still being written: not there.
		case err != nil:
			broken[idx] = err
		default:
			packs = append(packs, p)
		}
	}
	ps.broken = broken
	for _, p := range have { // gone from the folder: unmap
		p.close()
		ps.forget(p)
	}
	ps.packs = packs
	return packs
}

// closeAll closes every pack; the caller holds ps.mu.
func (ps *packSet) closeAll() {
	for _, p := range ps.packs {
		p.close()
		ps.forget(p)
	}
	ps.packs = nil
}

// close unmaps the packs; reads that follow find nothing in them.
func (ps *packSet) close() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.closeAll()
	ps.closed = true
}

// brokenErr describes the packs that could not be opened, or is nil.
func (ps *packSet) brokenErr() error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var errs []error
	for _, idx := range sortedKeys(ps.broken) {
		errs = append(errs, &CorruptError{Path: idx, Err: ps.broken[idx]})
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]error) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mapPacks says whether packs are mapped, else read by positioned reads.
// A pack's index is mapped where the system allows it; the pack itself is
// read by positioned reads, a whole entry at once: the pages of a mapped
// pack count as the process's memory (153 MB of a 100k hive's 400 MB peak
// RSS), and the reads cost 3% more CPU (docs/performance.md).
var mapPacks = false

// openPack opens a pack and its index and checks them against each other
// (gitfmt.ParseIdx, Idx.CheckPack).
func openPack(idxPath, packPath string) (*pack, error) {
	if _, err := os.Stat(packPath); err != nil {
		return nil, err
	}
	im, err := openMapped(idxPath)
	if err != nil {
		return nil, err
	}
	ib, done, err := im.read(0, im.size())
	if err == nil && done != nil {
		ib = bytes.Clone(ib)
		done()
	}
	var idx *gitfmt.Idx
	if err == nil {
		idx, err = gitfmt.ParseIdx(ib)
	}
	if err != nil {
		im.close()
		if errors.Is(err, gitfmt.ErrIdxVersion) {
			return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		return nil, err
	}
	open := openPread
	if mapPacks {
		open = openMapped
	}
	pm, err := open(packPath)
	if err != nil {
		im.close()
		return nil, err
	}
	fail := func(err error) (*pack, error) {
		im.close()
		pm.close()
		return nil, fmt.Errorf("%s: %w", packPath, err)
	}
	size := pm.size()
	if size < 32 {
		return fail(fmt.Errorf("truncated at %d bytes", size))
	}
	header, hdone, err := pm.read(0, 12)
	if err != nil {
		return fail(err)
	}
	header = bytes.Clone(header)
	if hdone != nil {
		hdone()
	}
	trailer, tdone, err := pm.read(size-20, size)
	if err != nil {
		return fail(err)
	}
	err = idx.CheckPack(header, trailer, size)
	if tdone != nil {
		tdone()
	}
	if err != nil {
		return fail(err)
	}
	return &pack{name: packPath, idx: idx, idxMap: im, data: pm}, nil
}

// close unmaps the pack once no reader uses it.
func (p *pack) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.idxMap.close()
		p.data.close()
	}
}

// holding calls fn with the first of packs that holds h and h's offset
// there, while it holds that pack open, and reports whether one did.
func holding(packs []*pack, h plumbing.Hash, fn func(p *pack, off uint64)) bool {
	for _, p := range packs {
		p.mu.RLock()
		if !p.closed {
			if i, ok := p.idx.Find(h); ok {
				fn(p, p.idx.Offset(i))
				p.mu.RUnlock()
				return true
			}
		}
		p.mu.RUnlock()
	}
	return false
}

// find reads h from the first of packs that holds it: found is false when
// none does.
func (ps *packSet) find(packs []*pack, h plumbing.Hash, max int64) (obj packObject, found bool, err error) {
	found = holding(packs, h, func(p *pack, off uint64) {
		obj, err = ps.build(p, off, h, max)
		var se *SizeError
		if err != nil && !errors.As(err, &se) && !errors.Is(err, ErrCorrupt) {
			err = &CorruptError{Object: h, Path: p.name, Err: err}
		}
	})
	return obj, found, err
}

// link is one delta of a chain being built: its entry's bytes (lent
// until done is called, when done is not nil) and header.
type link struct {
	off  uint64
	raw  []byte
	done func()
	hdr  gitfmt.ObjectHeader
}

// build reads the object at off in p, which the caller holds: it follows
// the delta chain down to a full object or a cached base, iteratively,
// then composes the deltas up into one plan and builds the object once,
// keeping bases for the deltas still to read.
// The chain's objects are bounded by Budget(limit), the object itself by
// limit; what is over is refused before it is inflated where the headers
// tell.
func (ps *packSet) build(p *pack, off uint64, h plumbing.Hash, limit int64) (packObject, error) {
	largest, total := Budget(limit)
	over := func(o packObject) error {
		if o.largest > largest || o.total > total {
			return &BuildError{Object: h, Largest: o.largest, Total: o.total, MaxLargest: largest, Max: total}
		}
		return nil
	}
	var chain []link
	defer func() {
		for _, l := range chain {
			if l.done != nil {
				l.done()
			}
		}
	}()
	var base packObject
	cur := off
	for {
		if o, ok := ps.cachedBase(p, cur, cur == off); ok {
			base = o
			break
		}
		raw, done, err := p.entry(cur)
		if err != nil {
			return packObject{}, err
		}
		hdr, err := gitfmt.ParseObjectHeader(raw, cur)
		if err != nil {
			if done != nil {
				done()
			}
			return packObject{}, err
		}
		if hdr.Type != gitfmt.OFSDelta && hdr.Type != gitfmt.REFDelta {
			o := packObject{typ: hdr.Type, largest: hdr.Size, total: hdr.Size}
			if len(chain) == 0 && hdr.Size > uint64(limit) {
				err = &SizeError{Object: h, Size: int64(min(hdr.Size, 1<<62)), Max: limit}
			} else if err = over(o); err == nil {
				o.data, _, err = gitfmt.Inflate(raw[hdr.Body-cur:], int(hdr.Size))
			}
			if done != nil {
				done()
			}
			if err != nil {
				return packObject{}, err
			}
			base = o
			ps.keep(p, cur, o, len(chain) == 0)
			break
		}
		chain = append(chain, link{off: cur, raw: raw, done: done, hdr: hdr})
		// A delta's instructions are at most about its result's size, which
		// is at most largest.
		if hdr.Size > 2*largest+1024 {
			return packObject{}, &BuildError{Object: h, Largest: hdr.Size, Total: hdr.Size, MaxLargest: largest, Max: total}
		}
		if len(chain) > p.idx.Len() {
			return packObject{}, errors.New("delta chain loops")
		}
		if hdr.Type == gitfmt.OFSDelta {
			cur = hdr.Base
			continue
		}
		i, ok := p.idx.Find(hdr.Ref)
		if !ok {
			return packObject{}, fmt.Errorf("delta base %s is not in the pack", hdr.Ref)
		}
		cur = p.idx.Offset(i)
	}
	if err := over(base); err != nil {
		return packObject{}, err
	}
	// The deltas are composed into one plan on the base and the object
	// built once, not each object between: an intermediate object is
	// built only when another delta still to read needs it as its base,
	// or when a delta of many small parts would split the plan past its
	// bound (gitfmt.ErrPlanSpans).
	if len(chain) == 0 {
		return base, nil
	}
	var kids map[uint64]int32
	if ps.builds.Load() >= ps.countAfter {
		kids = p.kidsOf()
	}
	ps.builds.Add(1)
	plan := gitfmt.NewDeltaPlan(base.data)
	o := base
	for k := len(chain) - 1; k >= 0; k-- {
		l := chain[k]
		delta, _, err := gitfmt.Inflate(l.raw[l.hdr.Body-l.off:], int(l.hdr.Size))
		if err != nil {
			return packObject{}, err
		}
		_, size, _, err := gitfmt.DeltaSizes(delta)
		if err != nil {
			return packObject{}, err
		}
		if k == 0 && size > uint64(limit) {
			return packObject{}, &SizeError{Object: h, Size: int64(min(size, 1<<62)), Max: limit}
		}
		o = packObject{typ: o.typ, largest: max(o.largest, size), total: o.total + size}
		if err := over(o); err != nil {
			return packObject{}, err
		}
		if err := plan.Add(delta); errors.Is(err, gitfmt.ErrPlanSpans) {
			// A delta of many small parts: build what the plan has, then
			// apply the delta to it.
			data, err := gitfmt.ApplyDelta(nil, plan.Build(nil), delta)
			if err != nil {
				return packObject{}, err
			}
			plan = gitfmt.NewDeltaPlan(data)
		} else if err != nil {
			return packObject{}, err
		}
		baseOff := cur
		if k+1 < len(chain) {
			baseOff = chain[k+1].off
		}
		ps.used(p, baseOff, l.off)
		if k == 0 || ps.wanted(kids, l.off) {
			o.data = plan.Build(nil)
			// An object between is kept for the deltas on it only: whether
			// its own read is still to come is not known.
			ps.keep(p, l.off, o, true)
			plan = gitfmt.NewDeltaPlan(o.data)
		}
	}
	return o, nil
}

// wanted reports whether the object at off is the base of a delta still
// to build besides the one being built on it now (kids is nil before
// deltas are counted).
func (ps *packSet) wanted(kids map[uint64]int32, off uint64) bool {
	if kids == nil {
		return false
	}
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	return kids[off] > 1
}

// depth follows the delta chain of the object at off to its end, reading
// headers only; the caller holds p.
func (p *pack) depth(off uint64) (int, bool) {
	for n := 0; n <= p.idx.Len(); n++ {
		h, err := p.header(off)
		switch {
		case err != nil:
			return 0, false
		case h.Type == gitfmt.OFSDelta:
			off = h.Base
		case h.Type == gitfmt.REFDelta:
			i, ok := p.idx.Find(h.Ref)
			if !ok {
				return 0, false
			}
			off = p.idx.Offset(i)
		default:
			return n, true
		}
	}
	return 0, false
}

// sortOffsets sorts offs in place. Past a few thousand offsets it is a
// radix sort, 16 bits a pass and only as many passes as the largest
// offset needs (two for a pack under 4 GiB): opening a 100k-trace hive's
// pack sorts 300k offsets, once per process (docs/performance.md).
func sortOffsets(offs []uint64) {
	if len(offs) < 4096 {
		slices.Sort(offs)
		return
	}
	var most uint64
	for _, o := range offs {
		most |= o
	}
	tmp := make([]uint64, len(offs))
	var count [1 << 16]int
	src, dst := offs, tmp
	for shift := uint(0); shift < 64 && most>>shift != 0; shift += 16 {
		clear(count[:])
		for _, o := range src {
			count[o>>shift&0xffff]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, o := range src {
			d := o >> shift & 0xffff
			dst[count[d]] = o
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &offs[0] {
		copy(offs, src)
	}
}
