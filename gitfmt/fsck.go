package gitfmt

import (
	"strconv"
	"strings"
)

// This file is git fsck's object checks (git's fsck.c), for commits and
// trees, at the strictness of a server that checks what it receives
// (receive.fsckObjects, transfer.fsckObjects): there, git's index-pack runs
// fsck in strict mode, where its warnings are errors. Only checks of
// "info" level (badFilemode, gitignoreSymlink, ...) and the one git
// ignores (extraHeaderEntry) are left out. Each check is a pure function
// over the object's bytes; docs/format.md lists them.

// FsckID is a message id of git fsck, spelt as git prints it
// ("error in commit <id>: badTimezone: ...").
type FsckID string

// The fsck message ids these checks report: for commits, then for trees.
const (
	FsckNulInHeader             FsckID = "nulInHeader"             // a NUL byte before the end of the headers
	FsckUnterminatedHeader      FsckID = "unterminatedHeader"      // headers that do not end with a newline
	FsckMissingTree             FsckID = "missingTree"             // no "tree" line first
	FsckBadTreeSha1             FsckID = "badTreeSha1"             // a "tree" line that is not 40 hex digits and a newline
	FsckBadParentSha1           FsckID = "badParentSha1"           // a "parent" line that is not 40 hex digits and a newline
	FsckMissingAuthor           FsckID = "missingAuthor"           // no "author" line after the parents
	FsckMultipleAuthors         FsckID = "multipleAuthors"         // more than one "author" line
	FsckMissingCommitter        FsckID = "missingCommitter"        // no "committer" line after the author
	FsckMissingNameBeforeEmail  FsckID = "missingNameBeforeEmail"  // an ident that starts with '<'
	FsckMissingEmail            FsckID = "missingEmail"            // an ident without '<'
	FsckBadName                 FsckID = "badName"                 // a '>' in an ident's name
	FsckMissingSpaceBeforeEmail FsckID = "missingSpaceBeforeEmail" // no space between name and '<'
	FsckBadEmail                FsckID = "badEmail"                // an email holding '<' or a newline, or without '>'
	FsckMissingSpaceBeforeDate  FsckID = "missingSpaceBeforeDate"  // no space after '>'
	FsckBadDate                 FsckID = "badDate"                 // a date that is not digits followed by a space
	FsckZeroPaddedDate          FsckID = "zeroPaddedDate"          // a date with a leading zero
	FsckBadDateOverflow         FsckID = "badDateOverflow"         // a date of 2^63 seconds or more
	FsckBadTimezone             FsckID = "badTimezone"             // a zone that is not [+-] and four digits ending the line
	FsckNulInCommit             FsckID = "nulInCommit"             // a NUL byte anywhere in a commit (a warning git's servers refuse)

	FsckBadTree            FsckID = "badTree"            // bytes that do not parse as tree entries (an empty name included)
	FsckNullSha1           FsckID = "nullSha1"           // an entry naming the all-zero object id
	FsckFullPathname       FsckID = "fullPathname"       // a name holding '/'
	FsckHasDot             FsckID = "hasDot"             // a name "."
	FsckHasDotdot          FsckID = "hasDotdot"          // a name ".."
	FsckHasDotgit          FsckID = "hasDotgit"          // a name a file system may read as ".git" (".GIT", ".g\u200cit", "git~1", ".git. ")
	FsckZeroPaddedFilemode FsckID = "zeroPaddedFilemode" // a mode written with a leading zero
	FsckDuplicateEntries   FsckID = "duplicateEntries"   // two entries of one name (a file and a folder included)
	FsckTreeNotSorted      FsckID = "treeNotSorted"      // entries out of git's order
	FsckLargePathname      FsckID = "largePathname"      // a name longer than 4096 bytes
	FsckGitmodulesSymlink  FsckID = "gitmodulesSymlink"  // a symbolic link a file system may read as ".gitmodules"
	FsckGitmodulesBlob     FsckID = "gitmodulesBlob"     // a folder a file system may read as ".gitmodules"
	FsckGitattributesBlob  FsckID = "gitattributesBlob"  // a folder a file system may read as ".gitattributes"
)

