package registry

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	lru "github.com/hashicorp/golang-lru/v2"
)

// A reader of git packfiles (objects/pack/*.pack with their version 2
// .idx), memory-mapped: a lookup is a binary search in the index and an
// object is one inflate, plus the deltas it is built from, which are cached.
// go-git's reader costs several times more (the 100k scale run measured a
// packed copy at twice the time of loose objects); hive reads every object
// of a range, so the validator, the index and pulls read packs through this.

// packObject is a resolved object.
type packObject struct {
	typ  plumbing.ObjectType
	data []byte
}

// pack is one mapped packfile and its index.
type pack struct {
	idx, data []byte
	n         int
	// kids counts, by offset, the deltas whose base is the object there:
	// how often it will be needed as a base. Built on first use.
	kidsOnce sync.Once
	kids     map[uint64]int32
}

// packSet is the packs of one repository, shared by the readers of a store.
type packSet struct {
	dir     string
	mu      sync.Mutex
	packs   []*pack
	scanned time.Time // the pack folder's modification time at the last scan

	// bases keeps resolved objects that deltas not read yet are built on,
	// each until its last such delta is read, within maxBaseBytes (least
	// recently used first out past it). git stores a file's versions as
	// chains of deltas up to 50 deep, each on a version some steps away;
	// a cache that kept whatever was read last was flooded by the chains
	// of 256 shards and missed nearly always (2 hits in 1.2 million reads
	// verifying a packed 100k hive), rebuilding each chain from its end.
	bmu       sync.Mutex
	bases     *lru.Cache[packKey, *baseEntry]
	baseBytes int
	// deltas counts the deltas read. Counting every pack's deltas by base
	// reads each object's header (80 ms for a 100k hive's pack), worth it
	// for a long walk, not for a command that reads a few objects (hive
	// add on a packed 100k hive: 75 ms, against 170 ms counting): until
	// countAfter deltas are read, bases are kept as a plain LRU would.
	deltas     atomic.Int64
	countAfter int64
}

// countAfter is the number of deltas read before bases are kept by count.
const countAfter = 4096

type packKey struct {
	p   *pack
	off uint64
}

// baseEntry is a cached delta base and the deltas on it still to be read
// (-1: not counted).
type baseEntry struct {
	obj  packObject
	left int32
}

// maxBaseBytes bounds the delta bases kept, as git's core.deltaBaseCacheLimit.
const maxBaseBytes = 32 << 20

func newPackSet(gitDir string) *packSet {
	ps := &packSet{dir: filepath.Join(gitDir, "objects", "pack"), countAfter: countAfter}
	// Every way out of the cache (dropped after its last delta, least
	// recently used, past the entry limit) comes through here, under bmu.
	ps.bases, _ = lru.NewWithEvict(1<<20, func(_ packKey, e *baseEntry) { ps.baseBytes -= len(e.obj.data) })
	return ps
}

// kidsOf returns p's count of deltas by base offset, reading every
// object's header once.
func (p *pack) kidsOf() map[uint64]int32 {
	p.kidsOnce.Do(func() {
		p.kids = map[uint64]int32{}
		for i := range p.n {
			if off, ok := p.offsetAt(i); ok {
				if base, ok := p.deltaBase(off); ok {
					p.kids[base]++
				}
			}
		}
	})
	return p.kids
}

// objectHeader is what the header of an object in a pack says.
type objectHeader struct {
	typ  plumbing.ObjectType
	size uint64        // of the object, or of a delta's instructions
	body uint64        // where its zlib stream starts
	base uint64        // an offset delta's base
	ref  plumbing.Hash // a reference delta's base
}

