package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/flock"
)

// LockPath is the lock file of the project in dir (the folder of beads.hcl).
func LockPath(dir string) string { return filepath.Join(dir, agentapi.StateDir, "lock") }

// LockHolder is what a lock holder writes into the lock file, so that a command
// that waits for it can say who it waits for.
type LockHolder struct {
	Pid       int       `json:"pid"`
	Command   string    `json:"command"`
	StartedAt time.Time `json:"started_at"`
}

func (h LockHolder) String() string {
	if h.Pid == 0 {
		return "another beadsctl"
	}
	return fmt.Sprintf("pid %d (beadsctl %s, since %s)", h.Pid, h.Command, h.StartedAt.Local().Format(time.DateTime))
}

// LockedError says the lock is held by someone else after the wait was over.
type LockedError struct {
	Path   string
	Holder LockHolder
	Waited time.Duration
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("%s is held by %s", e.Path, e.Holder)
	if e.Waited > 0 {
		msg += fmt.Sprintf("; gave up after %v (raise --lock-timeout to wait longer)", e.Waited)
	} else {
		msg += " (use --lock-timeout to wait for it)"
	}
	return msg
}

// Lock is a held .beadsctl/lock. Release it when done; the OS releases it when
// the process dies.
type Lock struct {
	f *os.File
	// waited is true when another process held the lock at first: what was
	// read before it may have changed meanwhile.
	waited bool
}

// Waited reports whether the lock was held by another process when asked for.
func (l *Lock) Waited() bool { return l != nil && l.waited }

// AcquireLock takes the exclusive lock at path, waiting up to timeout (0: fail
// at once) for a holder to release it; ctx cancels the wait. command is recorded
// as the holder's command. A failure to get it is a *LockedError naming the holder.
func AcquireLock(ctx context.Context, path, command string, timeout time.Duration) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|atomicfile.NoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	start := time.Now()
	deadline := start.Add(timeout)
	backoff := 5 * time.Millisecond
	waited := false
	for {
		ok, err := flock.TryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		waited = true
		now := time.Now()
		if !now.Before(deadline) {
			h := readHolder(path)
			f.Close()
			return nil, &LockedError{Path: path, Holder: h, Waited: timeout}
		}
		// flock has no wait-with-timeout: poll with a short, growing backoff.
		wait := min(backoff, deadline.Sub(now))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for %s held by %s: %w", path, readHolder(path), ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
	b, _ := json.Marshal(LockHolder{Pid: os.Getpid(), Command: command, StartedAt: time.Now().UTC()})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &Lock{f: f, waited: waited}, nil
}

// Release empties the holder information and releases the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := flock.Unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// readHolder reads the holder information of a lock file (zero when unreadable).
func readHolder(path string) LockHolder {
	var h LockHolder
	b, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal(b, &h)
	}
	return h
}
