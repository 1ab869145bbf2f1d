//go:build linux

package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// waitForChange blocks until something in dir changes (inotify), or at most max:
// the bound only guards against events missed between the check and the watch.
func waitForChange(dir string, max time.Duration) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MODIFY|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_DELETE); err != nil {
		return
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	_, _ = unix.Poll(fds, int(max/time.Millisecond))
}
