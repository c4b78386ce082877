package search

// The search as it was before issue 13 (tokens-2: a hand-written stemmer and
// synonym list, 0.7 x recall + 0.3 x precision over the intent, half weight
// for tags and actions), kept in a test file as the baseline the quality
// measurements compare with, and to measure the stemmer and synonym list as
// levers of the new search.

import (
	"strings"
	"unicode"

	"github.com/hive-dev/hive/schema"
)

// oldStopwords carry no meaning of a task.
var oldStopwords = oldSet("a", "an", "the", "to", "for", "of", "in", "on", "at", "by", "with", "and", "or", "from", "into",
	"is", "are", "be", "it", "its", "this", "that", "my", "our", "your", "how", "i", "we", "me", "use", "using", "via",
	"do", "does", "make", "can", "should", "would", "some", "all", "any", "as", "so", "then", "when", "which", "what",
	"get", "out", "one", "another", "several", "many", "multiple", "while", "like", "whether", "there", "them", "their")

// oldSynonyms fold abbreviations and near-oldSynonyms of programming talk onto one
// word, after stemming.
var oldSynonyms = map[string]string{
	"env": "environ", "environment": "environ", "var": "variabl", "vars": "variabl", "variable": "variabl",
	"auth": "authent", "authentication": "authent", "authenticate": "authent", "login": "authent", "signin": "authent",
	"db": "databas", "database": "databas", "sql": "databas",
	"pwd": "password", "passwd": "password", "secret": "password", "credential": "password", "cred": "password",
	"config": "configur", "configuration": "configur", "conf": "configur", "setting": "configur", "cfg": "configur",
	"repo": "repositori", "repository": "repositori", "dir": "directori", "folder": "directori", "directory": "directori",
	"func": "function", "fn": "function", "arg": "argument", "param": "paramet", "parameter": "paramet",
	"http": "http", "https": "http", "url": "url", "api": "api", "endpoint": "api", "fetch": "download", "download": "download",
	"yml": "yaml", "js": "javascript", "ts": "typescript", "py": "python", "k8s": "kubernet", "kubernetes": "kubernet",
	"msg": "messag", "message": "messag", "err": "error", "exception": "error", "test": "test", "unittest": "test",
	"refactor": "refactor", "rewrite": "refactor", "restructure": "refactor", "parse": "pars", "parser": "pars", "read": "read",
	"delete": "remov", "remove": "remov", "erase": "remov", "create": "creat", "generate": "creat", "build": "creat", "add": "creat",
	"fix": "fix", "repair": "fix", "bug": "fix", "retry": "retri", "backoff": "retri", "cache": "cach", "memoize": "cach",
	"sort": "sort", "order": "sort", "email": "email", "mail": "email", "smtp": "email", "file": "file",
	"picture": "imag", "photo": "imag", "image": "imag", "save": "writ", "write": "writ", "store": "writ", "persist": "writ",
	"combine": "merg", "join": "merg", "merge": "merg", "check": "valid", "verify": "valid", "validate": "valid",
	"unpack": "extract", "decompress": "extract", "tarball": "tar", "console": "terminal", "tty": "terminal",
	"colorful": "color", "colored": "color", "colour": "color", "timestamp": "time", "date": "time", "duplicate": "copi", "copy": "copi",
	"throttle": "limit", "cap": "limit", "shrink": "resiz", "resize": "resiz", "summary": "summar", "summarize": "summar",
	"pdfs": "pdf", "jwt": "token", "container": "docker", "containerize": "docker",
}

func oldSet(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Tokens splits text into normalised words: lower case, split on anything
// that is not a letter or digit (so snake_case and kebab-case split),
// oldStopwords dropped, stemmed, oldSynonyms folded.
func oldTokens(text string) []string {
	var out []string
	lower := strings.ToLower(text)
	if !oldIsASCII(lower) {
		for _, f := range strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			out = oldAppendToken(out, f)
		}
		return out
	}
	// ASCII (nearly every intent): the same split, by bytes, without the
	// slice of fields.
	for i := 0; i < len(lower); {
		for i < len(lower) && !oldIsWordByte(lower[i]) {
			i++
		}
		j := i
		for j < len(lower) && oldIsWordByte(lower[j]) {
			j++
		}
		if j > i {
			out = oldAppendToken(out, lower[i:j])
		}
		i = j
	}
	return out
}

// oldIsWordByte reports whether c, a lower-case ASCII byte, is a letter or a
// digit: what unicode.IsLetter and unicode.IsDigit say of it.
func oldIsWordByte(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func oldIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// oldAppendToken appends word f, already lower case, normalised: nothing for a
// stopword, else its synonym, or its stem's.
func oldAppendToken(out []string, f string) []string {
	if oldStopwords[f] {
		return out
	}
	if s, ok := oldSynonyms[f]; ok {
		return append(out, s)
	}
	st := oldStem(f)
	if s, ok := oldSynonyms[st]; ok {
		st = s
	}
	return append(out, st)
}

// stem strips common English suffixes (a small Porter-like stemmer).
func oldStem(w string) string {
	if len(w) <= 3 {
		return w
	}
	for _, suf := range []string{"ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "ly", "s"} {
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= 3 {
			w = w[:len(w)-len(suf)]
			if suf == "ies" || suf == "ied" {
				w += "i"
			}
			break
		}
	}
	if strings.HasSuffix(w, "e") && len(w) > 4 {
		w = w[:len(w)-1]
	}
	return w
}

// oldDoc is the words of a skill that its intent is judged by: the intent
// itself, then its tags and the actions of its reasoning steps.
type oldDoc struct {
	Intent map[string]bool
	Extra  map[string]bool // tags and step actions
}

// newOldDoc builds the words of a trace.
func newOldDoc(t *schema.Trace) oldDoc {
	d := oldDoc{Intent: map[string]bool{}, Extra: map[string]bool{}}
	for _, w := range oldTokens(t.Intent) {
		d.Intent[w] = true
	}
	for _, tag := range t.Tags {
		for _, w := range oldTokens(tag) {
			d.Extra[w] = true
		}
	}
	for _, st := range t.ReasoningPath {
		for _, w := range oldTokens(st.Action) {
			d.Extra[w] = true
		}
	}
	return d
}

// Score is the similarity of a query to a skill, in [0,1]. A query word
// found in the skill's intent counts fully, one found only in its tags or
// actions counts half; the score is the weighted share of the query's
// words found (recall), tempered by the share of the intent's words that
// the query names (precision), 0.7 and 0.3.
func oldScore(query []string, d oldDoc) float64 {
	q := map[string]bool{}
	for _, w := range query {
		q[w] = true
	}
	if len(q) == 0 || len(d.Intent) == 0 {
		return 0
	}
	found := 0.0
	for w := range q {
		switch {
		case d.Intent[w]:
			found++
		case d.Extra[w]:
			found += 0.5
		}
	}
	named := 0
	for w := range d.Intent {
		if q[w] {
			named++
		}
	}
	return oldCombine(found, named, len(q), len(d.Intent))
}

// combine is Score from its counts: found, the weighted query words found
// (1 in the intent, 0.5 only in tags or actions); named, the query words in
// the intent; and the numbers of distinct words of the query and of the
// intent.
func oldCombine(found float64, named, queryWords, intentWords int) float64 {
	if queryWords == 0 || intentWords == 0 {
		return 0
	}
	recall := found / float64(queryWords)
	precision := float64(named) / float64(intentWords)
	return 0.7*recall + 0.3*precision
}
