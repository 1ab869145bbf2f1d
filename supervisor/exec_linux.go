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
//
// The wait is a pidfd in Go's poller (epoll): it becomes readable when the
// process exits, and no thread is held meanwhile. A blocking waitid held one
// OS thread per daemon (257 threads for 250 daemons). Without pidfds (before
// Linux 5.3) it falls back to that.
func waitExitedNoReap(pid int) bool {
	if ok, done := waitPidfd(pid); done {
		return ok
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		return err == nil
	}
}

// waitPidfd waits for pid's exit through a pidfd in the poller; done is
// false when no pidfd could be had (the caller waits another way).
func waitPidfd(pid int) (exited, done bool) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return false, false
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return false, false
	}
	var werr error
	err = rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo
		werr = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
		if werr == unix.EINTR || werr == unix.EAGAIN {
			return false
		}
		// WNOHANG: nothing filled in (info stays zero) means it still
		// runs; wait for the pidfd to be readable.
		return werr != nil || info.Signo != 0
	})
	if err != nil {
		return false, false
	}
	return werr == nil, true
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
