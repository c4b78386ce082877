package gitfmt

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Objects the test objects point to: the empty blob and the empty tree.
const (
	emptyBlob = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
	emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
)

func commitOf(header string) []byte { return []byte(header + "\nmessage\n") }

// ident is a valid author or committer.
const ident = "A U Thor <a@example.com> 1700000000 +0000"

// commit is a valid commit with the author line replaced.
func withAuthor(author string) []byte {
	return commitOf("tree " + emptyTree + "\nauthor " + author + "\ncommitter " + ident + "\n")
}

// entry is one raw tree entry.
func entry(mode, name, id string) string {
	b, err := hex.DecodeString(id)
	if err != nil {
		panic(err)
	}
	return mode + " " + name + "\x00" + string(b)
}

func treeOf(entries ...string) []byte { return []byte(strings.Join(entries, "")) }

var null = strings.Repeat("0", 40)

// baseCommit is a valid commit the test commits may name as a parent.
var baseCommit = []byte("tree " + emptyTree + "\nauthor " + ident + "\ncommitter " + ident + "\n\nbase\n")

func objectID(typ string, body []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", typ, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// support is what every test repository and pack holds besides the
// object under test.
var support = []packObject{{"blob", nil}, {"tree", nil}, {"commit", baseCommit}}

// fsckCase is an object and the fsck message ids git reports for it, at the
// strictness of a server with receive.fsckObjects. since names the first
// git version that reports them, when it is newer than git 2.39.
type fsckCase struct {
	name  string
	typ   string
	body  []byte
	want  []FsckID
	since string
}

var fsckCases = []fsckCase{
	// Commits.
	{name: "valid commit", typ: "commit", body: withAuthor(ident)},
	{name: "parents", typ: "commit", body: commitOf("tree " + emptyTree + "\nparent " + objectID("commit", baseCommit) + "\nparent " + strings.ToUpper(objectID("commit", baseCommit)) + "\nauthor " + ident + "\ncommitter " + ident + "\n")},
	{name: "upper-case hex", typ: "commit", body: commitOf("tree " + strings.ToUpper(emptyTree) + "\nauthor " + ident + "\ncommitter " + ident + "\n")},
	{name: "extra headers", typ: "commit", body: commitOf("tree " + emptyTree + "\nauthor " + ident + "\ncommitter " + ident + "\nencoding latin1\ngpgsig -----BEGIN-----\n x\n -----END-----\n")},
	{name: "no message", typ: "commit", body: []byte("tree " + emptyTree + "\nauthor " + ident + "\ncommitter " + ident + "\n")},
	{name: "date zero", typ: "commit", body: withAuthor("A <a@b> 0 +0000")},
	{name: "largest date", typ: "commit", body: withAuthor("A <a@b> 9223372036854775807 +0000")},
	{name: "blanks before the date", typ: "commit", body: withAuthor("A <a@b>  \t1700000000 -0130")},
	{name: "empty name and email", typ: "commit", body: withAuthor(" <> 1 +0000")},
	{name: "NUL in the author", typ: "commit", body: withAuthor("A\x00U <a@b> 1 +0000"), want: []FsckID{FsckNulInHeader}},
	{name: "NUL in the tree line", typ: "commit", body: commitOf("tree " + emptyTree + "\x00\nauthor " + ident + "\ncommitter " + ident + "\n"), want: []FsckID{FsckNulInHeader}},
	{name: "NUL in the message", typ: "commit", body: commitOf("tree " + emptyTree + "\nauthor " + ident + "\ncommitter " + ident + "\n\nbad\x00byte"), want: []FsckID{FsckNulInCommit}},
	{name: "headers without a final newline", typ: "commit", body: []byte("tree " + emptyTree + "\nauthor " + ident + "\ncommitter " + ident), want: []FsckID{FsckUnterminatedHeader}},
	{name: "empty commit", typ: "commit", body: []byte{}, want: []FsckID{FsckUnterminatedHeader}},
	{name: "no tree line", typ: "commit", body: commitOf("author " + ident + "\ncommitter " + ident + "\n"), want: []FsckID{FsckMissingTree}},
	{name: "short tree id", typ: "commit", body: commitOf("tree " + emptyTree[:39] + "\nauthor " + ident + "\ncommitter " + ident + "\n"), want: []FsckID{FsckBadTreeSha1}},
	{name: "tree id not hex", typ: "commit", body: commitOf("tree " + emptyTree[:39] + "g\nauthor " + ident + "\ncommitter " + ident + "\n"), want: []FsckID{FsckBadTreeSha1}},
	{name: "space after the tree id", typ: "commit", body: commitOf("tree " + emptyTree + " \nauthor " + ident + "\ncommitter " + ident + "\n"), want: []FsckID{FsckBadTreeSha1}},
	{name: "bad parent", typ: "commit", body: commitOf("tree " + emptyTree + "\nparent xyz\nauthor " + ident + "\ncommitter " + ident + "\n"), want: []FsckID{FsckBadParentSha1}},
	{name: "no author", typ: "commit", body: commitOf("tree " + emptyTree + "\ncommitter " + ident + "\n"), want: []FsckID{FsckMissingAuthor}},
	{name: "two authors", typ: "commit", body: commitOf("tree " + emptyTree + "\nauthor " + ident + "\nauthor " + ident + "\ncommitter " + ident + "\n"), want: []FsckID{FsckMultipleAuthors}},
	{name: "no committer", typ: "commit", body: commitOf("tree " + emptyTree + "\nauthor " + ident + "\n"), want: []FsckID{FsckMissingCommitter}},
	{name: "committer before author", typ: "commit", body: commitOf("tree " + emptyTree + "\ncommitter " + ident + "\nauthor " + ident + "\n"), want: []FsckID{FsckMissingAuthor}},
	{name: "no name", typ: "commit", body: withAuthor("<a@b> 1 +0000"), want: []FsckID{FsckMissingNameBeforeEmail}},
	{name: "no email", typ: "commit", body: withAuthor("A U 1 +0000"), want: []FsckID{FsckMissingEmail}},
	{name: "> in the name", typ: "commit", body: withAuthor("A>U <a@b> 1 +0000"), want: []FsckID{FsckBadName}},
	{name: "no space before the email", typ: "commit", body: withAuthor("AU<a@b> 1 +0000"), want: []FsckID{FsckMissingSpaceBeforeEmail}},
	{name: "< in the email", typ: "commit", body: withAuthor("A <a<b@c> 1 +0000"), want: []FsckID{FsckBadEmail}},
	{name: "email not closed", typ: "commit", body: withAuthor("A <a@b 1 +0000"), want: []FsckID{FsckBadEmail}},
	{name: "no space before the date", typ: "commit", body: withAuthor("A <a@b>1 +0000"), want: []FsckID{FsckMissingSpaceBeforeDate}},
	{name: "date not a number", typ: "commit", body: withAuthor("A <a@b> x +0000"), want: []FsckID{FsckBadDate}},
	{name: "no date", typ: "commit", body: withAuthor("A <a@b> +0000"), want: []FsckID{FsckBadDate}},
	{name: "no space after the date", typ: "commit", body: withAuthor("A <a@b> 1+0000"), want: []FsckID{FsckBadDate}},
	{name: "zero-padded date", typ: "commit", body: withAuthor("A <a@b> 01 +0000"), want: []FsckID{FsckZeroPaddedDate}},
	{name: "zero then a tab", typ: "commit", body: withAuthor("A <a@b> 0\t+0000"), want: []FsckID{FsckZeroPaddedDate}},
	{name: "date of 2^63", typ: "commit", body: withAuthor("A <a@b> 9223372036854775808 +0000"), want: []FsckID{FsckBadDateOverflow}},
	{name: "date past 2^64", typ: "commit", body: withAuthor("A <a@b> 99999999999999999999 +0000"), want: []FsckID{FsckBadDateOverflow}},
	{name: "zone of three digits", typ: "commit", body: withAuthor("A <a@b> 1 +000"), want: []FsckID{FsckBadTimezone}},
	{name: "zone without a sign", typ: "commit", body: withAuthor("A <a@b> 1 0000"), want: []FsckID{FsckBadTimezone}},
	{name: "zone of five digits", typ: "commit", body: withAuthor("A <a@b> 1 +00000"), want: []FsckID{FsckBadTimezone}},
	{name: "zone not digits", typ: "commit", body: withAuthor("A <a@b> 1 +0a00"), want: []FsckID{FsckBadTimezone}},
	{name: "space after the zone", typ: "commit", body: withAuthor("A <a@b> 1 +0000 "), want: []FsckID{FsckBadTimezone}},
	{name: "bad committer", typ: "commit", body: commitOf("tree " + emptyTree + "\nauthor " + ident + "\ncommitter A <a@b> 1 +00\n"), want: []FsckID{FsckBadTimezone}},
	// git before 2.53 read dates with strtoumax, which takes a sign.
	{name: "date with a plus", typ: "commit", body: withAuthor("A <a@b> +5 +0000"), want: []FsckID{FsckBadDate}, since: "2.53"},
	{name: "zero-padded after a space", typ: "commit", body: withAuthor("A <a@b>  05 +0000"), want: []FsckID{FsckZeroPaddedDate}, since: "2.53"},

	// Trees.
	{name: "valid tree", typ: "tree", body: treeOf(entry("100644", "a", emptyBlob), entry("40000", "b", emptyTree))},
	{name: "empty tree", typ: "tree", body: []byte{}},
	{name: "other modes", typ: "tree", body: treeOf(entry("100755", "a", emptyBlob), entry("120000", "b", emptyBlob), entry("160000", "c", emptyBlob), entry("100664", "d", emptyBlob))},
	{name: "file before folder of a longer name", typ: "tree", body: treeOf(entry("100644", "a", emptyBlob), entry("100644", "a.b", emptyBlob), entry("40000", "a0", emptyTree))},
	{name: "folder after a file with '.'", typ: "tree", body: treeOf(entry("100644", "a.b", emptyBlob), entry("40000", "a", emptyTree))},
	{name: "non-ASCII names", typ: "tree", body: treeOf(entry("100644", ".gitx", emptyBlob), entry("100644", "git~2", emptyBlob), entry("100644", "gé", emptyBlob), entry("100644", "ğit", emptyBlob))},
	{name: "truncated id", typ: "tree", body: treeOf(entry("100644", "a", emptyBlob))[:25], want: []FsckID{FsckBadTree}},
	{name: "empty name", typ: "tree", body: treeOf(entry("100644", "", emptyBlob)), want: []FsckID{FsckBadTree}},
	{name: "mode with an 8", typ: "tree", body: treeOf(entry("100648", "a", emptyBlob)), want: []FsckID{FsckBadTree}},
	{name: "no mode", typ: "tree", body: treeOf(entry("", "a", emptyBlob)), want: []FsckID{FsckBadTree}},
	{name: "second entry broken", typ: "tree", body: treeOf(entry("100644", "b", emptyBlob), entry("100644", "a", emptyBlob), "x"), want: []FsckID{FsckBadTree}},
	{name: "second mode broken", typ: "tree", body: treeOf(entry("100644", "b", emptyBlob), entry("10x644", "a", emptyBlob)), want: []FsckID{FsckBadTree}},
	{name: "zero-padded mode", typ: "tree", body: treeOf(entry("040000", "d", emptyTree)), want: []FsckID{FsckZeroPaddedFilemode}},
	{name: "null id", typ: "tree", body: treeOf(entry("100644", "a", null)), want: []FsckID{FsckNullSha1}},
	{name: "slash in a name", typ: "tree", body: treeOf(entry("100644", "a/b", emptyBlob)), want: []FsckID{FsckFullPathname}},
	{name: "dot", typ: "tree", body: treeOf(entry("40000", ".", emptyTree)), want: []FsckID{FsckHasDot}},
	{name: "dot dot", typ: "tree", body: treeOf(entry("40000", "..", emptyTree)), want: []FsckID{FsckHasDotdot}},
	{name: ".git", typ: "tree", body: treeOf(entry("40000", ".git", emptyTree)), want: []FsckID{FsckHasDotgit}},
	{name: ".GIT file", typ: "tree", body: treeOf(entry("100644", ".GIT", emptyBlob)), want: []FsckID{FsckHasDotgit}},
	{name: ".git with trailing dots and spaces", typ: "tree", body: treeOf(entry("40000", ".git. .", emptyTree)), want: []FsckID{FsckHasDotgit}},
	{name: "git~1", typ: "tree", body: treeOf(entry("40000", "GIT~1", emptyTree)), want: []FsckID{FsckHasDotgit}},
	{name: ".git with HFS+ ignorables", typ: "tree", body: treeOf(entry("40000", ".g\u200cI\ufefft", emptyTree)), want: []FsckID{FsckHasDotgit}},
	{name: ".git then bytes that are not UTF-8", typ: "tree", body: treeOf(entry("40000", ".git\xff", emptyTree)), want: []FsckID{FsckHasDotgit}},
	{name: ".git after a backslash", typ: "tree", body: treeOf(entry("100644", "a\\.git", emptyBlob)), want: []FsckID{FsckHasDotgit}},
	{name: "two names", typ: "tree", body: treeOf(entry("100644", "a", emptyBlob), entry("100644", "a", emptyBlob)), want: []FsckID{FsckDuplicateEntries}},
	{name: "file and folder of one name", typ: "tree", body: treeOf(entry("100644", "a", emptyBlob), entry("40000", "a", emptyTree)), want: []FsckID{FsckDuplicateEntries}},
	{name: "file and folder apart", typ: "tree", body: treeOf(entry("100644", "a", emptyBlob), entry("100644", "a.b", emptyBlob), entry("40000", "a", emptyTree)), want: []FsckID{FsckDuplicateEntries}},
	{name: "out of order", typ: "tree", body: treeOf(entry("100644", "b", emptyBlob), entry("100644", "a", emptyBlob)), want: []FsckID{FsckTreeNotSorted}},
	{name: "folder sorted as a file", typ: "tree", body: treeOf(entry("40000", "a", emptyTree), entry("100644", "a.b", emptyBlob)), want: []FsckID{FsckTreeNotSorted}},
	{name: "symbolic link .gitmodules", typ: "tree", body: treeOf(entry("120000", ".gitmodules", emptyBlob)), want: []FsckID{FsckGitmodulesSymlink}},
	{name: "symbolic link GITMOD~1", typ: "tree", body: treeOf(entry("120000", "GITMOD~1", emptyBlob)), want: []FsckID{FsckGitmodulesSymlink}},
	{name: "symbolic link gi7eba~9", typ: "tree", body: treeOf(entry("120000", "gi7eba~9", emptyBlob)), want: []FsckID{FsckGitmodulesSymlink}},
	{name: "folder .gitmodules", typ: "tree", body: treeOf(entry("40000", ".gitmodules", emptyTree)), want: []FsckID{FsckGitmodulesBlob}},
	{name: "folder .gitattributes", typ: "tree", body: treeOf(entry("40000", ".gitattributes", emptyTree)), want: []FsckID{FsckGitattributesBlob}},
	{name: "several problems", typ: "tree", body: treeOf(entry("040000", "b", emptyTree), entry("100644", "a", null), entry("100644", "a", emptyBlob)),
		want: []FsckID{FsckNullSha1, FsckZeroPaddedFilemode, FsckDuplicateEntries, FsckTreeNotSorted}},
	{name: "long name", typ: "tree", body: treeOf(entry("100644", strings.Repeat("x", 4097), emptyBlob)), want: []FsckID{FsckLargePathname}, since: "2.43"},
	{name: "name of 4096 bytes", typ: "tree", body: treeOf(entry("100644", strings.Repeat("x", 4096), emptyBlob))},
}

func fsck(typ string, b []byte) error {
	if typ == "commit" {
		return FsckCommit(b)
	}
	return FsckTree(b)
}

func idsOf(err error) []FsckID {
	if err == nil {
		return nil
	}
	return err.(*FsckError).IDs()
}

// TestFsck checks each object against the message ids git fsck gives.
func TestFsck(t *testing.T) {
	for _, tt := range fsckCases {
		t.Run(tt.name, func(t *testing.T) {
			got := idsOf(fsck(tt.typ, tt.body))
			if !slices.Equal(sorted(got), sorted(tt.want)) {
				t.Errorf("Fsck(%q) = %v, want %v", tt.body, got, tt.want)
			}
			for _, id := range got {
				if !slices.Contains(FsckIDs, id) {
					t.Errorf("Fsck(%q) reports %s, which FsckIDs lacks", tt.body, id)
				}
			}
		})
	}
}

// TestFsckEntries checks FsckTreeEntry and FsckTreeOrder, which a parser
// that reads a tree entry by entry calls, against FsckTree.
func TestFsckEntries(t *testing.T) {
	for _, tt := range fsckCases {
		if tt.typ != "tree" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			var want []FsckID
			for _, id := range idsOf(FsckTree(tt.body)) {
				if id != FsckBadTree {
					want = append(want, id)
				}
			}
			var got []FsckID
			add := func(err error) {
				for _, id := range idsOf(err) {
					if !slices.Contains(got, id) {
						got = append(got, id)
					}
				}
			}
			var prev *treeEntry
			names := map[string]bool{}
			for raw := string(tt.body); raw != ""; {
				e, n, ok := decodeTreeEntry(raw)
				if !ok {
					break
				}
				raw = raw[n:]
				add(FsckTreeEntry(e.rawMode, e.name, e.hash))
				if prev != nil {
					add(FsckTreeOrder(uint32(prev.mode), prev.name, uint32(e.mode), e.name))
				}
				if dir := e.mode&modeType == modeDir; names[e.name+strconv.FormatBool(!dir)] {
					add(fsckFail("tree", FsckDuplicateEntries, ""))
				}
				names[e.name+strconv.FormatBool(e.mode&modeType == modeDir)] = true
				prev = &e
			}
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("entry by entry: %v, FsckTree: %v", got, want)
			}
		})
	}
}

