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
)

// ExecRunner starts real processes. On Windows each child gets a new process
// group, but there are no signals: every stop signal kills the process (no
// grace period) and a grandchild is not reached. A job object would fix both.
type ExecRunner struct{}

var _ Runner = ExecRunner{}

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
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	cmd.WaitDelay = waitDelay
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
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
	mu   sync.Mutex
	err  error
}

func (p *execProcess) Pid() int              { return p.pid }
func (p *execProcess) Done() <-chan struct{} { return p.done }

func (p *execProcess) Err() error {
	<-p.done
	return p.err
}

// Signal kills the process whatever sig is.
func (p *execProcess) Signal(sig os.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Kill()
}

func (p *execProcess) wait() {
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = &ExitError{Code: ee.ExitCode()}
	}
	p.err = err
	close(p.done)
}

// ParseSignal accepts the Unix names for portability of specs; all of them kill.
func ParseSignal(name string) (os.Signal, error) {
	switch name {
	case "", "SIGTERM", "SIGINT", "SIGKILL", "SIGHUP", "SIGQUIT", "TERM", "INT", "KILL", "HUP", "QUIT":
		return os.Kill, nil
	}
	return nil, fmt.Errorf("unknown signal %q", name)
}

var killSignal = os.Kill
