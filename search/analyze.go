package search

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
)

// The analyzer turns text into index terms: words split at anything that is
// not a letter or digit and at camelCase boundaries (so snake_case,
// kebab-case and getLogger split), lower-cased, English function words
// dropped, then stemmed with the Snowball (Porter2) English stemmer. The
// same analysis applies to skills and queries; an index made by another
// analysis is rebuilt (analyzerVersion is part of the index's version).

// analyzerVersion changes whenever terms would come out differently.
const analyzerVersion = "terms-3"

// stopwords are English function words (Snowball's English list, less the
// words that can name a task: "off", "up", "down", "over", "out", "once",
// "again", "no", "not", "same", "all", "few", "more", "most", "very") and the
// words a request is wrapped in ("how", "want", "need").
var stopwords = set(
	"i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself", "yourselves",
	"he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they", "them", "their",
	"theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these", "those", "am", "is", "are", "was",
	"were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "would", "should",
	"could", "ought", "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at", "by",
	"for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above", "below",
	"to", "from", "in", "on", "under", "further", "then", "here", "there", "when", "where", "why", "how", "both",
	"each", "other", "some", "such", "nor", "only", "own", "so", "than", "too", "can", "will", "just", "should",
	"now", "s", "t", "d", "ll", "m", "re", "ve", "y", "don", "isn", "aren", "wasn", "weren", "hasn", "haven",
	"hadn", "doesn", "didn", "won", "wouldn", "shan", "shouldn", "mustn", "can't", "cannot", "could", "let", "lets",
	"want", "need", "via", "using", "use", "also", "any", "one", "every", "many", "much", "way", "like", "get", "make",
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// stemmer names the stemming applied to each word; it is a variable so
// that the quality measurements can compare stemmers (see quality_test.go).
var stemmer = stemSnowball

func stemSnowball(w string) string {
	if len(w) <= 2 || !isASCII(w) {
		return w
	}
	return english.Stem(w, true)
}

// Tokens returns the index terms of text, in order, repeats kept.
func Tokens(text string) []string {
	var out []string
	eachWord(text, func(w string) {
		if t := term(w); t != "" {
			out = append(out, t)
		}
	})
	return out
}

// term is the index term of one lower-case word, or "" for a function word
// or a single character.
func term(w string) string {
	if len(w) < 2 && (len(w) == 0 || w[0] < '0' || w[0] > '9') || stopwords[w] {
		return ""
	}
	if t, ok := stems.Load(w); ok {
		return t.(string)
	}
	t := stemmer(w)
	if stemsCount.Add(1) < maxStems {
		stems.Store(w, t)
	}
	return t
}

// termUncached is term without the process-wide cache: for an index build,
// which keeps its own cache of the hive's words for the time it runs
// rather than the process's for as long as it lives.
func termUncached(w string) string {
	if len(w) < 2 && (len(w) == 0 || w[0] < '0' || w[0] > '9') || stopwords[w] {
		return ""
	}
	if t, ok := stems.Load(w); ok {
		return t.(string)
	}
	return stemmer(w)
}

// stems caches the stemmer's answers: a hive's words repeat, and stemming
// is most of the cost of analysing a trace. At most maxStems are kept.
var (
	stems      sync.Map // word -> term
	stemsCount atomic.Int64
)

const maxStems = 1 << 20

// eachWord calls fn with each word of text, lower-cased: runs of letters and
// digits, split where a lower-case letter or digit is followed by an upper-
// case one ("getLogger": get, logger) and where an upper-case run meets a
// capitalised word ("HTTPServer": http, server).
func eachWord(text string, fn func(string)) {
	if isASCII(text) {
		eachASCIIWord(text, fn)
		return
	}
	rs := []rune(text)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			fn(strings.ToLower(string(rs[start:end])))
		}
		start = -1
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start >= 0 && unicode.IsUpper(r) && i > start {
			p := rs[i-1]
			if unicode.IsLower(p) || unicode.IsDigit(p) || unicode.IsUpper(p) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) {
				flush(i)
			}
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(rs))
}

func eachASCIIWord(s string, fn func(string)) {
	var buf [64]byte
	eachASCIISpan(s, func(start, end int) {
		w := s[start:end]
		if lower := toLowerASCII(w, buf[:0]); lower != nil {
			fn(string(lower))
		} else {
			fn(w)
		}
	})
}

// eachASCIIWordBytes is eachASCIIWord that hands fn each word lower-cased
// in buf (valid only during the call), and returns buf for reuse.
func eachASCIIWordBytes(s string, buf []byte, fn func([]byte)) []byte {
	eachASCIISpan(s, func(start, end int) {
		buf = buf[:0]
		for i := start; i < end; i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf, c)
		}
		fn(buf)
	})
	return buf
}

// eachASCIISpan calls fn with the start and end of each word of s, split
// as eachWord splits.
func eachASCIISpan(s string, fn func(start, end int)) {
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			fn(start, end)
		}
		start = -1
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		isUpper := 'A' <= c && c <= 'Z'
		if !(isUpper || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			flush(i)
			continue
		}
		if start >= 0 && isUpper && i > start {
			p := s[i-1]
			pUpper := 'A' <= p && p <= 'Z'
			if !pUpper || i+1 < len(s) && 'a' <= s[i+1] && s[i+1] <= 'z' {
				flush(i)
			}
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(s))
}

// toLowerASCII returns w lower-cased in buf, or nil when w has no upper-case
// letter.
func toLowerASCII(w string, buf []byte) []byte {
	has := false
	for i := 0; i < len(w); i++ {
		if 'A' <= w[i] && w[i] <= 'Z' {
			has = true
			break
		}
	}
	if !has {
		return nil
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
