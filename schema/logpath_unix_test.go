//go:build unix

package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadLogPathNotRegular: a FIFO (or a device, a folder) as a log path is
// an error at the attribute; issue 13: a FIFO passed validate and then
// blocked the agent's log writer and destroy.
func TestLoadLogPathNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "out.fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "daemon \"x\" {\n  command = \"a\"\n  logs {\n    out   = \"out.fifo\"\n    error = \"logs\"\n    combined = \"logs/ok.log\"\n  }\n}\n"
	path := filepath.Join(dir, "beads.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, diags := Load(path, "", nil)
	want := []string{
		fmt.Sprintf(`4:13: error: Log path is not a regular file; logs.out: %s is a named pipe (FIFO); logs are appended to regular files only. Name a file, or write "" to write no file.`, filepath.Join(dir, "out.fifo")),
		fmt.Sprintf(`5:13: error: Log path is not a regular file; logs.error: %s is a folder; logs are appended to regular files only. Name a file, or write "" to write no file.`, filepath.Join(dir, "logs")),
	}
	if diff := cmp.Diff(want, diagLines(diags)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// TestPathsRegularIsEachPathsCheck: pathsRegular, which stats each path from
// its folder opened once (taken from the path before it when that is in the
// same folder), says what regularPath says of each path, wherever the one
// path that is not a log file sits among others of its folder, of another
// folder, relative ones and ones through "..".
func TestPathsRegularIsEachPathsCheck(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, d := range []string{"a", "b", "a/sub"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/x.log", "b/x.log", "y.log", "a/sub/z.log"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Each name is something else in another folder: a path looked up in
	// the wrong one is told apart.
	for _, f := range []string{"b/q.log", "pipe", "a/sub/pipe"} {
		if err := syscall.Mkfifo(filepath.Join(dir, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := []string{
		filepath.Join(dir, "a/x.log"), filepath.Join(dir, "a/q.log"), filepath.Join(dir, "b/x.log"),
		filepath.Join(dir, "a/sub/../x.log"), filepath.Join(dir, "a/sub/z.log"), "y.log", "q.log", "a/pipe",
		filepath.Join(dir, "nofolder/pipe"), "a/x.log", "a/sub/z.log", filepath.Join(dir, "b/pipe"),
	}
	bad := []string{
		filepath.Join(dir, "b/q.log"), filepath.Join(dir, "a/sub/../../pipe"), filepath.Join(dir, "a/sub"),
		"pipe", "a/sub/pipe", filepath.Join(dir, "b/../b/q.log"),
	}
	for _, p := range good {
		if !regularPath(p) {
			t.Fatalf("%s: not a log file", p)
		}
	}
	if !pathsRegular(good) {
		t.Fatal("log files refused")
	}
	for _, b := range bad {
		if regularPath(b) {
			t.Fatalf("%s: a log file", b)
		}
		for at := range len(good) + 1 {
			paths := append(append(append([]string{}, good[:at]...), b), good[at:]...)
			if pathsRegular(paths) {
				t.Fatalf("%s at %d of %v: taken for a log file", b, at, paths)
			}
		}
	}
}
