package bd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// ErrNotProven means a pid is not proven to be the bd daemon that holds a workspace's
// .beads/daemon.lock: nothing is signalled.
var ErrNotProven = errors.New("not proven to be the bd daemon holding .beads/daemon.lock")

// LockPath is <workspace>/.beads/daemon.lock.
func LockPath(workspace string) string { return filepath.Join(workspace, ".beads", "daemon.lock") }

// LockHolders returns the pids holding a flock on <workspace>/.beads/daemon.lock
// (proc.FlockHolders: read from /proc/locks on Linux; elsewhere the error says it cannot be).
func LockHolders(workspace string) ([]int, error) {
	pids, err := proc.FlockHolders(LockPath(workspace))
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, fmt.Errorf("%w; stop the daemon by hand (bd daemon --stop)", err)
	}
	return pids, err
}

// ProveHolder returns the handle of pid when pid is proven to be the bd daemon of workspace: it holds
// daemon.lock's flock (LockHolders) and its start time is known and, when start is not zero, the
// same as start by proc's rule (start is when the pid was first seen, so a process that took the pid
// since is refused). Otherwise the error wraps ErrNotProven and names pid and the holder.
func ProveHolder(workspace string, pid int, start time.Time) (proc.Handle, error) {
	if pid <= 0 {
		return proc.Handle{}, fmt.Errorf("%w: no pid (%d)", ErrNotProven, pid)
	}
	holders, err := LockHolders(workspace)
	if err != nil {
		return proc.Handle{}, fmt.Errorf("%w: pid %d: %v", ErrNotProven, pid, err)
	}
	if !slices.Contains(holders, pid) {
		who := "no process holds its flock"
		if len(holders) > 0 {
			who = "its flock is held by pid " + joinPids(holders)
		}
		return proc.Handle{}, fmt.Errorf("%w: %s names pid %d, but %s", ErrNotProven, LockPath(workspace), pid, who)
	}
	h, err := proc.Open(pid)
	if err != nil {
		return proc.Handle{}, fmt.Errorf("%w: pid %d: %v", ErrNotProven, pid, err)
	}
	if !start.IsZero() && !h.Same(proc.Handle{Pid: pid, Start: start}) {
		return proc.Handle{}, fmt.Errorf("%w: pid %d started at %s, not at %s when it was seen (another process took the pid)",
			ErrNotProven, pid, h.Start.UTC().Format(time.RFC3339Nano), start.UTC().Format(time.RFC3339Nano))
	}
	return h, nil
}

func joinPids(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

// StopOptions say how StopDaemon stops.
type StopOptions struct {
	// Timeout is how long to wait for daemon.lock to be released after SIGTERM.
	Timeout time.Duration
	// Kill sends SIGKILL when the lock is still held after Timeout (proven again first); without
	// it StopDaemon returns an error then.
	Kill bool
}

// StopDaemon stops the bd daemon pid of workspace, first seen with start time start: it proves pid
// holds daemon.lock (ProveHolder; a zero start is refused as not proven), sends SIGTERM through
// proc, waits until the lock is released or the process is gone, SIGKILLs with Kill, then removes
// the stale bd.sock and daemon.pid (CleanStale) and returns what it removed.
func StopDaemon(ctx context.Context, workspace string, pid int, start time.Time, o StopOptions) ([]string, error) {
	if start.IsZero() {
		return nil, fmt.Errorf("%w: the start time of pid %d was unknown when it was seen; run plan again", ErrNotProven, pid)
	}
	h, err := ProveHolder(workspace, pid, start)
	if err != nil {
		return nil, err
	}
	if err := h.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, proc.ErrGone) {
		return nil, err
	}
	if !WaitReleased(ctx, workspace, h, o.Timeout) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !o.Kill {
			return nil, fmt.Errorf("pid %d did not stop within %v of SIGTERM", pid, o.Timeout)
		}
		// Proven again: in the meantime it may have released the lock (then WaitReleased says so).
		again, err := ProveHolder(workspace, pid, start)
		if err == nil {
			err = again.Signal(syscall.SIGKILL)
		}
		if err != nil && !errors.Is(err, proc.ErrGone) && !errors.Is(err, ErrNotProven) {
			return nil, err
		}
		if !WaitReleased(ctx, workspace, h, 5*time.Second) {
			return nil, fmt.Errorf("pid %d still holds %s after SIGKILL", pid, LockPath(workspace))
		}
	}
	return CleanStale(workspace)
}

// WaitReleased waits up to timeout until nobody holds workspace's daemon.lock or h's process is gone
// (a handle without a start time proves nothing gone: only the lock counts then), and reports
// whether that happened. A foreign process's exit gives no event to wait on, so it looks
// with a short, growing backoff (5 ms to 100 ms).
func WaitReleased(ctx context.Context, workspace string, h proc.Handle, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	backoff := 5 * time.Millisecond
	for {
		if _, held, err := ReadLock(workspace); (err == nil && !held) || exited(h) {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t := time.NewTimer(min(backoff, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// exited reports whether h's process is proven gone: exited, or its pid now another process's.
func exited(h proc.Handle) bool {
	err := h.Verify()
	return errors.Is(err, proc.ErrGone) || errors.Is(err, proc.ErrNotOurs)
}