func sorted(ids []FsckID) []FsckID {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestFsckAgainstGit checks each object with git itself, twice: git fsck
// --strict on a repository that holds it, and git index-pack --strict on a
// pack of it, which is what a server with receive.fsckObjects runs on a
// push. Both must report the ids the table gives (where the local git is
// new enough to know them), and refuse exactly the objects it refuses.
func TestFsckAgainstGit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs git four times for each object")
	}
	git := gitOrSkip(t)
	version := gitVersion(t, git)
	for _, tt := range fsckCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := askGit(t, git, tt.typ, tt.body)
			if tt.since != "" && versionLess(version, tt.since) {
				t.Logf("git %s predates %s: not compared (it says %v)", version, tt.since, g.fsckIDs)
				return
			}
			if err := g.agrees(tt.want); err != nil {
				t.Error(err)
			}
		})
	}
}

// gitSays is what git fsck --strict and git index-pack --strict say of an
// object: the message ids they report (none when they cannot parse it at
// all), and whether they accept it.
type gitSays struct {
	fsckIDs, packIDs []FsckID
	fsckOK, packOK   bool
}

// agrees checks that both refuse the object exactly when want is not
// empty, and report want's ids when they report any.
func (g gitSays) agrees(want []FsckID) error {
	want = sorted(want)
	refuse := len(want) > 0
	switch {
	case g.fsckOK == refuse || len(g.fsckIDs) > 0 && !slices.Equal(g.fsckIDs, want):
		return fmt.Errorf("git fsck --strict: %v (accepted %v), want %v", g.fsckIDs, g.fsckOK, want)
	case g.packOK == refuse || len(g.packIDs) > 0 && !slices.Equal(g.packIDs, want):
		return fmt.Errorf("git index-pack --strict: %v (accepted %v), want %v", g.packIDs, g.packOK, want)
	}
	return nil
}

