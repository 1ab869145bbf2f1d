package supervisor

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in its own process group and has the kernel
// SIGKILL it when the agent dies. Pdeathsig fires when the thread that forked
// exits; Go keeps its threads alive unless a goroutine exits while locked to one.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// waitExitedNoReap blocks until pid has exited, leaving it a zombie. It
// returns false when it cannot tell (the caller then reaps without it).
func waitExitedNoReap(pid int) bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		return err == nil
	}
}

// setPipeSize raises a child's output pipe to 1 MiB (or what
// /proc/sys/fs/pipe-max-size allows): a chatty child blocks less often.
func setPipeSize(f *os.File) {
	for _, size := range []int{1 << 20, 256 << 10} {
		if _, err := unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, size); err == nil {
			return
		}
	}
}
