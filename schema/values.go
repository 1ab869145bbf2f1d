package schema

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// sizeForms is the list of accepted size forms, quoted in every size error.
const sizeForms = `a whole number of bytes ("1048576") or a whole number with K, M, G or T ("512K", "200M", "1G")`

// ParseSize parses a size in PM2's forms: plain bytes ("1048576") or a whole
// number followed by K, M, G or T (optionally with B or iB: "200M", "200MB",
// "200MiB"), case-insensitive, in powers of 1024. Fractions ("1.5G") and
// negative numbers are rejected with the accepted forms in the error.
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty size: use %s", sizeForms)
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	digits, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	if digits == "" || strings.ContainsAny(unit, ".,-+") {
		return 0, fmt.Errorf("%q is not a size: use %s%s", s, sizeForms, fractionHint(t))
	}
	var mult uint64
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "IB"), "B") {
	case "":
		mult = 1
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	case "T":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("%q is not a size: use %s", s, sizeForms)
	}
	if unit == "IB" { // "100iB" is not a thing
		return 0, fmt.Errorf("%q is not a size: use %s", s, sizeForms)
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > (1<<64-1)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// fractionHint suggests the whole-number spelling of a fractional size such
// as "1.5G" ("1536M"), or returns "".
func fractionHint(t string) string {
	units := "KMGT"
	j := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if j <= 0 {
		return ""
	}
	num, unit := t[:j], strings.ToUpper(t[j:j+1])
	f, err := strconv.ParseFloat(num, 64)
	k := strings.Index(units, unit)
	if err != nil || k <= 0 || f < 0 {
		return ""
	}
	if v := f * 1024; v == float64(int64(v)) {
		return fmt.Sprintf("; fractions are not accepted, write %q", fmt.Sprintf("%d%c", int64(v), units[k-1]))
	}
	return ""
}

// ParseDuration parses a duration in Go's form ("500ms", "5s", "1m30s"; units
// ns, us, ms, s, m, h). "0" is zero; other bare numbers are rejected, because
// PM2's milliseconds and a reader's seconds are too easy to confuse: the error
// suggests both spellings. Negative durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	if t != "" && strings.Trim(t, "0123456789") == "" {
		return 0, fmt.Errorf("%q has no unit: write %q for milliseconds (as PM2 counts) or %q for seconds", s, t+"ms", t+"s")
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: use a number with a unit, such as \"500ms\", \"5s\" or \"1m30s\" (units ns, us, ms, s, m, h)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// signals are the stop signals accepted, by canonical name.
var signals = []string{"SIGHUP", "SIGINT", "SIGQUIT", "SIGABRT", "SIGKILL", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGWINCH"}

// ParseSignal canonicalizes a signal name: "TERM", "sigterm" and "SIGTERM" all
// give "SIGTERM". Unknown names are an error listing the accepted ones.
func ParseSignal(s string) (string, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for _, sig := range signals {
		if sig == name {
			return sig, nil
		}
	}
	return "", fmt.Errorf("%q is not a signal beadsctl can send; use one of %s", s, strings.Join(signals, ", "))
}

// momentTokens maps PM2's (moment.js) date tokens to Go layout elements,
// longest first so that "YYYY" wins over "YY".
var momentTokens = []struct{ moment, goLayout string }{
	{"YYYY", "2006"}, {"YY", "06"},
	{"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"}, {"M", "1"},
	{"DDDD", "002"}, {"DDD", "__2"}, {"DD", "02"}, {"Do", "2"}, {"D", "2"},
	{"dddd", "Monday"}, {"ddd", "Mon"},
	{"HH", "15"}, {"H", "15"}, {"hh", "03"}, {"h", "3"},
	{"mm", "04"}, {"m", "4"},
	{"ss", "05"}, {"s", "5"},
	{"SSSSSSSSS", "000000000"}, {"SSSSSS", "000000"}, {"SSS", "000"}, {"SS", "00"}, {"S", "0"},
	{"ZZ", "-0700"}, {"Z", "-07:00"}, {"zz", "MST"}, {"z", "MST"},
	{"A", "PM"}, {"a", "pm"},
}

// MomentToGoLayout converts a PM2 log_date_format (moment.js tokens such as
// YYYY MM DD HH mm ss SSS Z ZZ, with [literal] text in brackets) to a Go time
// layout: "YYYY-MM-DD HH:mm:ss Z" gives "2006-01-02 15:04:05 -07:00". A string
// that already is a Go layout (it holds "2006", "15:04" or "04:05") is returned
// unchanged. Fractional seconds (S...) become Go's fraction after a '.' or ','.
func MomentToGoLayout(format string) string {
	if strings.Contains(format, "2006") || strings.Contains(format, "15:04") || strings.Contains(format, "04:05") {
		return format
	}
	var b strings.Builder
	for i := 0; i < len(format); {
		if format[i] == '[' {
			if j := strings.IndexByte(format[i:], ']'); j > 0 {
				b.WriteString(format[i+1 : i+j])
				i += j + 1
				continue
			}
		}
		matched := false
		for _, tok := range momentTokens {
			if strings.HasPrefix(format[i:], tok.moment) {
				b.WriteString(tok.goLayout)
				i += len(tok.moment)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(format[i])
			i++
		}
	}
	return b.String()
}

// suggest returns the candidate closest to s (case-insensitive edit distance
// under 3), or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	ls := strings.ToLower(s)
	var prefixed []string
	for _, c := range candidates {
		if len(ls) >= 2 && strings.HasPrefix(strings.ToLower(c), ls) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	for _, c := range candidates {
		if d := distance(ls, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// didYouMean is suggest as a sentence to append to a detail, or "".
func didYouMean(s string, candidates []string) string {
	if c := suggest(s, candidates); c != "" {
		return fmt.Sprintf(" Did you mean %q?", c)
	}
	return ""
}

// distance is the Levenshtein distance between a and b (bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quoteList renders names as `"a", "b" or "c"`.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