// FsckIDs is every message id the checks report, in the order above.
var FsckIDs = []FsckID{
	FsckNulInHeader, FsckUnterminatedHeader, FsckMissingTree, FsckBadTreeSha1, FsckBadParentSha1,
	FsckMissingAuthor, FsckMultipleAuthors, FsckMissingCommitter, FsckMissingNameBeforeEmail,
	FsckMissingEmail, FsckBadName, FsckMissingSpaceBeforeEmail, FsckBadEmail, FsckMissingSpaceBeforeDate,
	FsckBadDate, FsckZeroPaddedDate, FsckBadDateOverflow, FsckBadTimezone, FsckNulInCommit,
	FsckBadTree, FsckNullSha1, FsckFullPathname, FsckHasDot, FsckHasDotdot, FsckHasDotgit,
	FsckZeroPaddedFilemode, FsckDuplicateEntries, FsckTreeNotSorted, FsckLargePathname,
	FsckGitmodulesSymlink, FsckGitmodulesBlob, FsckGitattributesBlob,
}

// FsckProblem is one thing git fsck reports about an object.
type FsckProblem struct {
	ID  FsckID
	Msg string // git's own wording
}

// FsckError is an object git fsck refuses: every problem found, in the
// order git reports them (a commit stops at its first).
type FsckError struct {
	Type     string // "commit" or "tree"
	Problems []FsckProblem
}

// Error is "fsck <id>: <message>", the problems joined by "; ".
func (e *FsckError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("fsck ")
		b.WriteString(string(p.ID))
		b.WriteString(": ")
		b.WriteString(p.Msg)
	}
	return b.String()
}

// IDs returns the message ids of the problems, in order.
func (e *FsckError) IDs() []FsckID {
	ids := make([]FsckID, len(e.Problems))
	for i, p := range e.Problems {
		ids[i] = p.ID
	}
	return ids
}

func fsckFail(typ string, id FsckID, msg string) error {
	return &FsckError{Type: typ, Problems: []FsckProblem{{id, msg}}}
}

// FsckCommit checks a commit's bytes (without the "commit <size>\0"
// header) as git fsck does: the headers end in a newline and hold no NUL;
// "tree", then any "parent" lines, each 40 hex digits; exactly one
// "author" and then one "committer" line, each "name <email> date zone"
// with a date of digits without a leading zero below 2^63 and a zone of
// [+-] and four digits; no NUL anywhere. Headers after the committer
// (encoding, gpgsig, mergetag) are not checked, as git does not.
func FsckCommit(b []byte) error {
	if err := verifyHeaders("commit", b); err != nil {
		return err
	}
	fail := func(id FsckID, msg string) error { return fsckFail("commit", id, msg) }
	buf, ok := strings.CutPrefix(string(b), "tree ")
	if !ok {
		return fail(FsckMissingTree, "invalid format - expected 'tree' line")
	}
	if !hexLine(buf) {
		return fail(FsckBadTreeSha1, "invalid 'tree' line format - bad sha1")
	}
	buf = buf[41:]
	for {
		rest, ok := strings.CutPrefix(buf, "parent ")
		if !ok {
			break
		}
		if !hexLine(rest) {
			return fail(FsckBadParentSha1, "invalid 'parent' line format - bad sha1")
		}
		buf = rest[41:]
	}
	authors := 0
	for {
		rest, ok := strings.CutPrefix(buf, "author ")
		if !ok {
			break
		}
		authors++
		var err error
		if buf, err = fsckIdent("commit", rest); err != nil {
			return err
		}
	}
	switch {
	case authors < 1:
		return fail(FsckMissingAuthor, "invalid format - expected 'author' line")
	case authors > 1:
		return fail(FsckMultipleAuthors, "invalid format - multiple 'author' lines")
	}
	rest, ok := strings.CutPrefix(buf, "committer ")
	if !ok {
		return fail(FsckMissingCommitter, "invalid format - expected 'committer' line")
	}
	if _, err := fsckIdent("commit", rest); err != nil {
		return err
	}
	if strings.IndexByte(string(b), 0) >= 0 {
		return fail(FsckNulInCommit, "NUL byte in the commit object body")
	}
	return nil
}

