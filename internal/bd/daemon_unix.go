//go:build unix

package bd

import (
	"errors"
	"syscall"

	"github.com/beadsctl/beadsctl/internal/flock"
)

// flockHeld reports whether some process holds a flock on path (flock.Held: it
// takes the lock for an instant on a descriptor of its own, as bd itself does).
func flockHeld(path string) (bool, error) { return flock.Held(path) }

// dialRefused reports whether a dial error means nothing listens.
func dialRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
