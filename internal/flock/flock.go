// Package flock is the one wrapper of advisory whole-file locks: flock(2) on Unix, LockFileEx on
// Windows (over one byte far past the content, so that a process that is refused can still read the
// holder's pid written in the file). beadsctl's lock, the agent's lock and the check of bd's
// daemon.lock go through it. (Who holds a flock is read by internal/proc's FlockHolders.)
//
// It is a leaf: it imports nothing of beadsctl's.
package flock

import "os"

// Held reports whether another process holds the lock of the file at path: it takes the lock for an
// instant on a descriptor of its own and releases it.
func Held(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	ok, err := TryLock(f)
	if err != nil {
		return false, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	if ok {
		_ = Unlock(f)
	}
	return !ok, nil
}