// header reads the header of the object at off.
func (p *pack) header(off uint64) (objectHeader, error) {
	if off >= uint64(len(p.data)) {
		return objectHeader{}, errPackCorrupt
	}
	b := p.data[off:]
	c := b[0]
	h := objectHeader{typ: plumbing.ObjectType((c >> 4) & 7), size: uint64(c & 15)}
	i, shift := 1, 4
	for c&0x80 != 0 {
		if i >= len(b) || i > maxPackHeader {
			return objectHeader{}, errPackCorrupt
		}
		c = b[i]
		h.size |= uint64(c&0x7f) << shift
		shift += 7
		i++
	}
	switch h.typ {
	case plumbing.OFSDeltaObject:
		if i >= len(b) {
			return objectHeader{}, errPackCorrupt
		}
		c = b[i]
		i++
		rel := uint64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= len(b) || i > maxPackHeader {
				return objectHeader{}, errPackCorrupt
			}
			c = b[i]
			i++
			rel = ((rel + 1) << 7) | uint64(c&0x7f)
		}
		if rel > off {
			return objectHeader{}, errPackCorrupt
		}
		h.base = off - rel
	case plumbing.REFDeltaObject:
		if i+20 > len(b) {
			return objectHeader{}, errPackCorrupt
		}
		copy(h.ref[:], b[i:i+20])
		i += 20
	}
	h.body = off + uint64(i)
	return h, nil
}

// deltaBase returns the offset of the base of the delta at off, or false
// when the object there is not a delta (or its header is corrupt, which
// reading it reports).
func (p *pack) deltaBase(off uint64) (uint64, bool) {
	h, err := p.header(off)
	switch {
	case err != nil:
		return 0, false
	case h.typ == plumbing.OFSDeltaObject:
		return h.base, true
	case h.typ == plumbing.REFDeltaObject:
		return p.offset(h.ref)
	}
	return 0, false
}

// cachedBase returns the object at off in p if it is kept as a base.
func (ps *packSet) cachedBase(p *pack, off uint64) (packObject, bool) {
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	if e, ok := ps.bases.Get(packKey{p, off}); ok {
		return e.obj, true
	}
	return packObject{}, false
}

// keep caches the object at off in p when deltas are built on it (or,
// before countAfter deltas are read, when it is a tree or over 4 KiB, the
// objects deltas are usually built on).
func (ps *packSet) keep(p *pack, off uint64, o packObject) {
	n := int32(-1) // not counted: dropped only as least recently used
	if ps.deltas.Load() >= ps.countAfter {
		n = p.kidsOf()[off]
		if n == 0 {
			return
		}
	} else if o.typ != plumbing.TreeObject && len(o.data) <= 4096 {
		return
	}
	if len(o.data) > maxBaseBytes/4 {
		return
	}
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	k := packKey{p, off}
	if ps.bases.Contains(k) {
		return
	}
	ps.baseBytes += len(o.data)
	ps.bases.Add(k, &baseEntry{obj: o, left: n})
	for ps.baseBytes > maxBaseBytes {
		if _, _, ok := ps.bases.RemoveOldest(); !ok {
			break
		}
	}
}

// used records that a delta on the object at off in p was read: after the
// last, the object is dropped.
func (ps *packSet) used(p *pack, off uint64) {
	ps.bmu.Lock()
	defer ps.bmu.Unlock()
	k := packKey{p, off}
	if e, ok := ps.bases.Peek(k); ok && e.left > 0 {
		if e.left--; e.left == 0 {
			ps.bases.Remove(k)
		}
	}
}

// maxPackHeader bounds an object's header and delta base reference.
const maxPackHeader = 32

// rescan maps the packs not mapped yet, when the folder changed.
func (ps *packSet) rescan() []*pack {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	fi, err := os.Stat(ps.dir)
	if err != nil || !fi.ModTime().After(ps.scanned) && ps.packs != nil {
		return ps.packs
	}
	ps.scanned = fi.ModTime()
	have := map[string]bool{}
	for _, p := range ps.packs {
		have[string(p.idx[len(p.idx)-40:len(p.idx)-20])] = true
	}
	names, _ := filepath.Glob(filepath.Join(ps.dir, "pack-*.idx"))
	sort.Strings(names)
	for _, name := range names {
		p, err := openPack(name, strings.TrimSuffix(name, ".idx")+".pack")
		if err != nil || have[string(p.idx[len(p.idx)-40:len(p.idx)-20])] {
			continue
		}
		ps.packs = append(ps.packs, p)
	}
	return ps.packs
}

func mmap(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 || fi.Size() > 1<<40 {
		return nil, fmt.Errorf("%s: bad size", path)
	}
	return syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
}

