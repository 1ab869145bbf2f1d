//go:build unix

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
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
// still holds them (drain).
const waitDelay = 2 * time.Second

// Start starts cmd in a new process group.
//
// Nothing that can wait is done before the fork: the pipes were made ahead
// (spares) or are made with the fewest calls, stdin is the agent's one
// /dev/null, and the pipes are enlarged after it (a restart after kill -9 is
// a fork away: bench kill9).
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
	if c.Stdin != nil {
		cmd.Stdin = c.Stdin
	} else if null, err := devNull(); err == nil {
		cmd.Stdin = null // else os/exec opens one
	}
	// The output pipes are ours, not os/exec's: a bigger pipe (1 MiB where
	// the system allows it) and bigger reads let a chatty child write on
	// while its lines are stamped, with fewer wakeups of both.
	var copies []*outputCopy
	stdout, err := newOutputCopy(c.Stdout)
	if err != nil {
		return nil, err
	}
	stderr, err := newOutputCopy(c.Stderr)
	if err != nil {
		stdout.abandon()
		return nil, err
	}
	copies = append(copies, stdout, stderr)
	cmd.Stdout, cmd.Stderr = stdout.childEnd(), stderr.childEnd()
	cmd.SysProcAttr = sysProcAttr()
	pid, reap, err := startChild(cmd, leaders.len())
	if err != nil {
		for _, oc := range copies {
			oc.abandon()
		}
		return nil, err
	}
	leaders.add(pid) // until the reap (escaped.go)
	if len(copies) > 0 {
		spares.refill() // for the next start
	}
	for _, oc := range copies {
		oc.start(c.Hold)
	}
	p := &execProcess{reap: reap, pid: pid, exited: make(chan struct{}), done: make(chan struct{}), copies: copies, hold: c.Hold}
	go p.wait()
	return p, nil
}

// devNull is the agent's /dev/null, opened once: the stdin of every child
// that has no other (os/exec would open and close one per start).
var devNull = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })

// outputCopy is one output stream of a child: a pipe whose write end the
// child gets, and a goroutine copying the read end to the stream's writer.
// A nil writer gives the child /dev/null (os/exec's default).
type outputCopy struct {
	w      io.Writer
	r, cw  *os.File
	copied chan struct{}
}

func newOutputCopy(w io.Writer) (*outputCopy, error) {
	if w == nil {
		return nil, nil
	}
	r, cw, err := spares.take()
	if err != nil {
		return nil, err
	}
	return &outputCopy{w: w, r: r, cw: cw, copied: make(chan struct{})}, nil
}

// childEnd is what the child's stream is set to (nil: /dev/null).
func (o *outputCopy) childEnd() *os.File {
	if o == nil {
		return nil
	}
	return o.cw
}

// start enlarges the pipe, closes our copy of the write end (the child has
// its own) and copies, once hold is closed (nil: at once), until every
// writer closed it.
func (o *outputCopy) start(hold <-chan struct{}) {
	if o == nil {
		return
	}
	setPipeSize(o.cw)
	o.cw.Close()
	go func() {
		defer close(o.copied)
		if hold != nil {
			<-hold
		}
		// Small while the child is quiet (a thousand idle daemons hold one
		// each), the full chunk once a read fills it.
		buf := make([]byte, 16<<10)
		for {
			n, err := o.r.Read(buf)
			if n > 0 {
				_, _ = o.w.Write(buf[:n]) // the writers never fail (lineWriter)
				if n == len(buf) && len(buf) < outputChunk {
					buf = make([]byte, outputChunk)
				}
			}
			if err != nil {
				return
			}
		}
	}()
}

// abandon releases the pipe of a child that did not start.
func (o *outputCopy) abandon() {
	if o == nil {
		return
	}
	o.cw.Close()
	o.r.Close()
}

// spares are output pipes made ahead, in the background after a start, for
// the next one: a restart after kill -9 forks without making them (two
// pipe2, six fcntl and two epoll_ctl: ~35 µs of the ~90 µs from the exit
// seen to the fork here). A few descriptors in all, not per daemon; a start
// that finds none makes its own.
var spares = &sparePipes{}

// sparesMax is how many spare pipes are kept: one start's two.
const sparesMax = 2

