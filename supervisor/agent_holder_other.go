//go:build !linux

package supervisor

import "os"

// lockHolder probes the lock on f's file: held, the pid written in it is the
// holder's; free, nobody holds it (the probe is released at once).
func lockHolder(f *os.File, written int) (int, error) {
	ok, err := agTryLock(f)
	if err != nil {
		return 0, err
	}
	if ok {
		_ = agUnlock(f)
		return 0, nil
	}
	return written, nil
}
