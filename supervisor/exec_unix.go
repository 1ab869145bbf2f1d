//go:build unix

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ExecRunner starts real processes, each in its own process group, and signals
// the whole group. On Linux the child also gets SIGKILL when the agent dies.
//
// When the group leader exits, whatever is left of its group (a double-forked
// grandchild, say) gets SIGKILL before the leader is reaped: the unreaped
// leader keeps the group id from being recycled, so the signal cannot reach a
// stranger. On systems without waitid(WNOWAIT) the group is killed right after
// the reap instead. A process that leaves the group (setsid) escapes this.
type ExecRunner struct{}

var _ Runner = ExecRunner{}

// waitDelay bounds how long Done waits for the output pipes to drain after
// the process was reaped; it matters only when a process outside the group
// still holds them.
const waitDelay = 2 * time.Second

// Start starts cmd in a new process group.
func (ExecRunner) Start(ctx context.Context, c Command) (Process, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("empty argv")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	cmd.WaitDelay = waitDelay
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &execProcess{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go p.wait()
	return p, nil
}

type execProcess struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{}

	mu     sync.Mutex // held while signalling, and while reaping
	reaped bool
	err    error
}

func (p *execProcess) Pid() int              { return p.pid }
func (p *execProcess) Done() <-chan struct{} { return p.done }

func (p *execProcess) Err() error {
	<-p.done
	return p.err
}

// Signal sends sig to the process group. Once the leader is reaped the group
// id may be recycled, so nothing is sent and os.ErrProcessDone is returned.
func (p *execProcess) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("unsupported signal %v", sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return os.ErrProcessDone
	}
	err := unix.Kill(-p.pid, s)
	if errors.Is(err, unix.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

func (p *execProcess) wait() {
	exited := waitExitedNoReap(p.pid)
	p.mu.Lock()
	if exited {
		// The leader is a zombie: its pid, hence the group id, is still ours.
		_ = unix.Kill(-p.pid, unix.SIGKILL)
	}
	err := p.cmd.Wait()
	if !exited {
		// Best effort where the exit could not be seen before the reap.
		_ = unix.Kill(-p.pid, unix.SIGKILL)
	}
	p.reaped = true
	p.mu.Unlock()
	p.err = convertExit(err)
	close(p.done)
}

// convertExit turns an exec error into an *ExitError (or keeps it as is).
func convertExit(err error) error {
	if errors.Is(err, exec.ErrWaitDelay) {
		// The process exited 0; only a process outside the group still held
		// its output pipes past waitDelay. That is a clean exit, not a crash.
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &ExitError{Code: -1, Signal: unix.SignalName(ws.Signal())}
	}
	return &ExitError{Code: ee.ExitCode()}
}

// ParseSignal returns the signal named like "SIGTERM" or "TERM"; "" is SIGTERM.
func ParseSignal(name string) (os.Signal, error) {
	if name == "" {
		return unix.SIGTERM, nil
	}
	if len(name) < 3 || name[:3] != "SIG" {
		name = "SIG" + name
	}
	s := unix.SignalNum(name)
	if s == 0 {
		return nil, fmt.Errorf("unknown signal %q", name)
	}
	return s, nil
}

// killSignal is the signal that cannot be caught.
var killSignal os.Signal = unix.SIGKILL
