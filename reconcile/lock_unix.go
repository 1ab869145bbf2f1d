//go:build !windows

package reconcile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openNoFollow makes opening the lock fail on a symlink planted in its place,
// rather than truncate whatever it points at.
const openNoFollow = unix.O_NOFOLLOW

func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK), errors.Is(err, unix.EINTR):
		return false, nil
	}
	return false, err
}

func unlock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }
