package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTailFile(t *testing.T) {
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
			if diff := cmp.Diff(tc.want, TailFile(path, tc.n)); diff != "" {
				t.Errorf("TailFile (-want +got):\n%s", diff)
			}
		})
	}
	if got := TailFile(filepath.Join(t.TempDir(), "missing"), 3); got != nil {
		t.Errorf("TailFile(missing) = %q, want nil", got)
	}
}
