package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hive-dev/hive/schema"
)

// The README as a test: every shell block of README.md runs, in order,
// exactly as written, in one bash session (so `cd` and `export` carry
// over, as in a terminal), from the repository's root, on a fresh HOME and
// with no hive on PATH but the one the README installs. A block fails the
// test as a command typed by hand would fail the reader: the first command
// that exits non-zero (and is not tested with || or if) stops the run.
//
// One block may be marked not to run, with the comment
// "<!-- README test: not run (why) -->" on the line before it: the make
// targets that start this test or serve until stopped. The test allows
// exactly one.

// readmeBlock is a shell block of the README and the line it starts on.
type readmeBlock struct {
	line int
	text string
	run  bool
}

const notRunMark = "<!-- README test: not run"

// readmeBlocks returns the shell blocks (```sh or ```bash) of a Markdown
// file, in order.
func readmeBlocks(md string) ([]readmeBlock, error) {
	var out []readmeBlock
	var cur *readmeBlock
	prev := ""
	sc := bufio.NewScanner(strings.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && (l == "```sh" || l == "```bash" || l == "```shell"):
			cur = &readmeBlock{line: n + 1, run: !strings.HasPrefix(prev, notRunMark)}
		case cur != nil && l == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
		prev = l
	}
	if cur != nil {
		return nil, fmt.Errorf("README.md:%d: a shell block that never ends", cur.line-1)
	}
	return out, sc.Err()
}

// TestReadmeBlocks: the extraction the README test relies on.
func TestReadmeBlocks(t *testing.T) {
	md := "# t\n\n<!-- README test: not run (x) -->\n```sh\nmake test\n```\ntext\n```sh\necho a\ncd b\n```\n```json\n{}\n```\n```bash\necho c\n```\n"
	got, err := readmeBlocks(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []readmeBlock{{5, "make test\n", false}, {9, "echo a\ncd b\n", true}, {16, "echo c\n", true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("readmeBlocks = %v, want %v", got, want)
	}
	if _, err := readmeBlocks("```sh\necho\n"); err == nil {
		t.Error("an unterminated block is not an error")
	}
}

// exampleIDs returns the ids of the traces in docs/examples.
func exampleIDs(t *testing.T, root string) []schema.ID {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "examples", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example files in docs/examples (%v)", err)
	}
	var ids []schema.ID
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := schema.Canonical(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := schema.ParseCanonical(c); err != nil {
			t.Fatalf("%s is not a valid trace: %v", f, err)
		}
		ids = append(ids, schema.Digest(c))
	}
	return ids
}

var hexWord = regexp.MustCompile(`\b(?:sha256:)?([0-9a-f]{8,64})\b`)

// TestREADME runs the README.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("the README runs in make test, not with -short")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(raw)
	blocks, err := readmeBlocks(md)
	if err != nil {
		t.Fatal(err)
	}
	notRun := 0
	for _, b := range blocks {
		if !b.run {
			notRun++
		}
	}
	if notRun != 1 || len(blocks) < 10 {
		t.Fatalf("the README has %d shell blocks, %d of them not run; want one not run (the make targets)", len(blocks), notRun)
	}
	// Every id in the README is the real id of an example.
	ids := exampleIDs(t, root)
	for _, m := range hexWord.FindAllStringSubmatch(md, -1) {
		if !strings.ContainsAny(m[1], "abcdef") || !strings.ContainsAny(m[1], "0123456789") {
			continue // a word, not an id
		}
		found := false
		for _, id := range ids {
			found = found || strings.HasPrefix(id.Hex(), m[1])
		}
		if !found {
			t.Errorf("README.md names %s, which is no example's id", m[0])
		}
	}

	var script strings.Builder
	script.WriteString("set -eE -o pipefail\n")
	script.WriteString(`trap 'echo "README test: the block at README.md:$README_LINE failed: $BASH_COMMAND" >&2' ERR` + "\n")
	for _, b := range blocks {
		if !b.run {
			continue
		}
		fmt.Fprintf(&script, "README_LINE=%d\necho \"### README.md:%d\"\n%s", b.line, b.line, b.text)
	}
	script.WriteString("echo '### README: every block ran'\n")
	scriptFile := filepath.Join(t.TempDir(), "readme.sh")
	if err := os.WriteFile(scriptFile, []byte(script.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + pathWithoutHive(), "LANG=C.UTF-8", "TERM=dumb", "USER=reader",
		"GIT_CONFIG_NOSYSTEM=1", "GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=-mod=readonly"}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} { // the module and build caches: offline, and not rebuilt
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		env = append(env, k+"="+strings.TrimSpace(string(out)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	args := []string{"bash", scriptFile}
	// A network of its own where the system allows one: the README's server
	// then always finds its port free, and nothing reaches outside.
	if isolated() {
		args = append([]string{"unshare", "--user", "--map-root-user", "--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env = root, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a server the README left running
	}
	if err != nil || !strings.Contains(out.String(), "### README: every block ran") {
		t.Fatalf("the README does not run as written (%v):\n%s", err, tail(out.String(), 80))
	}
	t.Logf("the README ran: %d blocks (isolated network: %v)", len(blocks)-notRun, isolated())
	if os.Getenv("HIVE_README_LOG") != "" {
		t.Log(out.String())
	}
}

// pathWithoutHive is PATH without the folders that hold a hive: the README
// must put hive there itself.
func pathWithoutHive() string {
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "hive")); err == nil {
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

// isolated reports whether this system runs a command in a network
// namespace of its own (unshare and ip, with user namespaces allowed).
func isolated() bool {
	return exec.Command("unshare", "--user", "--map-root-user", "--net", "--", "sh", "-c", "ip link set lo up").Run() == nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// TestPollingGrepIsQuiet: a script of the README or docs that waits for
// a line in a file another process writes (until grep -q X FILE) uses
// grep -s: the file may not exist at the first look, and grep's "No such
// file or directory" is noise in the reader's terminal.
func TestPollingGrepIsQuiet(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	sh, _ := filepath.Glob("../../docs/*.sh")
	files = append(append(files, "../../README.md"), sh...)
	poll := regexp.MustCompile(`\b(until|while)\s+(!\s*)?grep((\s+-[A-Za-z]+)*)\s`)
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			m := poll.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			found++
			if !strings.Contains(m[3], "s") {
				t.Errorf("%s:%d: a polling grep without -s: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	if found == 0 {
		t.Fatal("no polling grep found: the README's publish block has one")
	}
}
