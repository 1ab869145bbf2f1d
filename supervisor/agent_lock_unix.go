//go:build !windows

package supervisor

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// agTryLock takes an exclusive, non-blocking flock on f. It reports false
// (and no error) when another process holds it.
func agTryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EAGAIN) {
		return false, nil
	}
	return err == nil, err
}

func agUnlock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// OpenNoFollow (an os.OpenFile flag) makes opening a file in .beadsctl fail on a symlink planted in
// its place, rather than write through it to whatever it points at.
const OpenNoFollow = unix.O_NOFOLLOW
