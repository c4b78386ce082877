// Command gen builds search/gloss.bin, the table of what tools are for,
// from Debian 12's main archive as this machine has it: the NAME lines of
// the installed manual pages of sections 1 and 8 (read by man-db's
// lexgrog), and the descriptions of every package of bookworm main (apt's
// lists, with the English long descriptions). It writes search/gloss.versions
// beside the table: the lists' dates and the packages whose manual pages
// were read, with their versions.
//
//	apt-get update -o Acquire::Languages=en   # the long descriptions
//	go run ./search/internal/gloss/gen [-out search/gloss.bin]
//	go run ./search/internal/gloss/gen -check
//
// The same lists and packages always give the same bytes: -check (make
// gloss-check) says whether the committed table is what this machine gives,
// and exits 1 when it is not. A manual page counts only when the package
// that installed it is, at its installed version, in Debian's lists (so
// nothing from another archive enters the table).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hive-dev/hive/search"
	"github.com/hive-dev/hive/search/internal/gloss"
)

const lists = "/var/lib/apt/lists"

// The lists read, bookworm main first (its descriptions are the ones used;
// the updates' and security's lists say which versions are Debian's).
var suites = []string{"deb.debian.org_debian_dists_bookworm", "deb.debian.org_debian_dists_bookworm-updates",
	"deb.debian.org_debian-security_dists_bookworm-security"}

func main() {
	out := flag.String("out", "search/gloss.bin", "the table to write (or, with -check, to compare)")
	check := flag.Bool("check", false, "compare the table and its versions with what this machine gives; write nothing")
	maxShare := flag.Float64("maxshare", 1, "leave out terms found in more than this share of the glosses")
	maxTerms := flag.Int("terms", 4, "terms of each gloss kept, at most gloss.MaxTerms")
	show := flag.String("show", "", "print the glosses of these names (comma-separated) and stop")
	flag.Parse()
	entries, versions, err := build(*maxShare, min(*maxTerms, gloss.MaxTerms))
	if err == nil && *show != "" {
		for _, e := range entries {
			for _, n := range strings.Split(*show, ",") {
				if e.Name == n {
					fmt.Printf("%s: %s\n", n, strings.Join(e.Terms, " "))
				}
			}
		}
		return
	}
	if err == nil {
		err = write(*out, gloss.Encode(entries), versions, *check)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gloss: %v\n", err)
		os.Exit(1)
	}
}

