package schema

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseSize: never panics; every accepted size prints back to the same
// number of bytes; every refusal says why.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"200M", "1G", "512K", "1048576", "200MB", "200MiB", " 10m ", "1.5G", "-1K",
		"0", "", "iB", "100iB", "18446744073709551615", "18446744073709551616", "16777216T", "1e3", "1,5M", "K", "٣M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 || err.Error() == "" {
				t.Fatalf("ParseSize(%q) = %d, %q", s, n, err)
			}
			return
		}
		back, err := ParseSize(strconv.FormatUint(n, 10))
		if err != nil || back != n {
			t.Fatalf("ParseSize(%q) = %d, but its bytes parse to %d, %v", s, n, back, err)
		}
	})
}

// FuzzParseDuration: never panics, never negative; every accepted duration
// prints back (Go's form) to the same value; bare numbers other than 0 are refused.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"5s", "1m30s", "500ms", "0", "1000", "-5s", "1h", "2562047h47m16.854775807s",
		"9999999999h", "", " 5s ", "1.5s", "5", "1µs", "1us", "+5s", ".s", "0x10s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 || err.Error() == "" {
				t.Fatalf("ParseDuration(%q) = %v, %q", s, d, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
		}
		if t2 := strings.TrimSpace(s); t2 != "0" && t2 != "" && strings.Trim(t2, "0123456789") == "" {
			t.Fatalf("ParseDuration(%q) accepted a bare number", s)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v, but %q parses to %v, %v", s, d, d.String(), back, err)
		}
	})
}

// FuzzMomentToGoLayout: never panics, the result is bounded (no token grows by
// more than 6x: Z -> -07:00), Go layouts come back unchanged, and formatting a
// time with the result never panics.
func FuzzMomentToGoLayout(f *testing.F) {
	for _, s := range []string{"YYYY-MM-DD HH:mm:ss Z", "YYYY-MM-DDTHH:mm:ss.SSSZZ", "[at] HH:mm", "[unclosed HH",
		"Do MMMM YYYY, h:mm:ss a", "2006-01-02 15:04:05", "DDDD dddd zz", "]]][[[", "SSSSSSSSSS", "\xff\xfe", ""} {
		f.Add(s)
	}
	ref := time.Date(2026, 11, 26, 13, 55, 40, 123456789, time.FixedZone("CET", 3600))
	f.Fuzz(func(t *testing.T, s string) {
		got := MomentToGoLayout(s)
		if len(got) > 6*len(s) {
			t.Fatalf("MomentToGoLayout(%q) = %q: %d bytes from %d", s, got, len(got), len(s))
		}
		if strings.Contains(s, "2006") && got != s {
			t.Fatalf("Go layout %q changed to %q", s, got)
		}
		_ = ref.Format(got)
	})
}
