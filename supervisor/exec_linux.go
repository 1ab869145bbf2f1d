package supervisor

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in its own process group and has the kernel
// SIGKILL it when the agent dies. Pdeathsig fires when the thread that forked
// exits; Go keeps its threads alive unless a goroutine exits while locked to one.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// waitExitedNoReap blocks until pid has exited, leaving it a zombie, and
// calls exited with the exit status the kernel reported (as Err will say it;
// known is false when it could not be read). It returns false, without
// calling exited, when it cannot tell (the caller then reaps without it).
//
// The wait is a pidfd in Go's poller (epoll): it becomes readable when the
// process exits, and no thread is held meanwhile. A blocking waitid held one
// OS thread per daemon (257 threads for 250 daemons). Without pidfds (before
// Linux 5.3) it falls back to that.
func waitExitedNoReap(pid int, exited func(status error, known bool)) bool {
	var info siginfoChild
	if ok, done := waitPidfd(pid, &info, exited); done {
		return ok
	}
	for {
		err := unix.Waitid(unix.P_PID, pid, info.raw(), unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false
		}
		exited(info.exitErr(pid))
		return true
	}
}

// waitPidfd waits for pid's exit through a pidfd in the poller and calls
// exited (before the pidfd is closed: a restart forks first); done is false
// when no pidfd could be had (the caller waits another way).
func waitPidfd(pid int, info *siginfoChild, exited func(status error, known bool)) (ok, done bool) {
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
		*info = siginfoChild{}
		werr = unix.Waitid(unix.P_PIDFD, int(fd), info.raw(), unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
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
	if werr != nil {
		return false, true
	}
	exited(info.exitErr(pid))
	return true, true
}

// is64bit is 1 on 64-bit hosts, 0 on 32-bit ones.
const is64bit = ^uint(0) >> 63

// siginfoChild is a siginfo_t as waitid fills it in for a child: the layout
// of Go's own internal/syscall/unix.SiginfoChild (x/sys's Siginfo keeps the
// child's pid and status opaque).
type siginfoChild struct {
	Signo int32
	Errno int32 // si_errno and si_code trade places on MIPS: see code
	Code  int32
	_     [is64bit]int32

	Pid    int32
	Uid    uint32
	Status int32

	_ [128 - (6+is64bit)*4]byte
}

func (s *siginfoChild) raw() *unix.Siginfo { return (*unix.Siginfo)(unsafe.Pointer(s)) }

// The si_code values of a child's exit.
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// code is si_code; si_errno is always 0 for a child's report, so on MIPS,
// where the two trade places, the non-zero one is the code.
func (s *siginfoChild) code() int32 {
	if s.Code == 0 {
		return s.Errno
	}
	return s.Code
}

// exitErr is the exit status of pid in s as convertExit turns a wait status
// into an error (nil for exit 0); known is false when s is not pid's exit.
func (s *siginfoChild) exitErr(pid int) (err error, known bool) {
	if int(s.Pid) != pid {
		return nil, false
	}
	switch s.code() {
	case cldExited:
		if s.Status == 0 {
			return nil, true
		}
		return &ExitError{Code: int(s.Status)}, true
	case cldKilled, cldDumped:
		return &ExitError{Code: -1, Signal: unix.SignalName(syscall.Signal(s.Status))}, true
	}
	return nil, false
}

// outputPipe is a pipe for a child's output: the read end non-blocking, in
// the poller; the write end blocking, as the child expects its stdout to be.
// Six system calls where os.Pipe and os/exec take eleven.
func outputPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	if err := unix.SetNonblock(p[0], true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
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
