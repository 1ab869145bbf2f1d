package supervisor

import (
	"context"
	"io"
	"os"
)

// Runner starts processes. ExecRunner is the real one; tests use a fake inside synctest.
type Runner interface {
	Start(ctx context.Context, cmd Command) (Process, error)
}

// Command is what a Runner starts.
type Command struct {
	Argv []string
	Dir  string
	Env  []string // KEY=VALUE, complete
	// Stdin is the child's standard input (nil: none).
	Stdin io.Reader
	// Stdout and Stderr receive the child's output (nil: discarded). They must
	// not block: the real runner copies a pipe into them.
	Stdout, Stderr io.Writer
	// Hold, when not nil, delays the copying of the output into Stdout and
	// Stderr until it is closed; the output waits in the pipe meanwhile. A
	// restart forks the next run before the last one's exit is recorded, and
	// the last run's final lines (its exit report's tail) come first.
	Hold <-chan struct{}
}

// Process is a started process.
type Process interface {
	Pid() int
	// Signal sends sig to the process group.
	Signal(sig os.Signal) error
	// Done is closed when the process has exited and been reaped.
	Done() <-chan struct{}
	// Err is the exit error once Done is closed (nil for exit 0).
	Err() error
}

// exitNotifier is a Process that tells of its exit before the reap: Exited
// is closed once the process has exited and what was left of its group has
// been sent SIGKILL (its pid, hence the group id, still held), with ExitErr
// its exit status (what Err will be); Done follows once it is reaped and its
// output drained. A restart needs nothing more to fork the next run.
type exitNotifier interface {
	Exited() <-chan struct{}
	ExitErr() error
}

// exitedOf is the channel closed at p's exit: Exited when p tells it, else Done.
func exitedOf(p Process) <-chan struct{} {
	if e, ok := p.(exitNotifier); ok {
		return e.Exited()
	}
	return p.Done()
}
