package supervisor

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// agLockOffset is far past the content, so that the pid written in the file stays
// readable by the agent that is refused.
const agLockOffset = 1 << 30

// agTryLock takes an exclusive, non-blocking lock on f. It reports false
// (and no error) when another process holds it.
func agTryLock(f *os.File) (bool, error) {
	ol := &windows.Overlapped{Offset: agLockOffset}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return false, nil
	}
	return err == nil, err
}

func agUnlock(f *os.File) error {
	ol := &windows.Overlapped{Offset: agLockOffset}
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}

// OpenNoFollow is 0: Windows has no O_NOFOLLOW; creating a symlink there needs a
// privilege an attacker of .beadsctl would not have.
const OpenNoFollow = 0
