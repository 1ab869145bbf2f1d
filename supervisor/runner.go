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

// MemoryFunc reads the resident memory in bytes of the process group led by pid.
type MemoryFunc func(ctx context.Context, pid int) (uint64, error)