// verifyHeaders is git's verify_headers: no NUL before the blank line that
// ends the headers, and, without one, a newline at the very end.
func verifyHeaders(typ string, b []byte) error {
	for i, c := range b {
		switch c {
		case 0:
			return fsckFail(typ, FsckNulInHeader, "unterminated header: NUL at offset "+strconv.Itoa(i))
		case '\n':
			if i+1 < len(b) && b[i+1] == '\n' {
				return nil
			}
		}
	}
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return nil
	}
	return fsckFail(typ, FsckUnterminatedHeader, "unterminated header")
}

// hexLine reports whether s starts with 40 hex digits (either case, as
// git's get_oid_hex reads them) and a newline.
func hexLine(s string) bool {
	if len(s) < 41 || s[40] != '\n' {
		return false
	}
	for i := 0; i < 40; i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// fsckIdent checks "name <email> date zone\n" at the start of s, as git's
// fsck_ident, and returns what follows its line.
func fsckIdent(typ, s string) (string, error) {
	fail := func(id FsckID, msg string) (string, error) {
		return "", fsckFail(typ, id, "invalid author/committer line - "+msg)
	}
	line, next := s, ""
	if nl := strings.IndexByte(s, '\n'); nl >= 0 {
		line, next = s[:nl+1], s[nl+1:]
	}
	// at reads byte i of the line, 0 past its end (git reads the
	// terminating newline, and stops at it).
	at := func(i int) byte {
		if i < len(line) {
			return line[i]
		}
		return 0
	}
	p := 0
	if at(p) == '<' {
		return fail(FsckMissingNameBeforeEmail, "missing space before email")
	}
	for ; ; p++ {
		c := at(p)
		if p >= len(line) || c == '\n' {
			return fail(FsckMissingEmail, "missing email")
		}
		if c == '>' {
			return fail(FsckBadName, "bad name")
		}
		if c == '<' {
			break
		}
	}
	if at(p-1) != ' ' {
		return fail(FsckMissingSpaceBeforeEmail, "missing space before email")
	}
	for p++; ; p++ {
		c := at(p)
		if p >= len(line) || c == '<' || c == '\n' {
			return fail(FsckBadEmail, "bad email")
		}
		if c == '>' {
			break
		}
	}
	p++
	if at(p) != ' ' {
		return fail(FsckMissingSpaceBeforeDate, "missing space before date")
	}
	p++
	for at(p) == ' ' || at(p) == '\t' {
		p++
	}
	if !isDigit(at(p)) {
		return fail(FsckBadDate, "bad date")
	}
	if at(p) == '0' && at(p+1) != ' ' {
		return fail(FsckZeroPaddedDate, "zero-padded date")
	}
	start := p
	for isDigit(at(p)) {
		p++
	}
	// git reads at most 23 digits, and time_t is signed: a date from
	// 2^63 on overflows.
	if n, err := strconv.ParseUint(line[start:p], 10, 64); p-start > 23 || err != nil || n >= 1<<63 {
		return fail(FsckBadDateOverflow, "date causes integer overflow")
	}
	if at(p) != ' ' {
		return fail(FsckBadDate, "bad date")
	}
	p++
	if c := at(p); c != '+' && c != '-' || !isDigit(at(p+1)) || !isDigit(at(p+2)) || !isDigit(at(p+3)) || !isDigit(at(p+4)) || at(p+5) != '\n' {
		return fail(FsckBadTimezone, "bad time zone")
	}
	return next, nil
}

// Tree modes as git's S_IS* macros read them.
const (
	modeType    = 0o170000
	modeDir     = 0o040000
	modeSymlink = 0o120000
)

// maxTreeName is git's fsck.largePathname default: the longest entry name.
const maxTreeName = 4096

// treeEntry is one entry as git's tree walker decodes it.
type treeEntry struct {
	rawMode string // the mode as written
	mode    uint16 // as git reads it: octal, kept to 16 bits
	name    string
	hash    string // 20 bytes
}

// decodeTreeEntry is git's decode_tree_entry over the rest of a tree,
// which it requires to end in a NUL and 20 bytes.
func decodeTreeEntry(b string) (e treeEntry, n int, ok bool) {
	if len(b) < 20+3 || b[len(b)-21] != 0 || b[0] == ' ' {
		return e, 0, false
	}
	var mode uint32
	i := 0
	for ; b[i] != ' '; i++ {
		c := b[i]
		if c < '0' || c > '7' {
			return e, 0, false
		}
		mode = mode<<3 + uint32(c-'0')
	}
	nul := strings.IndexByte(b[i+1:], 0) // there is one: b[len(b)-21]
	if nul == 0 {
		return e, 0, false // an empty name
	}
	name := b[i+1 : i+1+nul]
	end := i + 1 + nul + 1 + 20
	return treeEntry{rawMode: b[:i], mode: uint16(mode), name: name, hash: b[end-20 : end]}, end, true
}

// FsckTree checks a tree's bytes as git fsck does: entries that parse
// (an octal mode, a non-empty name, a 20-byte id), in git's order with no
// name twice (a file and a folder of one name included), and each entry
// as FsckTreeEntry checks it. Like git, it reports every kind of problem
// it finds.
func FsckTree(b []byte) error {
	raw := string(b)
	var found map[FsckID]bool
	var inline []FsckProblem
	flag := func(id FsckID) {
		if found == nil {
			found = map[FsckID]bool{}
		}
		found[id] = true
	}
	if len(raw) == 0 {
		return nil
	}
	e, n, ok := decodeTreeEntry(raw)
	if !ok {
		return fsckFail("tree", FsckBadTree, "cannot be parsed as a tree")
	}
	var prev treeEntry
	var candidates []string // files that a later folder of the same name would duplicate
	for pos := 0; ; {
		entryProblems(e, flag, func(p FsckProblem) { inline = append(inline, p) })
		pos += n
		var next treeEntry
		if pos < len(raw) {
			// git decodes the next entry before it checks this one's order.
			if next, n, ok = decodeTreeEntry(raw[pos:]); !ok {
				inline = append(inline, FsckProblem{FsckBadTree, "cannot be parsed as a tree"})
				break
			}
		}
		if prev.name != "" {
			switch verifyOrdered(prev, e, &candidates) {
			case treeUnordered:
				flag(FsckTreeNotSorted)
			case treeHasDups:
				flag(FsckDuplicateEntries)
			}
		}
		if pos >= len(raw) {
			break
		}
		prev, e = e, next
	}
	probs := inline
	for _, r := range []FsckProblem{
		{FsckNullSha1, "contains entries pointing to null sha1"},
		{FsckFullPathname, "contains full pathnames"},
		{FsckHasDot, "contains '.'"},
		{FsckHasDotdot, "contains '..'"},
		{FsckHasDotgit, "contains '.git'"},
		{FsckZeroPaddedFilemode, "contains zero-padded file modes"},
		{FsckDuplicateEntries, "contains duplicate file entries"},
		{FsckTreeNotSorted, "not properly sorted"},
		{FsckLargePathname, "contains excessively large pathname"},
	} {
		if found[r.ID] {
			probs = append(probs, r)
		}
	}
	if len(probs) == 0 {
		return nil
	}
	return &FsckError{Type: "tree", Problems: probs}
}

// FsckTreeEntry checks one tree entry, given its mode as written, its
// name and its 20-byte id, as git fsck checks each entry: no zero-padded
// mode, no all-zero id, no name holding '/', no ".", "..", or any name a
// file system may take for ".git", no longer than 4096 bytes, and no
// symbolic link or folder that a file system may take for ".gitmodules"
// (or a folder for ".gitattributes"). The order of entries is
// FsckTreeOrder's.
func FsckTreeEntry(mode, name, hash string) error {
	if name == "" {
		return fsckFail("tree", FsckBadTree, "empty filename in tree entry")
	}
	var m uint32
	for i := 0; i < len(mode); i++ {
		m = m<<3 + uint32(mode[i]-'0')
	}
	var probs []FsckProblem
	entryProblems(treeEntry{rawMode: mode, mode: uint16(m), name: name, hash: hash},
		func(id FsckID) {
			for _, p := range probs {
				if p.ID == id {
					return
				}
			}
			probs = append(probs, FsckProblem{id, entryMessages[id]})
		},
		func(p FsckProblem) { probs = append(probs, p) })
	if len(probs) == 0 {
		return nil
	}
	return &FsckError{Type: "tree", Problems: probs}
}

var entryMessages = map[FsckID]string{
	FsckNullSha1:           "contains entries pointing to null sha1",
	FsckFullPathname:       "contains full pathnames",
	FsckHasDot:             "contains '.'",
	FsckHasDotdot:          "contains '..'",
	FsckHasDotgit:          "contains '.git'",
	FsckZeroPaddedFilemode: "contains zero-padded file modes",
	FsckLargePathname:      "contains excessively large pathname",
}

// entryProblems finds the problems of one entry: flag for those git sums
// over the tree, report for those it reports at once.
func entryProblems(e treeEntry, flag func(FsckID), report func(FsckProblem)) {
	name := e.name
	if name == "" {
		return // decodeTreeEntry refuses it: badTree
	}
	if e.hash == "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" {
		flag(FsckNullSha1)
	}
	if strings.IndexByte(name, '/') >= 0 {
		flag(FsckFullPathname)
	}
	switch name {
	case ".":
		flag(FsckHasDot)
	case "..":
		flag(FsckHasDotdot)
	}
	if len(e.rawMode) > 0 && e.rawMode[0] == '0' {
		flag(FsckZeroPaddedFilemode)
	}
	if len(name) > maxTreeName {
		flag(FsckLargePathname)
	}
	// The names a file system may read as .git and friends begin with
	// '.' or 'g' (NTFS short names), or hold a backslash (a separator on
	// Windows); every other name is none of them.
	if c := name[0]; c != '.' && c != 'g' && c != 'G' && c < 0x80 && strings.IndexByte(name, '\\') < 0 {
		return
	}
	link, dir := e.mode&modeType == modeSymlink, e.mode&modeType == modeDir
	if isHFSDot(name, "git") || isNTFSDotGit(name) {
		flag(FsckHasDotgit)
	}
	gitmodules := func(n string, hfs bool) {
		if !(hfs && isHFSDot(n, "gitmodules")) && !isNTFSDot(n, "gitmodules", "gi7eba") {
			return
		}
		switch {
		case link:
			report(FsckProblem{FsckGitmodulesSymlink, ".gitmodules is a symbolic link"})
		case dir:
			report(FsckProblem{FsckGitmodulesBlob, "non-blob found at .gitmodules"})
		}
	}
	gitmodules(name, true)
	if dir && (isHFSDot(name, "gitattributes") || isNTFSDot(name, "gitattributes", "gi7d29")) {
		report(FsckProblem{FsckGitattributesBlob, "non-blob found at .gitattributes"})
	}
	for rest := name; ; {
		i := strings.IndexByte(rest, '\\')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		if isNTFSDotGit(rest) {
			flag(FsckHasDotgit)
		}
		gitmodules(rest, false)
	}
}

// FsckTreeOrder checks two consecutive tree entries, given their modes (as
// numbers) and names: the second sorts after the first in git's order,
// where a folder's name sorts as if it ended in '/', and their names
// differ. A file and a folder of one name need not be consecutive (a file
// "a.b" sorts between file "a" and folder "a"): FsckTree finds those, and
// a caller checking entries one pair at a time must look for them itself.
func FsckTreeOrder(mode1 uint32, name1 string, mode2 uint32, name2 string) error {
	var none []string
	switch verifyOrdered(treeEntry{mode: uint16(mode1), name: name1}, treeEntry{mode: uint16(mode2), name: name2}, &none) {
	case treeUnordered:
		return fsckFail("tree", FsckTreeNotSorted, "not properly sorted")
	case treeHasDups:
		return fsckFail("tree", FsckDuplicateEntries, "contains duplicate file entries")
	}
	return nil
}

const (
	treeOrdered = iota
	treeUnordered
	treeHasDups
)

func isLessThanSlash(c byte) bool { return 0 < c && c < '/' }

// verifyOrdered is git's verify_ordered: whether b may follow a, keeping
// in candidates the files a later folder of the same name would duplicate.
func verifyOrdered(a, b treeEntry, candidates *[]string) int {
	n := min(len(a.name), len(b.name))
	if c := strings.Compare(a.name[:n], b.name[:n]); c < 0 {
		return treeOrdered
	} else if c > 0 {
		return treeUnordered
	}
	var c1, c2 byte
	if n < len(a.name) {
		c1 = a.name[n]
	}
	if n < len(b.name) {
		c2 = b.name[n]
	}
	if c1 == 0 && c2 == 0 {
		return treeHasDups
	}
	if c1 == 0 && a.mode&modeType == modeDir {
		c1 = '/'
	}
	if c2 == 0 && b.mode&modeType == modeDir {
		c2 = '/'
	}
	if c1 == 0 && isLessThanSlash(c2) {
		*candidates = append(*candidates, a.name)
	} else if c2 == '/' && isLessThanSlash(c1) {
		for len(*candidates) > 0 {
			f := (*candidates)[len(*candidates)-1]
			*candidates = (*candidates)[:len(*candidates)-1]
			rest, ok := strings.CutPrefix(b.name, f)
			if !ok {
				continue
			}
			if rest == "" {
				return treeHasDups
			}
			if isLessThanSlash(rest[0]) {
				*candidates = append(*candidates, f)
				break
			}
		}
	}
	if c1 < c2 {
		return treeOrdered
	}
	return treeUnordered
}

// nextUTF8 is git's pick_one_utf8_char: the code point at the start of s
// and its length, or ok false for bytes that are not UTF-8 (overlong
// forms, surrogates, U+FFFE, U+FFFF and beyond U+10FFFF included). The
// end of s reads as a NUL.
func nextUTF8(s string) (r rune, n int, ok bool) {
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	c0 := at(0)
	switch {
	case c0 < 0x80:
		return rune(c0), 1, true
	case c0&0xe0 == 0xc0:
		c1 := at(1)
		if c1&0xc0 != 0x80 || c0&0xfe == 0xc0 {
			return 0, 0, false
		}
		return rune(c0&0x1f)<<6 | rune(c1&0x3f), 2, true
	case c0&0xf0 == 0xe0:
		c1, c2 := at(1), at(2)
		if c1&0xc0 != 0x80 || c2&0xc0 != 0x80 ||
			c0 == 0xe0 && c1&0xe0 == 0x80 || // overlong
			c0 == 0xed && c1&0xe0 == 0xa0 || // a surrogate
			c0 == 0xef && c1 == 0xbf && c2&0xfe == 0xbe { // U+FFFE, U+FFFF
			return 0, 0, false
		}
		return rune(c0&0x0f)<<12 | rune(c1&0x3f)<<6 | rune(c2&0x3f), 3, true
	case c0&0xf8 == 0xf0:
		c1, c2, c3 := at(1), at(2), at(3)
		if c1&0xc0 != 0x80 || c2&0xc0 != 0x80 || c3&0xc0 != 0x80 ||
			c0 == 0xf0 && c1&0xf0 == 0x80 || // overlong
			c0 == 0xf4 && c1 > 0x8f || c0 > 0xf4 { // beyond U+10FFFF
			return 0, 0, false
		}
		return rune(c0&0x07)<<18 | rune(c1&0x3f)<<12 | rune(c2&0x3f)<<6 | rune(c3&0x3f), 4, true
	}
	return 0, 0, false
}

// nextHFS is git's next_hfs_char: the next code point HFS+ does not
// ignore, 0 at the end or at bytes that are not UTF-8.
func nextHFS(s string) (rune, string) {
	for {
		r, n, ok := nextUTF8(s)
		if !ok {
			return 0, ""
		}
		if n > len(s) {
			n = len(s)
		}
		s = s[n:]
		switch r {
		case 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
			0x206a, 0x206b, 0x206c, 0x206d, 0x206e, 0x206f, 0xfeff:
			continue
		}
		return r, s
	}
}

// isHFSDot is git's is_hfs_dot_generic: whether HFS+ reads name as "." and
// needle, ignoring case and the code points it ignores.
func isHFSDot(name, needle string) bool {
	c, s := nextHFS(name)
	if c != '.' {
		return false
	}
	for i := 0; i < len(needle); i++ {
		c, s = nextHFS(s)
		if c > 127 || lower(byte(c)) != needle[i] {
			return false
		}
	}
	c, _ = nextHFS(s)
	return c == 0 || c == '/'
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isNTFSDotGit is git's is_ntfs_dotgit: ".git" or its short name "git~1",
// in any case, followed only by dots and spaces up to the end of the name,
// a separator or a ':'.
func isNTFSDotGit(name string) bool {
	at := func(i int) byte {
		if i < len(name) {
			return name[i]
		}
		return 0
	}
	var i int
	switch lower(at(0)) {
	case '.':
		if lower(at(1)) != 'g' || lower(at(2)) != 'i' || lower(at(3)) != 't' {
			return false
		}
		i = 4
	case 'g':
		if lower(at(1)) != 'i' || lower(at(2)) != 't' || at(3) != '~' || at(4) != '1' {
			return false
		}
		i = 5
	default:
		return false
	}
	for ; ; i++ {
		switch c := at(i); c {
		case 0, '/', '\\', ':':
			return true
		case '.', ' ':
		default:
			return false
		}
	}
}

// isNTFSDot is git's is_ntfs_dot_generic: whether NTFS may read name as
// "." and dotName (gitmodules, gitattributes), directly or through a short
// name: the first six letters of dotName and ~1 to ~4, or shortPrefix's
// letters, a tilde and digits (8 characters in all).
func isNTFSDot(name, dotName, shortPrefix string) bool {
	at := func(i int) byte {
		if i < len(name) {
			return name[i]
		}
		return 0
	}
	tail := func(i int) bool { // only spaces and dots up to the end or a ':'
		for ; ; i++ {
			switch at(i) {
			case 0, ':':
				return true
			case ' ', '.':
			default:
				return false
			}
		}
	}
	if at(0) == '.' && equalFoldN(name[1:], dotName, len(dotName)) {
		return tail(len(dotName) + 1)
	}
	if equalFoldN(name, dotName, 6) && at(6) == '~' && at(7) >= '1' && at(7) <= '4' {
		return tail(8)
	}
	sawTilde := false
	for i := 0; i < 8; i++ {
		c := at(i)
		switch {
		case c == 0:
			return false
		case sawTilde:
			if c < '0' || c > '9' {
				return false
			}
		case c == '~':
			i++
			if at(i) < '1' || at(i) > '9' {
				return false
			}
			sawTilde = true
		case i >= 6, c&0x80 != 0, lower(c) != shortPrefix[i]:
			return false
		}
	}
	return tail(8)
}

// equalFoldN is strncasecmp(a, b, n) == 0 for an ASCII b of at least n
// bytes: a shorter a differs (its end reads as a NUL).
func equalFoldN(a, b string, n int) bool {
	if len(a) < n {
		return false
	}
	for i := 0; i < n; i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
