//go:build unix

package bd

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// flockHeld reports whether some process holds a flock on path: it tries
// LOCK_EX|LOCK_NB on a separate descriptor and releases it at once.
func flockHeld(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return true, nil
	default:
		return false, &os.PathError{Op: "flock", Path: path, Err: err}
	}
}

// dialRefused reports whether a dial error means nothing listens.
func dialRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
