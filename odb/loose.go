package odb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hive-dev/hive/gitfmt"
)

var (
	errNotExist   = fs.ErrNotExist
	errNotRegular = errors.New("not a regular file")
	errClosed     = errors.New("the object database is closed")
)

// fileBuffers holds the buffers loose objects are read whole into.
var fileBuffers = sync.Pool{New: func() any { return new([]byte) }}

// loosePath is where object h lives as a loose file in objects folder dir.
func loosePath(dir string, h plumbing.Hash) string {
	hex := h.String()
	return dir + "/" + hex[:2] + "/" + hex[2:]
}

// readLoose reads the loose object h of objects folder dir whole with one
// read, into a pooled buffer. A stream of stored deflate blocks (how hive
// writes trees and small blobs) is unwrapped in place, without an inflate,
// and returned in that buffer, pb; any other is inflated from it into
// memory of its own (pb nil). A file larger than an object of max bytes
// could be compressed to is read as a stream instead, so that its header
// refuses it before anything else is read. found is false when there is
// no such file.
func readLoose(dir string, t plumbing.ObjectType, h plumbing.Hash, max, uncheckedAbove int64) (b []byte, pb *[]byte, found bool, err error) {
	path := loosePath(dir, h)
	f, err := openRegular(path)
	if errors.Is(err, errNotExist) {
		return nil, nil, false, nil // packed, or missing
	}
	if err != nil {
		if ce, ok := err.(*CorruptError); ok {
			ce.Object = h
			return nil, nil, true, ce
		}
		return nil, nil, true, fmt.Errorf("object %s: %w", h, err)
	}
	defer f.Close()
	b, pb, err = readLooseFile(f, t, h, max, uncheckedAbove)
	if err != nil {
		var se *SizeError
		var te *TypeError
		if !errors.As(err, &se) && !errors.As(err, &te) {
			err = &CorruptError{Object: h, Path: path, Err: err}
		}
	}
	return b, pb, true, err
}

// readLooseFile is readLoose once the file is open.
func readLooseFile(f objectFile, t plumbing.ObjectType, h plumbing.Hash, max, uncheckedAbove int64) ([]byte, *[]byte, error) {
	n := f.size
	if n > max+max/1024+1024 {
		// Larger than zlib makes any object of max bytes: stream it, so
		// that its header is read (and refused) first.
		return inflateLoose(bufio.NewReaderSize(f, 32<<10), t, h, max)
	}
	// The file's bytes go to a reused buffer: on this kind of machine a
	// fresh one costs more in page faults than reading the file.
	pb := fileBuffers.Get().(*[]byte)
	if int64(cap(*pb)) < n {
		*pb = make([]byte, n)
	}
	buf := (*pb)[:n]
	if _, err := io.ReadFull(f, buf); err != nil {
		fileBuffers.Put(pb)
		return nil, nil, err
	}
	raw, ok, err := gitfmt.StoredZlib(buf, uncheckedAbove)
	if ok || err != nil {
		var body []byte
		if err == nil {
			body, err = looseBody(t, h, raw, max)
		}
		if err != nil {
			fileBuffers.Put(pb)
			return nil, nil, err
		}
		return body, pb, nil
	}
	defer fileBuffers.Put(pb)
	br := bytes.NewReader(buf)
	b, _, err := inflateLoose(br, t, h, max)
	if err == nil && br.Len() > 0 {
		err = fmt.Errorf("%d bytes after the zlib stream", br.Len())
	}
	return b, nil, err
}

// looseBody checks a whole inflated loose object's header against the
// type wanted and the size limit, and returns its body.
func looseBody(t plumbing.ObjectType, h plumbing.Hash, raw []byte, max int64) ([]byte, error) {
	typ, body, err := gitfmt.SplitLoose(raw)
	if err != nil {
		return nil, err
	}
	if typ != t {
		return nil, &TypeError{Object: h, Got: typ, Want: t}
	}
	if int64(len(body)) > max {
		return nil, &SizeError{Object: h, Size: int64(len(body)), Max: max}
	}
	return body, nil
}

// byteReader is a reader that zlib reads byte by byte, leaving what
// follows the stream unread.
type byteReader interface {
	io.Reader
	io.ByteReader
}

// inflateLoose inflates a loose object's zlib stream from src: the header
// first, checked against the type and limit, then the body, then the
// stream's end (where zlib checks its Adler-32). A bufio.Reader source
// must then be empty: bytes after the stream are refused, as git does.
func inflateLoose(src byteReader, t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, *[]byte, error) {
	z, err := gitfmt.NewInflater(src)
	if err != nil {
		return nil, nil, err
	}
	defer z.Close()
	// The header ("blob 1234\x00") in one small read, then the body.
	var hdr [gitfmt.MaxLooseHeader]byte
	n, nul := 0, -1
	for nul < 0 {
		if n == len(hdr) {
			return nil, nil, fmt.Errorf("%w: no end in its first %d bytes", gitfmt.ErrLooseHeader, len(hdr))
		}
		m, err := z.Read(hdr[n:])
		if m == 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, fmt.Errorf("%w: %v", gitfmt.ErrZlib, err)
		}
		if i := bytes.IndexByte(hdr[n:n+m], 0); i >= 0 {
			nul = n + i
		}
		n += m
	}
	typ, size, err := gitfmt.ParseLooseHeader(hdr[:nul])
	if err != nil {
		return nil, nil, err
	}
	if typ != t {
		return nil, nil, &TypeError{Object: h, Got: typ, Want: t}
	}
	if size > max {
		return nil, nil, &SizeError{Object: h, Size: size, Max: max}
	}
	if int64(n-nul-1) > size {
		return nil, nil, fmt.Errorf("%w: longer than its header says", gitfmt.ErrZlib)
	}
	b := make([]byte, size)
	got := copy(b, hdr[nul+1:n])
	if err := z.ReadFull(b[got:]); err != nil {
		return nil, nil, err
	}
	if err := z.End(); err != nil {
		return nil, nil, err
	}
	if br, ok := src.(*bufio.Reader); ok {
		if _, err := br.Peek(1); err != io.EOF {
			return nil, nil, errors.New("bytes after the zlib stream")
		}
	}
	return b, nil, nil
}
