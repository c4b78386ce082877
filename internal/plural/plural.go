// Package plural words a count of things in English: "1 trace",
// "2 traces", "0 successes".
package plural

import (
	"strconv"
	"strings"
)

// N is n and the noun, plural unless n is 1. The noun is singular; in a
// phrase ("upheld dispute") its last word takes the plural.
func N(n int, noun string) string {
	if n == 1 || n == -1 {
		return strconv.Itoa(n) + " " + noun
	}
	return strconv.Itoa(n) + " " + Of(noun)
}

// Of is the plural of a singular noun, or of the last word of a phrase:
// s, x, z, ch and sh take -es; a consonant and y, -ies; others, -s.
func Of(noun string) string {
	last := noun[strings.LastIndexByte(noun, ' ')+1:]
	switch {
	case last == "":
		return noun
	case strings.HasSuffix(last, "s"), strings.HasSuffix(last, "x"), strings.HasSuffix(last, "z"),
		strings.HasSuffix(last, "ch"), strings.HasSuffix(last, "sh"):
		return noun + "es"
	case len(last) > 1 && last[len(last)-1] == 'y' && !strings.ContainsRune("aeiou", rune(last[len(last)-2])):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}
