//go:build !linux && !windows

package proc

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// signal checks identity, then kills: this OS has no pidfd, so a pid recycled in the microseconds
// between the two calls could receive the signal.
func signal(h Handle, sig os.Signal, group bool) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("unsupported signal %v", sig)
	}
	if err := h.Verify(); err != nil {
		return unwrapped(err)
	}
	if group {
		return gone(unix.Kill(-h.Pid, s))
	}
	return gone(unix.Kill(h.Pid, s))
}

func waitGone(ctx context.Context, h Handle) error { return pollGone(ctx, h) }
