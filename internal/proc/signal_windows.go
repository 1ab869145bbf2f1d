package proc

import (
	"context"
	"os"
)

// signal checks identity, then ends the process: Windows has neither signals nor process groups to
// signal, so every signal (and a group's) terminates the one process.
func signal(h Handle, _ os.Signal, _ bool) error {
	if err := h.Verify(); err != nil {
		return unwrapped(err)
	}
	p, err := os.FindProcess(h.Pid)
	if err != nil {
		return ErrGone
	}
	return gone(p.Kill())
}

func waitGone(ctx context.Context, h Handle) error { return pollGone(ctx, h) }
