package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDaemonLogFIFONeverBlocks: a log path that is a FIFO, with or without a
// reader (it may have become one after validate), is refused with a
// log_error; the daemon runs on and its Run returns at once when stopped
// (issue 13: the writer blocked in open(), status said Healthy, lines were
// lost and destroy hung for ever).
func TestDaemonLogFIFONeverBlocks(t *testing.T) {
	for name, reader := range map[string]bool{"without a reader": false, "with a reader": true} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			if err := unix.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
			if reader {
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
			}
			spec := Spec{Name: "test", Dir: t.TempDir(), Argv: []string{"sh", "-c", "echo hello; exec sleep 1000"}, Logs: LogSpec{Out: path}}
			d := NewDaemon(spec, DaemonOptions{})
			stop := runStoppable(t, d)
			st := waitStatus(t, d, 10*time.Second, "a log error", func(s Status) bool { return s.LogError != "" && s.State == StateOnline })
			if !strings.Contains(st.LogError, "not a regular file (a named pipe)") {
				t.Errorf("status = %+v, want online with a log error naming the named pipe", st)
			}
			stop() // fails unless Run returns: the log writer must not block
		})
	}
}
