//go:build !windows

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReadOwnRefusesWhatWasPlanted: ReadOwn reads a regular file up to its
// limit and refuses, at once, a FIFO (os.ReadFile waits in open(2) for a
// writer forever), a link to /dev/zero (os.ReadFile grows until memory runs
// out), a folder and a file over the limit.
func TestReadOwnRefusesWhatWasPlanted(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "entry")
	if err := os.WriteFile(file, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadOwn(file, 7); err != nil || string(b) != "content" {
		t.Fatalf("ReadOwn(regular) = %q, %v", b, err)
	}
	if _, err := ReadOwn(file, 6); !errors.Is(err, ErrNotOwn) {
		t.Errorf("a file over the limit: %v, want ErrNotOwn", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, zero, dir} {
		done := make(chan error, 1)
		go func() { _, err := ReadOwn(p, 1<<20); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("ReadOwn(%s) read it", p)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("ReadOwn(%s) still waiting after 20 s", p)
		}
	}
}
