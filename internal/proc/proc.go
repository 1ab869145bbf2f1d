// Package proc is process identity: the one place that decides whether a pid still names a process we
// know, and the only one that sends signals to a pid that is not a child we hold.
//
// A Handle is a pid and that process's start time. The comparison rule, the only one in beadsctl:
// two handles name the same process when their pids are equal, both start times are known, and the
// start times are equal to the millisecond. The OS keeps a start time at least that finely (Linux
// counts clock ticks since boot, 10 ms; macOS microseconds; Windows 100 ns) and reports the same value
// every time it is read for one process, so no tolerance is needed: a tolerance would let a pid
// recycled within it pass. What the rule cannot tell apart is a pid recycled within one clock tick of
// the first process's start; a pid comes back only after the pid space wraps, which takes far longer
// (tens of thousands of forks), and on Linux the pidfd catches even that case. An unknown start time (zero) is never "the same": it means "not proven
// ours", and Signal refuses it with ErrUnknownStart.
//
// Signal and SignalGroup check identity immediately before signalling. On Linux the check and the
// signal go through a pidfd (pidfd_open, the start time read after opening, pidfd_send_signal), so a
// pid recycled between the check and the signal cannot receive it; elsewhere they fall back to
// check-then-kill, whose window is the time between two system calls.
//
// It is a leaf: it imports nothing of beadsctl's.
package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

var (
	// ErrUnknownStart means the start time of the process is not known, so the pid is not proven to
	// name the process meant: nothing is signalled.
	ErrUnknownStart = errors.New("start time unknown: not proven to be the process meant")
	// ErrNotOurs means the pid now names another process (it was recycled): nothing is signalled.
	ErrNotOurs = errors.New("pid now names another process (recycled)")
	// ErrGone means the process has exited (it may linger as a zombie until reaped). It is
	// os.ErrProcessDone, so callers may test either.
	ErrGone = os.ErrProcessDone
)

// Handle names one process: its pid and its start time (zero when unknown).
type Handle struct {
	Pid   int
	Start time.Time
}

// Open returns the handle of the process that pid names now.
func Open(pid int) (Handle, error) {
	t, err := StartTime(pid)
	if err != nil {
		return Handle{Pid: pid}, err
	}
	return Handle{Pid: pid, Start: t}, nil
}

// StartTime returns the OS start time of pid, truncated to the millisecond; ErrGone when no such
// process exists.
func StartTime(pid int) (time.Time, error) {
	if pid <= 0 {
		return time.Time{}, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	ms, err := startMillis(pid)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}

// Same reports whether h and o name the same process, by the package's one rule: equal pids, both
// start times known, equal to the millisecond.
func (h Handle) Same(o Handle) bool {
	return h.Pid > 0 && h.Pid == o.Pid && !h.Start.IsZero() && !o.Start.IsZero() &&
		h.Start.UnixMilli() == o.Start.UnixMilli()
}

// String is "pid N (started T)" or "pid N (start time unknown)".
func (h Handle) String() string {
	if h.Start.IsZero() {
		return fmt.Sprintf("pid %d (start time unknown)", h.Pid)
	}
	return fmt.Sprintf("pid %d (started %s)", h.Pid, h.Start.UTC().Format(time.RFC3339Nano))
}

// Verify returns nil when h's pid names h's process now and it has not exited; otherwise an error
// wrapping ErrUnknownStart, ErrNotOurs or ErrGone.
func (h Handle) Verify() error {
	if h.Pid <= 0 {
		return fmt.Errorf("pid %d: %w", h.Pid, ErrGone)
	}
	if h.Start.IsZero() {
		return fmt.Errorf("%s: %w", h, ErrUnknownStart)
	}
	now, err := StartTime(h.Pid)
	if err != nil {
		if errors.Is(err, ErrGone) {
			return err
		}
		return fmt.Errorf("%s: %w (%v)", h, ErrUnknownStart, err)
	}
	if !h.Same(Handle{Pid: h.Pid, Start: now}) {
		return fmt.Errorf("%s: %w, started %s", h, ErrNotOurs, now.UTC().Format(time.RFC3339Nano))
	}
	if zombie(h.Pid) {
		return fmt.Errorf("%s: %w", h, ErrGone)
	}
	return nil
}

// Alive reports whether h's process still runs (Verify returns nil).
func (h Handle) Alive() bool { return h.Verify() == nil }

// Zombie reports whether pid has exited and waits to be reaped.
func Zombie(pid int) bool { return zombie(pid) }

// Pids lists the processes of the machine.
func Pids() ([]int, error) { return pids() }

// Signal sends sig to h's process after proving that h's pid still names it. It returns an error
// wrapping ErrUnknownStart or ErrNotOurs (nothing was sent), or ErrGone.
func (h Handle) Signal(sig os.Signal) error {
	if err := signal(h, sig, false); err != nil {
		return fmt.Errorf("signal %v to %s: %w", sig, h, err)
	}
	return nil
}

// SignalGroup sends sig to the process group that h's process leads, after proving that h's pid still
// names it and that it still leads its group. Errors as Signal's.
func (h Handle) SignalGroup(sig os.Signal) error {
	if err := signal(h, sig, true); err != nil {
		return fmt.Errorf("signal %v to the group of %s: %w", sig, h, err)
	}
	return nil
}

// WaitGone waits until h's process has exited (or its pid names another process). It returns nil
// then, or ctx's error.
func (h Handle) WaitGone(ctx context.Context) error {
	return waitGone(ctx, h)
}

// pollGone is WaitGone by looking every 10 ms, for systems without a pidfd.
func pollGone(ctx context.Context, h Handle) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := h.Verify(); errors.Is(err, ErrGone) || errors.Is(err, ErrNotOurs) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// FlockHolders returns the pids holding a flock on the file at path. On Linux it reads /proc/locks
// for the file's device and inode and keeps each pid that has the file open (/proc/PID/fd), so a pid
// left in /proc/locks by a locker that forked and exited is not taken for the holder. Elsewhere the
// holder cannot be read: the error wraps errors.ErrUnsupported.
func FlockHolders(path string) ([]int, error) { return flockHolders(path) }

// FlockHeld reports whether some process holds a flock on the file at path, without taking it:
// on Linux from /proc/locks. Elsewhere it cannot be read: the error wraps errors.ErrUnsupported.
func FlockHeld(path string) (bool, error) { return flockHeld(path) }

// Cmdline returns the argv of pid.
func Cmdline(pid int) ([]string, error) {
	return cmdline(pid)
}

// Cwd returns the working folder of pid.
func Cwd(pid int) (string, error) {
	return cwd(pid)
}