func gitOrSkip(t testing.TB) string {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	return git
}

func gitVersion(t testing.TB, git string) string {
	out, err := exec.Command(git, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	return f[len(f)-1]
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// reportRe finds git's errors, as fsck ("error in tree <id>: hasDot: ...")
// and index-pack ("error: object <id>: hasDot: ...") print them: with
// --strict, fsck's warnings are errors, and what it prints as a warning
// (its "info" checks) refuses nothing.
var reportRe = regexp.MustCompile(`(?m)^error(?: in \w+|: object) [0-9a-f]{40}: (\w+):`)

// askGit gives the object to git fsck --strict and to git index-pack
// --strict (with the objects it points to).
func askGit(t testing.TB, git, typ string, body []byte) gitSays {
	dir := t.TempDir()
	run := func(dir string, stdin []byte, args ...string) (string, error) {
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Stdin = bytes.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(dir string, stdin []byte, args ...string) string {
		out, err := run(dir, stdin, args...)
		if err != nil {
			t.Fatalf("git %s: %v: %s", args[0], err, out)
		}
		return out
	}
	objs := slices.Clone(support)
	if !slices.ContainsFunc(objs, func(o packObject) bool { return o.typ == typ && bytes.Equal(o.body, body) }) {
		objs = append(objs, packObject{typ, body})
	}
	must(dir, nil, "init", "-q", "--bare", ".")
	for _, o := range objs {
		writeLoose(t, dir, o)
	}
	var g gitSays
	out, err := run(dir, nil, "fsck", "--strict", "--no-dangling", "--no-progress")
	g.fsckIDs, g.fsckOK = idsIn(out), err == nil
	recv := filepath.Join(dir, "recv")
	must(dir, nil, "init", "-q", "--bare", recv)
	out, err = run(recv, packOf(t, objs), "index-pack", "--strict", "--stdin")
	g.packIDs, g.packOK = idsIn(out), err == nil
	return g
}

// writeLoose writes a loose object as git hash-object --literally would.
func writeLoose(t testing.TB, gitDir string, o packObject) {
	id := objectID(o.typ, o.body)
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	fmt.Fprintf(zw, "%s %d\x00", o.typ, len(o.body))
	zw.Write(o.body)
	zw.Close()
	p := filepath.Join(gitDir, "objects", id[:2], id[2:])
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o444); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
}

func idsIn(out string) []FsckID {
	var ids []FsckID
	for _, m := range reportRe.FindAllStringSubmatch(out, -1) {
		ids = append(ids, FsckID(m[1]))
	}
	return sorted(ids)
}

type packObject struct {
	typ  string
	body []byte
}

// packOf writes a version 2 pack of whole (undeltified) objects.
func packOf(t testing.TB, objs []packObject) []byte {
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, uint32(2))
	binary.Write(&b, binary.BigEndian, uint32(len(objs)))
	types := map[string]byte{"commit": 1, "tree": 2, "blob": 3, "tag": 4}
	for _, o := range objs {
		size := len(o.body)
		c := types[o.typ]<<4 | byte(size&15)
		size >>= 4
		for size > 0 {
			b.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		b.WriteByte(c)
		zw := zlib.NewWriter(&b)
		zw.Write(o.body)
		zw.Close()
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// FuzzFsck compares the checks with git on commits and trees made from
// the fuzzer's bytes (go test -run '^$' -fuzz FuzzFsck ./gitfmt). git runs
// for each input, so the fuzzer is slow. The table's objects seed it; a
// plain test run (no -fuzz) takes a few of them, since TestFsckAgainstGit
// gives git all of them already.
func FuzzFsck(f *testing.F) {
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	for i, tt := range fsckCases {
		if tt.since == "" && len(tt.body) < 200 && (fuzzing || i%20 == 0) {
			f.Add(tt.typ == "tree", tt.body)
		}
	}
	git := gitOrSkip(f)
	f.Fuzz(func(t *testing.T, tree bool, body []byte) {
		typ := "commit"
		if tree {
			typ = "tree"
		}
		got := sorted(idsOf(fsck(typ, body)))
		// Entries must name the two objects the pack carries, or git
		// reports them missing instead of checking the tree.
		if tree && !onlyKnownIDs(body) {
			t.Skip()
		}
		if !tree && !knownTreeLine(body) {
			t.Skip()
		}
		g := askGit(t, git, typ, body)
		if slices.Contains(got, FsckLargePathname) || slices.Contains(got, FsckBadDate) || slices.Contains(got, FsckZeroPaddedDate) {
			// Checks newer than the git in CI, or read differently by it:
			// here the checks may only refuse more than it does.
			if len(got) == 0 && !g.packOK {
				t.Fatalf("git refuses %q (%v), the checks accept it", body, g.packIDs)
			}
			return
		}
		if err := g.agrees(got); err != nil {
			t.Fatalf("for %q the checks say %v; %v", body, got, err)
		}
	})
}

var knownIDs = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, id := range []string{emptyBlob, emptyTree, null} {
		b, _ := hex.DecodeString(id)
		m[string(b)] = true
	}
	return m
})

// onlyKnownIDs reports whether every entry that parses names the empty
// blob, the empty tree or the null id, and folders the empty tree.
func onlyKnownIDs(b []byte) bool {
	for raw := string(b); raw != ""; {
		e, n, ok := decodeTreeEntry(raw)
		if !ok {
			return true
		}
		if !knownIDs()[e.hash] || e.mode&modeType == modeDir && e.hash != string(mustHex(emptyTree)) ||
			e.mode&modeType != modeDir && e.hash == string(mustHex(emptyTree)) {
			return false
		}
		raw = raw[n:]
	}
	return true
}

func knownTreeLine(b []byte) bool {
	s := strings.ToLower(string(b))
	return !strings.HasPrefix(s, "tree ") || strings.HasPrefix(s, "tree "+emptyTree) && !strings.Contains(s, "\nparent ")
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return b
}

// TestFsckDocumented checks that docs/format.md lists exactly the message
// ids the checks report.
func TestFsckDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/format.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### 7.8 Objects git fsck refuses")
	end := strings.Index(doc[start:], "\nLeft out")
	if start < 0 || end < 0 {
		t.Fatal("docs/format.md has no table of fsck checks in §7.8")
	}
	var listed []FsckID
	for _, line := range strings.Split(doc[start:start+end], "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`(\\w+)`").FindAllStringSubmatch(first, -1) {
			listed = append(listed, FsckID(m[1]))
		}
	}
	if !slices.Equal(sorted(listed), sorted(FsckIDs)) {
		t.Errorf("docs/format.md §7.8 lists %v, the checks report %v", sorted(listed), sorted(FsckIDs))
	}
}
