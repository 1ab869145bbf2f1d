//go:build unix

package logpath

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path    string
		refused bool
	}{
		"new regular file": {path: filepath.Join(dir, "new.log")},
		"fifo":             {path: fifo, refused: true},
		"folder":           {path: dir, refused: true},
		"/dev/null":        {path: "/dev/null"},
		"/dev/full":        {path: "/dev/full"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := Open(tc.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if f != nil {
				f.Close()
			}
			if got := errors.Is(err, ErrNotRegular); got != tc.refused {
				t.Errorf("Open(%s): %v, want refused %v", tc.path, err, tc.refused)
			}
		})
	}
}