func openPack(idxPath, packPath string) (*pack, error) {
	idx, err := mmap(idxPath)
	if err != nil {
		return nil, err
	}
	if len(idx) < 8+256*4+40 || !bytes.Equal(idx[:4], []byte{0xff, 't', 'O', 'c'}) || binary.BigEndian.Uint32(idx[4:]) != 2 {
		syscall.Munmap(idx)
		return nil, fmt.Errorf("%s: not a version 2 pack index", idxPath)
	}
	n := int(binary.BigEndian.Uint32(idx[8+255*4:]))
	if len(idx) < 8+256*4+n*28+40 {
		syscall.Munmap(idx)
		return nil, fmt.Errorf("%s: truncated", idxPath)
	}
	data, err := mmap(packPath)
	if err != nil {
		syscall.Munmap(idx)
		return nil, err
	}
	if len(data) < 32 || string(data[:4]) != "PACK" {
		syscall.Munmap(idx)
		syscall.Munmap(data)
		return nil, fmt.Errorf("%s: not a pack", packPath)
	}
	return &pack{idx: idx, data: data, n: n}, nil
}

// offset finds h in the pack's index.
func (p *pack) offset(h plumbing.Hash) (uint64, bool) {
	fan := func(i int) int { return int(binary.BigEndian.Uint32(p.idx[8+i*4:])) }
	lo, hi := 0, fan(int(h[0]))
	if h[0] > 0 {
		lo = fan(int(h[0]) - 1)
	}
	names := p.idx[8+256*4:]
	i := lo + sort.Search(hi-lo, func(k int) bool { return bytes.Compare(names[(lo+k)*20:(lo+k)*20+20], h[:]) >= 0 })
	if i >= hi || !bytes.Equal(names[i*20:i*20+20], h[:]) {
		return 0, false
	}
	return p.offsetAt(i)
}

// offsetAt is the offset of the pack's i-th object in the index's order:
// 31 bits, or else an index into the table of 64-bit offsets.
func (p *pack) offsetAt(i int) (uint64, bool) {
	o := binary.BigEndian.Uint32(p.idx[8+256*4+p.n*24+i*4:])
	if o&0x80000000 == 0 {
		return uint64(o), true
	}
	large := p.idx[8+256*4+p.n*28:]
	k := int(o & 0x7fffffff)
	if len(large) < (k+1)*8+40 {
		return 0, false
	}
	return binary.BigEndian.Uint64(large[k*8:]), true
}

var errPackCorrupt = errors.New("corrupt pack")

// read returns the object h, or found false when no pack holds it. The
// size limit is checked from headers before the body is inflated.
func (ps *packSet) read(h plumbing.Hash, max int64) (obj packObject, found bool, err error) {
	if o, found, err := ps.known(h, max); found {
		return o, found, err
	}
	return ps.readRescan(h, max)
}

// known is read in the packs already open, without looking for new ones:
// no system call when the object is not packed.
func (ps *packSet) known(h plumbing.Hash, max int64) (obj packObject, found bool, err error) {
	ps.mu.Lock()
	packs := ps.packs
	ps.mu.Unlock()
	return ps.readIn(packs, h, max)
}

// readRescan is read after looking for packs written since the last look
// (by git gc, or a fetch).
func (ps *packSet) readRescan(h plumbing.Hash, max int64) (obj packObject, found bool, err error) {
	return ps.readIn(ps.rescan(), h, max)
}

// readIn reads h from the first of packs that holds it.
func (ps *packSet) readIn(packs []*pack, h plumbing.Hash, max int64) (obj packObject, found bool, err error) {
	for _, p := range packs {
		if off, ok := p.offset(h); ok {
			o, err := ps.at(p, off, max, 0)
			return o, true, err
		}
	}
	return packObject{}, false, nil
}

