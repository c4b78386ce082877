package gitfmt

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
)

// Pack indexes and packs as git writes them (gitformat-pack(5)).

// ErrIdxVersion reports a pack index git no longer writes (version 1) or
// one of a version this package does not know.
var ErrIdxVersion = errors.New("unsupported pack index version")

const (
	idxHeader = 8       // magic, version
	fanout    = 256 * 4 // 256 cumulative counts
	idxFixed  = idxHeader + fanout
	idxTail   = 2 * 20 // the pack's checksum, then the index's own
	hashLen   = 20
	largeBit  = 0x80000000
)

var idxMagic = []byte{0xff, 't', 'O', 'c'}

// Idx is a checked version 2 pack index: a sorted table of object names
// with their offsets in the pack.
type Idx struct {
	b     []byte
	n     int // objects
	large int // entries in the table of 64-bit offsets
}

// ParseIdx checks a version 2 pack index whole: its size, fan-out (non
// decreasing, ending at the object count), names (strictly increasing,
// each in its fan-out bucket), offsets (each 31-bit one, or an index into
// the table of 64-bit offsets that exists) and its own SHA-1 checksum. An
// index that passes cannot make a lookup read out of range. The index
// keeps b; offsets are checked against the pack by CheckPack.
func ParseIdx(b []byte) (*Idx, error) {
	if len(b) < 4 || !bytes.Equal(b[:4], idxMagic) {
		// A version 1 index starts with its fan-out table.
		return nil, fmt.Errorf("%w: version 1 (rewrite it with git index-pack --index-version=2, or git repack -a)", ErrIdxVersion)
	}
	if len(b) < idxFixed+idxTail {
		return nil, fmt.Errorf("pack index: truncated at %d bytes", len(b))
	}
	if v := binary.BigEndian.Uint32(b[4:]); v != 2 {
		return nil, fmt.Errorf("%w: version %d", ErrIdxVersion, v)
	}
	var prev uint32
	for i := 0; i < 256; i++ {
		c := binary.BigEndian.Uint32(b[idxHeader+4*i:])
		if c < prev {
			return nil, fmt.Errorf("pack index: fan-out entry %d (%d) is below the one before it (%d)", i, c, prev)
		}
		prev = c
	}
	n := uint64(prev)
	// names, CRC-32s and 31-bit offsets, then 64-bit offsets.
	body := uint64(len(b)) - idxFixed - idxTail
	if n*28 > body || (body-n*28)%8 != 0 {
		return nil, fmt.Errorf("pack index: %d bytes do not hold %d objects", len(b), n)
	}
	x := &Idx{b: b, n: int(n), large: int((body - n*28) / 8)}
	sum := sha1.Sum(b[:len(b)-20])
	if !bytes.Equal(sum[:], b[len(b)-20:]) {
		return nil, errors.New("pack index: checksum mismatch")
	}
	names := b[idxFixed : idxFixed+x.n*hashLen]
	for i := 1; i < x.n; i++ {
		if bytes.Compare(names[(i-1)*hashLen:i*hashLen], names[i*hashLen:(i+1)*hashLen]) >= 0 {
			return nil, fmt.Errorf("pack index: object %d is out of order", i)
		}
	}
	bucket := 0
	for i := 0; i < x.n; i++ {
		name := names[i*hashLen : i*hashLen+hashLen]
		for bucket < 256 && x.fan(bucket) <= i {
			bucket++
		}
		if bucket != int(name[0]) {
			return nil, fmt.Errorf("pack index: object %d is outside its fan-out bucket", i)
		}
	}
	used := make([]bool, x.large)
	for i := 0; i < x.n; i++ {
		o := x.small(i)
		if o&largeBit == 0 {
			continue
		}
		k := int(o &^ largeBit)
		if k >= x.large || used[k] {
			return nil, fmt.Errorf("pack index: object %d has a bad 64-bit offset entry %d", i, k)
		}
		used[k] = true
	}
	return x, nil
}

func (x *Idx) fan(i int) int { return int(binary.BigEndian.Uint32(x.b[idxHeader+4*i:])) }

func (x *Idx) small(i int) uint32 {
	return binary.BigEndian.Uint32(x.b[idxFixed+x.n*24+i*4:])
}

// Len is the number of objects in the index.
func (x *Idx) Len() int { return x.n }

// Name is the object name at position i of the index.
func (x *Idx) Name(i int) plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], x.b[idxFixed+i*hashLen:])
	return h
}

// Offset is the pack offset of the object at position i.
func (x *Idx) Offset(i int) uint64 {
	o := x.small(i)
	if o&largeBit == 0 {
		return uint64(o)
	}
	return binary.BigEndian.Uint64(x.b[idxFixed+x.n*28+int(o&^largeBit)*8:])
}