func write(out string, table, versions []byte, check bool) error {
	versionsPath := strings.TrimSuffix(out, ".bin") + ".versions"
	if check {
		recorded, err := os.ReadFile(versionsPath)
		if err != nil {
			return err
		}
		if !bytes.Equal(recorded, versions) {
			return fmt.Errorf("this machine's lists and manual pages are not those %s records: run make gloss and measure the search again (docs/search.md)", versionsPath)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if !bytes.Equal(table, want) {
			return fmt.Errorf("%s (%d bytes) is not what this machine gives (%d bytes): run make gloss", out, len(want), len(table))
		}
		fmt.Printf("%s is what this machine gives\n", out)
		return nil
	}
	if err := os.WriteFile(out, table, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(versionsPath, versions, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d bytes\n", out, len(table))
	return nil
}

// source is a text that says what a name is for, and how much it counts:
// a manual page of section 1, of section 8, a package of that name, a
// library packaged as python3-NAME, node-NAME or ruby-NAME.
type source struct {
	rank int
	text string
}

func build(maxShare float64, maxTerms int) ([]gloss.Entry, []byte, error) {
	var versions []string
	debian := map[string]bool{} // package=version in Debian's lists
	var pkgs []pkgDesc
	for i, s := range suites {
		date, err := releaseDate(filepath.Join(lists, s+"_InRelease"))
		if err != nil {
			return nil, nil, err
		}
		versions = append(versions, "list "+s+" "+date)
		ps, err := readPackages(filepath.Join(lists, s+"_main_binary-amd64_Packages"))
		if err != nil {
			return nil, nil, err
		}
		for _, p := range ps {
			debian[p.name+"="+p.version] = true
		}
		if i == 0 {
			pkgs = ps
		}
	}
	long, err := readTranslations(filepath.Join(lists, suites[0]+"_main_i18n_Translation-en"))
	if err != nil {
		return nil, nil, fmt.Errorf("%v (run apt-get update -o Acquire::Languages=en)", err)
	}
	srcs := map[string][]source{}
	add := func(name string, rank int, text string) {
		name = strings.ToLower(name)
		if name == "" || strings.ContainsAny(name, " /") {
			return
		}
		srcs[name] = append(srcs[name], source{rank, text})
	}
	manPkgs, err := manPages(debian, add)
	if err != nil {
		return nil, nil, err
	}
	versions = append(versions, manPkgs...)
	for _, p := range pkgs {
		if skipPackage(p.name) {
			continue
		}
		text := p.short
		if l, ok := long[p.name+" "+p.md5]; ok {
			text += "\n" + firstParagraph(l)
		}
		add(p.name, 2, text)
		for _, pre := range []string{"python3-", "node-", "ruby-"} {
			if lib, ok := strings.CutPrefix(p.name, pre); ok {
				add(lib, 3, text)
			}
		}
	}
	// Each name's gloss: the terms of its best sources, best first.
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	terms := make([][]string, len(names))
	df := map[string]int{}
	for i, n := range names {
		ss := srcs[n]
		sort.SliceStable(ss, func(a, b int) bool { return ss[a].rank < ss[b].rank })
		best := ss[0].rank
		own := map[string]bool{}
		eachWord(n, func(w string) {
			for _, t := range search.Tokens(w) {
				own[t] = true
			}
		})
		seen := map[string]bool{}
		for _, s := range ss {
			if s.rank > best && !(best <= 1 && s.rank == 2) {
				continue // a library's gloss only when nothing better names it; a command's with its package's
			}
			for _, t := range search.Tokens(s.text) {
				if own[t] || seen[t] || digits(t) {
					continue
				}
				seen[t] = true
				terms[i] = append(terms[i], t)
				df[t]++
			}
		}
	}
	limit := int(maxShare * float64(len(names)))
	var entries []gloss.Entry
	for i, n := range names {
		var ts []string
		for _, t := range terms[i] {
			if df[t] <= limit && len(ts) < maxTerms {
				ts = append(ts, t)
			}
		}
		if len(ts) > 0 {
			entries = append(entries, gloss.Entry{Name: n, Terms: ts})
		}
	}
	return entries, []byte(strings.Join(versions, "\n") + "\n"), nil
}

func eachWord(s string, fn func(string)) {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' || r == '+' }) {
		fn(w)
	}
}

func digits(t string) bool {
	return strings.Trim(t, "0123456789") == ""
}

// skipPackage reports the packages whose names no skill uses for a tool:
// libraries of C and other languages by their Debian names, their
// development, debugging, documentation and data packages, fonts,
// firmware, kernels, dictionaries, TeX, R and Go sources.
func skipPackage(name string) bool {
	for _, p := range []string{"lib", "fonts-", "firmware-", "linux-", "texlive-", "hunspell-", "hyphen-", "mythes-",
		"myspell-", "aspell-", "r-cran-", "r-bioc-", "golang-", "elpa-", "xfonts-", "gir1.2-", "task-", "tryton-",
		"php-", "ocaml-", "haskell-", "octave-", "llvm-", "gcc-", "cpp-", "g++-", "gfortran-", "gnat-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, s := range []string{"-dev", "-doc", "-dbg", "-dbgsym", "-data", "-common", "-l10n", "-i18n", "-examples",
		"-tests", "-source", "-src"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return strings.Contains(name, "-l10n-") || strings.Contains(name, "-locale-")
}

type pkgDesc struct {
	name, version, md5, short string
}

// readPackages reads an apt list of packages (uncompressed by apt-helper,
// whatever apt compressed it with).
func readPackages(prefix string) ([]pkgDesc, error) {
	var out []pkgDesc
	err := stanzas(prefix, func(f map[string]string) {
		out = append(out, pkgDesc{name: f["Package"], version: f["Version"], md5: f["Description-md5"], short: f["Description"]})
	})
	return out, err
}

// readTranslations maps "package md5" to its English description (the
// short line, then the long one).
func readTranslations(prefix string) (map[string]string, error) {
	out := map[string]string{}
	err := stanzas(prefix, func(f map[string]string) {
		out[f["Package"]+" "+f["Description-md5"]] = f["Description-en"]
	})
	return out, err
}

// stanzas calls fn with each stanza of the list whose file name starts with
// prefix (apt keeps it compressed with lz4, gz or xz, or plain).
func stanzas(prefix string, fn func(map[string]string)) error {
	m, _ := filepath.Glob(prefix + "*")
	var file string
	for _, f := range m {
		if rest := strings.TrimPrefix(f, prefix); rest == "" || rest[0] == '.' {
			file = f
			break
		}
	}
	if file == "" {
		return fmt.Errorf("no list %s*", prefix)
	}
	b, err := exec.Command("/usr/lib/apt/apt-helper", "cat-file", file).Output()
	if err != nil {
		return fmt.Errorf("read %s: %v", file, err)
	}
	for _, st := range strings.Split(string(b), "\n\n") {
		f := map[string]string{}
		var key string
		for _, l := range strings.Split(st, "\n") {
			if strings.HasPrefix(l, " ") && key != "" {
				f[key] += "\n" + l[1:]
				continue
			}
			k, v, ok := strings.Cut(l, ": ")
			if ok {
				key = k
				f[k] = v
			}
		}
		if f["Package"] != "" {
			fn(f)
		}
	}
	return nil
}

// firstParagraph is a long description's first paragraph (lines up to a
// " ." line).
func firstParagraph(long string) string {
	_, rest, _ := strings.Cut(long, "\n") // the short line
	para, _, _ := strings.Cut(rest, "\n.")
	return para
}

func releaseDate(f string) (string, error) {
	b, err := os.ReadFile(f)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if d, ok := strings.CutPrefix(l, "Date: "); ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("%s: no Date", f)
}

var manFile = regexp.MustCompile(`^/usr/share/man/man([18])/([^/]+)\.[18]\.gz$`)

// manPages reads the NAME lines of the manual pages of sections 1 and 8
// that packages of Debian's lists installed (dpkg's file lists, symlinks
// such as alternatives' followed to their package), and returns those
// packages with their versions, sorted.
func manPages(debian map[string]bool, add func(name string, rank int, text string)) ([]string, error) {
	installed, err := installedVersions("/var/lib/dpkg/status")
	if err != nil {
		return nil, err
	}
	owner := map[string]string{} // file -> package
	lsts, _ := filepath.Glob("/var/lib/dpkg/info/*.list")
	for _, l := range lsts {
		pkg := strings.TrimSuffix(filepath.Base(l), ".list")
		pkg, _, _ = strings.Cut(pkg, ":")
		b, err := os.ReadFile(l)
		if err != nil {
			return nil, err
		}
		for _, f := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(f, "/usr/share/") {
				owner[f] = pkg
			}
		}
	}
	var files []string
	for _, sec := range []string{"1", "8"} {
		m, _ := filepath.Glob("/usr/share/man/man" + sec + "/*." + sec + ".gz")
		files = append(files, m...)
	}
	sort.Strings(files)
	used := map[string]bool{}
	var read []string
	section := map[string]int{}
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			continue
		}
		pkg := owner[real]
		if pkg == "" || !debian[pkg+"="+installed[pkg]] {
			continue
		}
		used[pkg+" "+installed[pkg]] = true
		read = append(read, f)
		if manFile.FindStringSubmatch(f)[1] == "1" {
			section[f] = 0
		} else {
			section[f] = 1
		}
	}
	for start := 0; start < len(read); start += 500 {
		batch := read[start:min(len(read), start+500)]
		cmd := exec.Command("lexgrog", batch...)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		_ = cmd.Run() // exits 1 when any page has no NAME line; the others are printed
		sc := bufio.NewScanner(&stdout)
		for sc.Scan() {
			f, rest, ok := strings.Cut(sc.Text(), `: "`)
			if !ok {
				continue
			}
			rest = strings.TrimSuffix(rest, `"`)
			name, desc, ok := strings.Cut(rest, " - ")
			if !ok {
				continue
			}
			add(strings.TrimSpace(name), section[f], desc)
		}
	}
	var out []string
	for p := range used {
		out = append(out, "man "+p)
	}
	sort.Strings(out)
	return out, nil
}

func installedVersions(status string) (map[string]string, error) {
	b, err := os.ReadFile(status)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, st := range strings.Split(string(b), "\n\n") {
		var name, version string
		installed := false
		for _, l := range strings.Split(st, "\n") {
			switch {
			case strings.HasPrefix(l, "Package: "):
				name = strings.TrimPrefix(l, "Package: ")
			case strings.HasPrefix(l, "Version: "):
				version = strings.TrimPrefix(l, "Version: ")
			case strings.HasPrefix(l, "Status: "):
				installed = strings.HasSuffix(l, " installed")
			}
		}
		if installed {
			out[name] = version
		}
	}
	return out, nil
}
