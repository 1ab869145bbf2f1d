//go:build unix && !linux

package supervisor

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group. There is no
// parent-death signal outside Linux: bd polls its parent itself.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// waitExitedNoReap cannot wait without reaping here (Go does not trust
// waitid on Darwin); the caller kills the rest of the group after the reap.
func waitExitedNoReap(pid int) bool { return false }

// setPipeSize does nothing here: the pipe keeps the system's size.
func setPipeSize(*os.File) {}
