package search

import (
	_ "embed"
	"strings"
	"sync"

	"github.com/hive-dev/hive/search/internal/gloss"
)

// glossTable is what tools are for, from Debian's manual pages (their NAME
// lines) and package descriptions, compiled by search/internal/gloss/gen
// (see GLOSS-SOURCES): for a command, package or library name, the index
// terms of its description.
//
//go:embed gloss.bin
var glossTable []byte

var (
	glOnce sync.Once
	gl     *gloss.Table
)

// loadGloss decodes the embedded table once.
func loadGloss() *gloss.Table {
	glOnce.Do(func() {
		var err error
		if gl, err = gloss.Decode(glossTable); err != nil {
			panic("search: embedded gloss.bin: " + err.Error()) // a build defect, caught by every test
		}
	})
	return gl
}

// Where a skill's tool names are looked for (params.glossFrom). A name is
// a word of the table that is neither a function word nor, unless said
// otherwise, an English word (WordNet's: sort, find, make and watch are
// tools and words; in prose they are mostly the words).
const (
	glossOff    = iota
	glossCode   // its tags and result
	glossBody   // its tags, steps and result
	glossCmd    // as glossBody, and English words in its tags and at a command's place in its result (du -sh * | sort -h: sort)
	glossAnyway // as glossBody, English words too
)

// glossOf calls fn with the terms of the glosses of the tools that t's body
// (never its intent) names, each term once per tool, each tool once: at
// most p.glossK terms of each tool's gloss. A tool name is a word of the
// text taken whole, with its dots, dashes and underscores (pg_dump,
// docker-compose, yaml.safe_load: yaml), lower-cased.
func glossOf(t *indexed, p *params, fn func(term string)) {
	if p.glossFrom == glossOff || p.glossK == 0 {
		return
	}
	tab := loadGloss()
	seen := map[string]bool{}
	look := func(name string, english bool) {
		g := tab.Lookup(name)
		if g == nil {
			if dot := strings.IndexByte(name, '.'); dot > 0 {
				name = name[:dot]
				g = tab.Lookup(name)
			}
		}
		if g == nil || seen[name] || stopwords[name] || !english && englishWord(name) {
			return
		}
		seen[name] = true
		for _, k := range g[:min(len(g), p.glossK)] {
			fn(tab.Terms[k])
		}
	}
	anyway := p.glossFrom == glossAnyway
	for _, tag := range t.Tags {
		eachName(tag, func(n string) { look(n, anyway || p.glossFrom == glossCmd) })
	}
	eachName(t.Result, func(n string) { look(n, anyway) })
	if p.glossFrom == glossCmd {
		commands(t.Result, func(n string) { look(n, true) })
	}
	if p.glossFrom != glossCode {
		for _, st := range t.ReasoningPath {
			eachName(st.Action, func(n string) { look(n, anyway) })
			eachName(st.Detail, func(n string) { look(n, anyway) })
		}
	}
}

// commands calls fn with the words of code at a command's place: first on
// a line (after a prompt or sudo), after a pipe, &&, ||, ; or $(, and the
// module of a Python import.
func commands(code string, fn func(string)) {
	for _, line := range strings.Split(code, "\n") {
		for _, part := range strings.FieldsFunc(line, func(r rune) bool { return r == '|' || r == '&' || r == ';' || r == '(' || r == '`' }) {
			ws := strings.Fields(part)
			for len(ws) > 0 && (ws[0] == "$" || ws[0] == "sudo" || ws[0] == "#" || ws[0] == "!") {
				ws = ws[1:]
			}
			if len(ws) == 0 {
				continue
			}
			if (ws[0] == "import" || ws[0] == "from") && len(ws) > 1 {
				ws = ws[1:]
			}
			eachName(ws[0], fn)
		}
	}
}

// englishWord reports whether WordNet knows a word made of letters alone.
func englishWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return len(loadWordNet().lemmas(w)) > 0
}

// eachName calls fn with each name-like word of text, lower-cased: runs of
// letters, digits, dots, dashes, underscores and pluses, less the
// punctuation they start or end with.
func eachName(text string, fn func(string)) {
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := strings.Trim(text[start:end], ".-_+")
		start = -1
		if len(w) >= 2 && len(w) <= 64 {
			fn(strings.ToLower(w))
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || c == '+' {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(text))
}
