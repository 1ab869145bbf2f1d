//go:build unix

package supervisor

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStderr makes fd 2 a copy of f.
func redirectStderr(f *os.File) { _ = unix.Dup2(int(f.Fd()), 2) }
