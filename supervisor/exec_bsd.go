//go:build unix && !linux

package supervisor

import (
	"os"
	"os/exec"
	"syscall"
)

// sysProcAttr puts the child in its own process group. There is no
// parent-death signal outside Linux: bd polls its parent itself.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// waitExitedNoReap cannot wait without reaping here (Go does not trust
// waitid on Darwin); the caller kills the rest of the group after the reap.
func waitExitedNoReap(int, func(status error, known bool)) bool { return false }

// outputPipe is a pipe for a child's output (os.Pipe: no pipe2 on Darwin).
func outputPipe() (r, w *os.File, err error) { return os.Pipe() }

// setPipeSize does nothing here: the pipe keeps the system's size.
func setPipeSize(*os.File) {}

// startChild starts cmd and returns its pid and how to reap it.
func startChild(cmd *exec.Cmd, _ int) (int, func() error, error) {
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	return cmd.Process.Pid, cmd.Wait, nil
}