// Find returns the position of h in the index.
func (x *Idx) Find(h plumbing.Hash) (int, bool) {
	lo, hi := 0, x.fan(int(h[0]))
	if h[0] > 0 {
		lo = x.fan(int(h[0]) - 1)
	}
	names := x.b[idxFixed:]
	i := lo + sort.Search(hi-lo, func(k int) bool {
		return bytes.Compare(names[(lo+k)*hashLen:(lo+k+1)*hashLen], h[:]) >= 0
	})
	if i >= hi || !bytes.Equal(names[i*hashLen:(i+1)*hashLen], h[:]) {
		return 0, false
	}
	return i, true
}

// Search returns the position of the first name in the index that is not
// below from (Len when there is none): names with a prefix follow it.
func (x *Idx) Search(from plumbing.Hash) int {
	names := x.b[idxFixed:]
	return sort.Search(x.n, func(k int) bool { return bytes.Compare(names[k*hashLen:(k+1)*hashLen], from[:]) >= 0 })
}

// PackChecksum is the checksum of the pack the index was made for.
func (x *Idx) PackChecksum() []byte { return x.b[len(x.b)-idxTail : len(x.b)-20] }

// CheckPack checks the index against its pack: the pack's header (its
// signature, version 2 or 3 and object count) and its trailing checksum,
// as the index records it, and that every object's offset lies inside the
// pack, after its header and before its checksum. The pack's content
// itself is not hashed here (git does not either when it opens a pack).
func (x *Idx) CheckPack(header, trailer []byte, size uint64) error {
	_, count, err := PackHeader(header)
	if err != nil {
		return err
	}
	if int(count) != x.n {
		return fmt.Errorf("pack holds %d objects, its index %d", count, x.n)
	}
	if !bytes.Equal(trailer, x.PackChecksum()) {
		return errors.New("pack checksum does not match its index")
	}
	for i := 0; i < x.n; i++ {
		if o := x.Offset(i); o < packHeaderLen || o >= size-20 {
			return fmt.Errorf("pack index: object %s at offset %d, outside the pack of %d bytes", x.Name(i), o, size)
		}
	}
	return nil
}

const packHeaderLen = 12

// PackHeader checks a pack's first 12 bytes and returns its version and
// object count.
func PackHeader(b []byte) (version, count uint32, err error) {
	if len(b) < packHeaderLen || string(b[:4]) != "PACK" {
		return 0, 0, errors.New("not a pack")
	}
	version = binary.BigEndian.Uint32(b[4:])
	if version != 2 && version != 3 {
		return 0, 0, fmt.Errorf("pack version %d", version)
	}
	return version, binary.BigEndian.Uint32(b[8:]), nil
}

// Object types as a pack stores them.
const (
	OFSDelta = plumbing.OFSDeltaObject
	REFDelta = plumbing.REFDeltaObject
)

// ObjectHeader is the header of an object in a pack.
type ObjectHeader struct {
	Type plumbing.ObjectType // commit, tree, blob, tag, or one of the deltas
	Size uint64              // of the object, or of a delta's instructions
	Body uint64              // the pack offset where its zlib stream starts
	Base uint64              // an OFSDelta's base's offset
	Ref  plumbing.Hash       // a REFDelta's base's name
}

// MaxObjectHeader bounds the bytes of an object's header in a pack, with
// its base: a size of up to 64 bits, an offset of up to 64 bits, or a name.
const MaxObjectHeader = 32

// ParseObjectHeader parses the header of the object at pack offset off,
// from b, the pack's bytes starting there (MaxObjectHeader of them
// suffice).
func ParseObjectHeader(b []byte, off uint64) (ObjectHeader, error) {
	bad := func(what string) (ObjectHeader, error) {
		return ObjectHeader{}, fmt.Errorf("object header at offset %d: %s", off, what)
	}
	if len(b) == 0 {
		return bad("truncated")
	}
	c := b[0]
	h := ObjectHeader{Type: plumbing.ObjectType((c >> 4) & 7), Size: uint64(c & 15)}
	i, shift := 1, 4
	for c&0x80 != 0 {
		if i >= len(b) || shift > 60 {
			return bad("bad size")
		}
		c = b[i]
		if shift == 60 && c&0x7f > 15 {
			return bad("bad size")
		}
		h.Size |= uint64(c&0x7f) << shift
		shift += 7
		i++
	}
	switch h.Type {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	case OFSDelta:
		if i >= len(b) {
			return bad("truncated base offset")
		}
		c = b[i]
		i++
		rel := uint64(c & 0x7f)
		for c&0x80 != 0 {
			if i >= len(b) || rel >= 1<<56 {
				return bad("bad base offset")
			}
			c = b[i]
			i++
			rel = ((rel + 1) << 7) | uint64(c&0x7f)
		}
		if rel == 0 || rel > off {
			return bad(fmt.Sprintf("base offset %d back, outside the pack", rel))
		}
		h.Base = off - rel
	case REFDelta:
		if i+hashLen > len(b) {
			return bad("truncated base name")
		}
		copy(h.Ref[:], b[i:i+hashLen])
		i += hashLen
	default:
		return bad(fmt.Sprintf("object type %d", h.Type))
	}
	h.Body = off + uint64(i)
	return h, nil
}
