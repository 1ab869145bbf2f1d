//go:build unix

package bd

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
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
		err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(fd.Fd()), syscall.LOCK_UN); fd.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
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
