package clitools

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/google/go-cmp/cmp"
)

// TestFmtStdinEndsItsLine: `fmt -` wrote stdin's formatted text without the
// newline it lacked, so the diagnostics of the next file ran into its last
// line ("…} # must be a valid variable name.bad.hcl:5:7: error: …" with
// 2>&1). Formatted text ends with a newline, files as well as stdout.
func TestFmtStdinEndsItsLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("daemon \"x\" {\n  command = \"a\"\n  args = [\n    1,\n    2 3 ]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := cli.NewTools(Commands)
	var both bytes.Buffer // stdout and stderr together, as 2>&1
	root.SetOut(&both)
	root.SetErr(&both)
	root.SetIn(strings.NewReader("daemon \"a\" {\n  command = \"x\"\n} # must be a valid variable name."))
	root.SetArgs([]string{"fmt", "-", bad})
	if err := root.ExecuteContext(t.Context()); err == nil {
		t.Fatal("fmt of a broken file succeeded")
	}
	want := "daemon \"a\" {\n  command = \"x\"\n} # must be a valid variable name.\n" + bad + ":5:7: error: Missing item separator"
	if !strings.HasPrefix(both.String(), want) {
		t.Errorf("fmt - %s wrote\n%q\nwant it to start\n%q", bad, both.String(), want)
	}
	if got := string(canonical([]byte("daemon \"a\" {\n}\n\n\n"))); got != "daemon \"a\" {\n}\n" {
		t.Errorf("canonical keeps trailing blank lines: %q", got)
	}
}

// TestFmtStdinInterrupted: Ctrl-C (the command's context cancelled) ends a
// fmt - whose input has not ended, with an error and nothing written; the
// first Ctrl-C did nothing and fmt exited 0 once the input ended.
func TestFmtStdinInterrupted(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	if _, err := w.WriteString("daemon \"a\" {\n"); err != nil {
		t.Fatal(err)
	}
	root := cli.NewTools(Commands)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(r)
	root.SetArgs([]string{"fmt", "-"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "interrupted") || out.Len() != 0 {
			t.Errorf("fmt - interrupted: %v, stdout %q; want an interruption error and nothing written", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fmt - still waits for its input 30 s after the interrupt")
	}
}

func TestUnifiedDiff(t *testing.T) {
	tests := map[string]struct{ a, b, want string }{
		"equal": {a: "x\n", b: "x\n", want: ""},
		"two hunks": {
			a:    "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
			b:    "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve\n",
			want: "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n",
		},
		"close changes merge": {
			a:    "1\n2\n3\n4\n5\n6\n7\n8\n",
			b:    "1\nX\n3\n4\n5\n6\n7\nY\n",
			want: "--- a\n+++ b\n@@ -1,8 +1,8 @@\n 1\n-2\n+X\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n",
		},
		"insert into empty": {a: "", b: "x\n", want: "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n"},
		"no newline at end": {
			a:    "x\ny",
			b:    "x\ny\n",
			want: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := unifiedDiff("a", "b", []byte(tc.a), []byte(tc.b))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