type sparePipes struct {
	mu      sync.Mutex
	pipes   [][2]*os.File // read end, write end: as outputPipe returns them
	filling bool
}

// take is a spare pipe, else a new one.
func (s *sparePipes) take() (r, w *os.File, err error) {
	s.mu.Lock()
	if n := len(s.pipes); n > 0 {
		p := s.pipes[n-1]
		s.pipes = s.pipes[:n-1]
		s.mu.Unlock()
		return p[0], p[1], nil
	}
	s.mu.Unlock()
	return outputPipe()
}

// refill makes spare pipes up to sparesMax in the background (one goroutine
// at a time); a failure (out of descriptors) leaves it to the next start.
func (s *sparePipes) refill() {
	s.mu.Lock()
	if s.filling || len(s.pipes) >= sparesMax {
		s.mu.Unlock()
		return
	}
	s.filling = true
	s.mu.Unlock()
	go s.fill()
}

// fill makes spare pipes up to sparesMax; refill's goroutine.
func (s *sparePipes) fill() {
	for {
		r, w, err := outputPipe()
		s.mu.Lock()
		if err == nil {
			s.pipes = append(s.pipes, [2]*os.File{r, w})
		}
		if err != nil || len(s.pipes) >= sparesMax {
			s.filling = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// outputChunk is the most of a child's output read at once.
const outputChunk = 256 << 10

// drain waits until the copies end, up to waitDelay in all: a process
// outside the group that still holds a pipe (it left the group: setsid)
// must not hold the run's end; its read ends are then closed.
func drain(copies []*outputCopy) {
	t := time.NewTimer(waitDelay)
	defer t.Stop()
	for _, o := range copies {
		if o == nil {
			continue
		}
		select {
		case <-o.copied:
		case <-t.C:
			for _, o := range copies {
				if o != nil {
					o.r.Close()
				}
			}
			for _, o := range copies {
				if o != nil {
					<-o.copied
				}
			}
			return
		}
	}
	for _, o := range copies {
		if o != nil {
			o.r.Close()
		}
	}
}

type execProcess struct {
	reap   func() error // reaps it: its exit as exec.Cmd.Wait says it
	pid    int
	exited chan struct{} // closed at the exit, before the reap (exitNotifier)
	done   chan struct{}
	copies []*outputCopy
	// exitErr is the exit status as the kernel reported it at the exit.
	exitErr error
	hold    <-chan struct{} // Command.Hold

	mu     sync.Mutex // held while signalling, and while reaping
	reaped bool
	err    error
}

func (p *execProcess) Pid() int              { return p.pid }
func (p *execProcess) Done() <-chan struct{} { return p.done }

// Exited is closed when the process has exited and the rest of its group
// was sent SIGKILL, before it is reaped; where the exit cannot be seen
// without the reap, with Done.
func (p *execProcess) Exited() <-chan struct{} { return p.exited }

// ExitErr is the exit status once Exited is closed: what Err will be.
func (p *execProcess) ExitErr() error {
	<-p.exited
	return p.exitErr
}

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
	early := false
	exited := waitExitedNoReap(p.pid, func(status error, known bool) {
		p.mu.Lock()
		// The leader is a zombie: its pid, hence the group id, is still ours.
		_ = unix.Kill(-p.pid, unix.SIGKILL)
		p.mu.Unlock()
		if known {
			early = true
			p.exitErr = status
			close(p.exited) // a restart can fork now; the reap and drain follow
			// Let the daemon's loop, just woken, run first on this P: the
			// reap below is a system call that would hold it (~50 µs here)
			// before the fork.
			runtime.Gosched()
		}
	})
	p.mu.Lock()
	leaders.remove(p.pid) // before the reap: the pid may name another process after it
	err := p.reap()
	if !exited {
		// Best effort where the exit could not be seen before the reap.
		_ = unix.Kill(-p.pid, unix.SIGKILL)
	}
	p.reaped = true
	p.mu.Unlock()
	if p.hold != nil {
		<-p.hold // drain's deadline runs from when the copies may read
	}
	drain(p.copies) // the last lines are in the sink before Done
	p.err = convertExit(err)
	if !early {
		p.exitErr = p.err
		close(p.exited)
	}
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
