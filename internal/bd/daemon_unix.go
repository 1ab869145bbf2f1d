//go:build unix

package bd

import (
	"errors"
	"syscall"

	"github.com/beadsctl/beadsctl/internal/flock"
	"github.com/beadsctl/beadsctl/internal/proc"
)

// flockHeld reports whether some process holds a flock on path. Where the
// OS lists flocks (Linux: /proc/locks, proc.FlockHeld) it reads the list
// instead of taking the lock for an instant on a descriptor of its own (as
// bd itself does, flock.Held, the way elsewhere): a probe that takes the
// lock makes another probe at that moment see it held (the agent took its
// own bd daemon's lock, free after a restart, for an unmanaged daemon's:
// plan_apply_cycle.txtar, 1 run in 4 of make test at load 11) and a bd
// daemon starting at that moment fail with "daemon already running".
func flockHeld(path string) (bool, error) {
	if held, err := proc.FlockHeld(path); err == nil {
		return held, nil
	}
	return flock.Held(path) // it says what went wrong, a missing file included
}

// dialRefused reports whether a dial error means nothing listens.
func dialRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
