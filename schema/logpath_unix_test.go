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
