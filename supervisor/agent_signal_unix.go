//go:build !windows

package supervisor

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// agSignalGroup sends sig to the process group led by pid.
func agSignalGroup(pid int, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		s = syscall.SIGTERM
	}
	return unix.Kill(-pid, s)
}

// agKillSignal is the signal that cannot be caught.
var agKillSignal os.Signal = syscall.SIGKILL

// agParseSignal turns "SIGTERM" (or "TERM") into a signal; SIGTERM when unknown.
func agParseSignal(name string) os.Signal {
	if name == "" {
		return syscall.SIGTERM
	}
	if len(name) < 3 || name[:3] != "SIG" {
		name = "SIG" + name
	}
	if s := unix.SignalNum(name); s != 0 {
		return s
	}
	return syscall.SIGTERM
}
