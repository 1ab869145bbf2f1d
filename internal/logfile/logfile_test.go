package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTail(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "line %d %s\n", i, strings.Repeat("x", 40))
		}
		return b.String()
	}
	tests := map[string]struct {
		content string
		n       int
		want    []string
	}{
		"fewer lines than n":    {content: "a\nb\n", n: 5, want: []string{"a", "b"}},
		"last n":                {content: "a\nb\nc\nd\n", n: 2, want: []string{"c", "d"}},
		"no final newline":      {content: "a\nb\nc", n: 2, want: []string{"b", "c"}},
		"crlf":                  {content: "a\r\nb\r\n", n: 2, want: []string{"a", "b"}},
		"empty lines kept":      {content: "a\n\nb\n", n: 3, want: []string{"a", "", "b"}},
		"empty file":            {content: "", n: 3, want: nil},
		"n zero":                {content: "a\n", n: 0, want: nil},
		"across blocks":         {content: many(1000), n: 3, want: []string{"line 998 " + strings.Repeat("x", 40), "line 999 " + strings.Repeat("x", 40), "line 1000 " + strings.Repeat("x", 40)}},
		"huge line is bounded":  {content: "first\n" + strings.Repeat("y", 3<<20) + "\nlast\n", n: 2, want: []string{"last"}},
		"exactly block of line": {content: strings.Repeat("z", 8<<10-1) + "\n", n: 1, want: []string{strings.Repeat("z", 8<<10-1)}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, Tail(path, tc.n)); diff != "" {
				t.Errorf("Tail (-want +got):\n%s", diff)
			}
		})
	}
	if got := Tail(filepath.Join(t.TempDir(), "missing"), 3); got != nil {
		t.Errorf("Tail(missing) = %q, want nil", got)
	}
}

func TestReadTailAndTailAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.log")
	var b strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&b, "line %06d %s\n", i, strings.Repeat("x", 40))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTail(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	x := strings.Repeat("x", 40)
	if d := cmp.Diff([]string{"line 099997 " + x, "line 099998 " + x, "line 099999 " + x}, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if all, err := ReadTail(path, -1); err != nil || len(all) != 100000 || all[0] != "line 000000 "+x {
		t.Errorf("ReadTail(-1): %d lines, %v", len(all), err)
	}
	// No final newline, fewer lines than asked; a hole of NULs from a truncation.
	if err := os.WriteFile(path, []byte("\x00\x00a\r\nb"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = ReadTail(path, 5)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a", "b"}, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	// only the first size bytes count
	got, err = TailAt(strings.NewReader("a\nb\nc\n"), 4, -1)
	if err != nil || cmp.Diff([]string{"a", "b"}, got) != "" {
		t.Errorf("TailAt(size 4) = %q, %v", got, err)
	}
	if _, err := ReadTail(filepath.Join(t.TempDir(), "missing"), 3); err == nil {
		t.Error("ReadTail(missing): no error")
	}
}

// TailSince keeps only what was written after an offset: a bd daemon's exit
// report holds its own lines of daemon.log, not those of an earlier daemon.
func TestTailSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	old := "another daemon 1\nanother daemon 2\n"
	if err := os.WriteFile(path, []byte(old+"mine 1\nmine 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		offset int64
		n      int
		want   []string
	}{
		"after the offset":           {offset: int64(len(old)), n: 10, want: []string{"mine 1", "mine 2"}},
		"last n after it":            {offset: int64(len(old)), n: 1, want: []string{"mine 2"}},
		"nothing new":                {offset: int64(len(old) + 14), n: 10, want: nil},
		"shorter file: all is new":   {offset: 1 << 20, n: 10, want: []string{"another daemon 1", "another daemon 2", "mine 1", "mine 2"}},
		"offset zero: the whole end": {offset: 0, n: 2, want: []string{"mine 1", "mine 2"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, TailSince(path, tc.offset, tc.n)); diff != "" {
				t.Errorf("TailSince (-want +got):\n%s", diff)
			}
		})
	}
}