// at reads the object at off in p, resolving deltas.
func (ps *packSet) at(p *pack, off uint64, max int64, depth int) (packObject, error) {
	if depth > 100 {
		return packObject{}, fmt.Errorf("%w: delta chain too long", errPackCorrupt)
	}
	if o, ok := ps.cachedBase(p, off); ok {
		return o, nil
	}
	h, err := p.header(off)
	if err != nil {
		return packObject{}, err
	}
	b, size := p.data[h.body:], h.size
	var baseOff uint64
	switch h.typ {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
		if size > uint64(max) {
			return packObject{}, &sizeError{size: int64(min(size, 1<<62)), max: max}
		}
		data, err := inflate(b, int(size))
		if err != nil {
			return packObject{}, err
		}
		o := packObject{typ: h.typ, data: data}
		ps.keep(p, off, o)
		return o, nil
	case plumbing.OFSDeltaObject:
		baseOff = h.base
	case plumbing.REFDeltaObject:
		bo, ok := p.offset(h.ref)
		if !ok {
			return packObject{}, fmt.Errorf("%w: delta base %s is not in the pack", errPackCorrupt, h.ref)
		}
		baseOff = bo
	default:
		return packObject{}, fmt.Errorf("%w: object type %d", errPackCorrupt, h.typ)
	}
	base, err := ps.at(p, baseOff, maxDeltaBase, depth+1)
	if err != nil {
		return packObject{}, err
	}
	defer ps.used(p, baseOff)
	if size > maxDeltaBase {
		return packObject{}, fmt.Errorf("%w: delta of %d bytes", errPackCorrupt, size)
	}
	delta, err := inflate(b, int(size))
	if err != nil {
		return packObject{}, err
	}
	ps.deltas.Add(1)
	data, err := applyDelta(base.data, delta, max)
	if err != nil {
		return packObject{}, err
	}
	o := packObject{typ: base.typ, data: data}
	ps.keep(p, off, o)
	return o, nil
}

// maxDeltaBase bounds an object that deltas are built on.
const maxDeltaBase = 256 << 20

var zlibPool sync.Pool

func inflate(b []byte, size int) ([]byte, error) {
	br := bytes.NewReader(b)
	var zr io.ReadCloser
	if r, ok := zlibPool.Get().(io.ReadCloser); ok {
		if err := r.(zlib.Resetter).Reset(br, nil); err != nil {
			return nil, err
		}
		zr = r
	} else {
		var err error
		if zr, err = zlib.NewReader(br); err != nil {
			return nil, err
		}
	}
	defer zlibPool.Put(zr)
	out := make([]byte, size)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("%w: %v", errPackCorrupt, err)
	}
	// The pack's next object follows the stream, and is not read.
	if err := zlibEnd(zr); err != nil {
		return nil, fmt.Errorf("%w: %v", errPackCorrupt, err)
	}
	return out, nil
}

// applyDelta builds an object from base and a git delta.
func applyDelta(base, delta []byte, max int64) ([]byte, error) {
	varint := func() (uint64, bool) {
		var v uint64
		for shift := 0; len(delta) > 0 && shift < 64; shift += 7 {
			c := delta[0]
			delta = delta[1:]
			v |= uint64(c&0x7f) << shift
			if c&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	srcSize, ok1 := varint()
	dstSize, ok2 := varint()
	if !ok1 || !ok2 || srcSize != uint64(len(base)) {
		return nil, fmt.Errorf("%w: delta does not fit its base", errPackCorrupt)
	}
	if dstSize > uint64(max) {
		return nil, &sizeError{size: int64(min(dstSize, 1<<62)), max: max}
	}
	out := make([]byte, 0, dstSize)
	for len(delta) > 0 {
		c := delta[0]
		delta = delta[1:]
		if c&0x80 != 0 {
			var off, n uint64
			for k := 0; k < 4; k++ {
				if c&(1<<k) != 0 {
					if len(delta) == 0 {
						return nil, errPackCorrupt
					}
					off |= uint64(delta[0]) << (8 * k)
					delta = delta[1:]
				}
			}
			for k := 0; k < 3; k++ {
				if c&(0x10<<k) != 0 {
					if len(delta) == 0 {
						return nil, errPackCorrupt
					}
					n |= uint64(delta[0]) << (8 * k)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > uint64(len(base)) || uint64(len(out))+n > dstSize {
				return nil, errPackCorrupt
			}
			out = append(out, base[off:off+n]...)
		} else if c != 0 {
			if int(c) > len(delta) || uint64(len(out))+uint64(c) > dstSize {
				return nil, errPackCorrupt
			}
			out = append(out, delta[:c]...)
			delta = delta[c:]
		} else {
			return nil, fmt.Errorf("%w: delta opcode 0", errPackCorrupt)
		}
	}
	if uint64(len(out)) != dstSize {
		return nil, fmt.Errorf("%w: delta result has the wrong size", errPackCorrupt)
	}
	return out, nil
}
