//go:build unix

package bd

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/beadsctl/beadsctl/internal/flock"
)

// LockServer takes dolt-server.lock the way bd's Start does (flock, exclusive).
// While beadsctl holds it, a bd command that finds no server waits on the lock
// instead of starting a rival, then re-reads the pid and port files and adopts
// the server. It retries until ctx is done; unlock releases it.
func (f ServerFiles) LockServer(ctx context.Context) (unlock func(), err error) {
	fd, err := os.OpenFile(f.LockPath(), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := flock.TryLock(fd)
		if ok {
			return func() { _ = flock.Unlock(fd); fd.Close() }, nil
		}
		if err != nil {
			fd.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			fd.Close()
			return nil, errors.New(f.LockPath() + " is held by another process (a bd command starting its own server?)")
		case <-t.C:
		}
	}
}
