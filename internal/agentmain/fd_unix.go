//go:build !windows

package agentmain

import (
	"io"
	"os"
	"syscall"
)

// openFD is the file at descriptor fd, read from its start, closed at the
// exec of a daemon.
func openFD(fd int) (*os.File, error) {
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "agent-run")
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
