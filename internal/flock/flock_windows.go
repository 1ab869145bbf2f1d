package flock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// offset is where the locked byte lies: far past the content, which stays readable.
const offset = 1 << 30

// TryLock takes an exclusive lock on f without waiting. It reports false, and no error, when another
// handle holds it.
func TryLock(f *os.File) (bool, error) {
	ol := &windows.Overlapped{Offset: offset}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return false, nil
	}
	return err == nil, err
}

// Unlock releases the lock TryLock took on f.
func Unlock(f *os.File) error {
	ol := &windows.Overlapped{Offset: offset}
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}
