package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// afterOpen runs between pidfd_open and the identity check; tests use it to recycle the pid there.
var afterOpen = func() {}

// signal proves identity through a pidfd and signals through it. A pidfd names the process that had
// the pid when it was opened, and pidfd_send_signal reaches that process or nobody. The start time
// read after opening proves that process is ours: a process started later cannot hold the pid while
// the opened one lives. A group signal cannot go through the pidfd; it is sent only while the pidfd
// shows its leader alive, and the group id cannot be reused while the leader lives.
func signal(h Handle, sig os.Signal, group bool) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("unsupported signal %v", sig)
	}
	if h.Pid <= 0 {
		return ErrGone
	}
	if h.Start.IsZero() {
		return ErrUnknownStart
	}
	fd, err := unix.PidfdOpen(h.Pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return ErrGone
	case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM):
		return checkThenKill(h, s, group) // a kernel before 5.3, or a seccomp filter
	case err != nil:
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(fd)
	afterOpen()
	if err := h.Verify(); err != nil {
		return unwrapped(err)
	}
	if group {
		// The group id is the leader's pid, which cannot be given to a new process while the
		// leader (held by the pidfd and proven ours) or any member of its group lives.
		if pg, err := unix.Getpgid(h.Pid); err != nil || pg != h.Pid {
			return fmt.Errorf("pid %d no longer leads its process group", h.Pid)
		}
		if exited(fd) {
			return ErrGone // the pidfd's process is gone: the pid may already be another's
		}
		return gone(unix.Kill(-h.Pid, s))
	}
	return gone(unix.PidfdSendSignal(fd, s, nil, 0))
}

// exited reports whether the pidfd's process has exited (the pidfd is readable then).
func exited(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// checkThenKill is the fallback without pidfds.
func checkThenKill(h Handle, s syscall.Signal, group bool) error {
	if err := h.Verify(); err != nil {
		return unwrapped(err)
	}
	if group {
		return gone(unix.Kill(-h.Pid, s))
	}
	return gone(unix.Kill(h.Pid, s))
}

// waitGone polls the pidfd, which becomes readable when the whole process has
// exited. Verify cannot tell: it calls a process gone when its leader thread
// is a zombie, and the leader of a multi-threaded process being killed (a Go
// program, dolt) is a zombie while its other threads still exit, holding its
// files, sockets and locks. Only a pid that no longer exists or now names
// another process ends the wait before the pidfd does.
func waitGone(ctx context.Context, h Handle) error {
	if h.Pid <= 0 {
		return nil
	}
	fd, err := unix.PidfdOpen(h.Pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return pollGone(ctx, h)
	}
	defer unix.Close(fd)
	if !h.Start.IsZero() {
		// After opening: the pidfd may name a successor, do not wait on it.
		st, err := StartTime(h.Pid)
		if errors.Is(err, ErrGone) || (err == nil && !h.Same(Handle{Pid: h.Pid, Start: st})) {
			return nil
		}
	}
	// Wake at least every 100 ms to look at ctx: poll(2) cannot wait on a channel.
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return pollGone(ctx, h)
		}
		if n > 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
