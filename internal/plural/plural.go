// Package plural writes counted nouns the way a person would: "1 daemon",
// "2 daemons", "0 entries". It is a leaf: it imports nothing of beadsctl's.
package plural

import (
	"strconv"
	"strings"
)

// Count is n followed by noun, in the plural unless n is 1: "1 daemon",
// "3 daemons", "2 entries". Nouns ending in a consonant and y take -ies,
// those ending in s, x, z, ch or sh take -es; others take -s.
func Count(n int, noun string) string {
	return strconv.Itoa(n) + " " + Noun(n, noun)
}

// Noun is noun in the plural unless n is 1.
func Noun(n int, noun string) string {
	if n == 1 || noun == "" {
		return noun
	}
	switch {
	case strings.HasSuffix(noun, "y") && len(noun) > 1 && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])):
		return noun[:len(noun)-1] + "ies"
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "z"),
		strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"):
		return noun + "es"
	}
	return noun + "s"
}
