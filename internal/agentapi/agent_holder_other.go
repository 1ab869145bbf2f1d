//go:build !linux

package agentapi

import (
	"os"

	"github.com/beadsctl/beadsctl/internal/flock"
)

// lockHolder probes the lock on f's file: held, the pid written in it is the
// holder's; free, nobody holds it (the probe is released at once).
func lockHolder(f *os.File, written int) (int, error) {
	ok, err := flock.TryLock(f)
	if err != nil {
		return 0, err
	}
	if ok {
		_ = flock.Unlock(f)
		return 0, nil
	}
	return written, nil
}
