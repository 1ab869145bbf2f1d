package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A child inherits the whole descriptor table of the thread that forks it,
// and its exec then closes each descriptor marked close-on-exec, one by one:
// a cost per descriptor the agent holds, and it holds about seven a daemon
// (its two output pipes, two pidfds, the sampler's three /proc files). The
// 1,000th start of 1,000 closed 7,000 (~1 ms here); the starts of 1,000
// daemons spent 1.3 s of CPU in the children's do_close_on_exec, the most of
// any one thing.
//
// The forker is an OS thread with a descriptor table of its own
// (unshare(CLONE_FILES)), emptied of all but the runtime's poller
// descriptors: it takes the three descriptors a child gets from the agent's
// table (pidfd_getfd), forks, and closes them again. The child then inherits
// a handful. The thread stays locked to its goroutine for the agent's life:
// a child's parent-death signal follows the thread that forked it.
//
// A fork through the forker costs two hand-overs between threads, more than
// a small table costs: it is used from forkerFrom runs on (about 450
// descriptors); below, and wherever it cannot be set up (before Linux 5.6: no
// pidfd_getfd), the runner forks where it runs, as os/exec does.
type forker struct {
	tid   int // its thread
	reqs  chan *forkReq
	self  int // a pidfd of the agent, in the forker's table
	probe int // a descriptor of the agent's table pidfd_getfd is tried on
}

// forkerFrom is how many runs must be under way for a start to go through
// the forker (a variable for tests).
var forkerFrom atomic.Int64

func init() { forkerFrom.Store(64) }

type forkReq struct {
	path string
	argv []string
	attr syscall.ProcAttr // Files: descriptors of the agent's table
	pid  int
	err  error
	done chan struct{}
}

// theForker is the forker, set up at its first use; nil where it cannot be.
var theForker = sync.OnceValue(func() *forker {
	// Opened here, in the agent's table: nothing the forker's thread opens
	// may be used elsewhere (its descriptors are of its own table).
	null, err := devNull()
	if err != nil {
		return nil
	}
	// The poller exists before the table is copied (timers start it): any
	// thread may wake it through its eventfd.
	time.Sleep(time.Nanosecond)
	f := &forker{reqs: make(chan *forkReq), probe: int(null.Fd())}
	ready := make(chan error, 1)
	go f.run(ready, nil)
	if err := <-ready; err != nil {
		return nil
	}
	return f
})

// run sets the forker up on a thread of its own (never the main thread:
// pidfd_getfd reads the table of the agent's main thread, which must stay the
// agent's) and serves the forks. placed, when set, is closed once it runs on
// such a thread.
func (f *forker) run(ready chan<- error, placed chan<- struct{}) {
	runtime.LockOSThread() // for good: see forker
	if unix.Gettid() == unix.Getpid() {
		// Held meanwhile, so that the next one lands on another thread.
		next := make(chan struct{})
		go f.run(ready, next)
		<-next
		runtime.UnlockOSThread()
		return
	}
	if placed != nil {
		close(placed)
	}
	f.tid = unix.Gettid()
	if err := f.setup(); err != nil {
		ready <- err
		return // the thread, locked, ends with the goroutine, and its table
	}
	ready <- nil
	for req := range f.reqs {
		f.fork(req)
	}
}

// setup gives the thread its own table, closes in it what the runtime does
// not use from every thread, and proves that pidfd_getfd works.
func (f *forker) setup() error {
	if err := unix.Unshare(unix.CLONE_FILES); err != nil {
		return err
	}
	if err := closeAllButRuntimes(); err != nil {
		return err
	}
	self, err := unix.PidfdOpen(unix.Getpid(), 0)
	if err != nil {
		return err
	}
	f.self = self
	fd, err := unix.PidfdGetfd(self, f.probe, 0)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// closeAllButRuntimes closes the descriptors of the calling thread's table
// but the runtime's poller (an eventpoll and an eventfd: any thread may wake
// the poller, and a failed wake is fatal) and standard ones that are neither
// a pipe nor a socket (the runtime writes a crash there; a pipe or socket
// kept open here would never see its end).
func closeAllButRuntimes() error {
	dir, err := unix.Open("/proc/thread-self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	var fds []int
	buf := make([]byte, 8<<10)
	for {
		n, err := unix.Getdents(dir, buf)
		if err != nil {
			unix.Close(dir)
			return err
		}
		if n <= 0 {
			break
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			if fd, err := strconv.Atoi(name); err == nil && fd != dir {
				fds = append(fds, fd)
			}
		}
	}
	unix.Close(dir)
	link := make([]byte, 256)
	for _, fd := range fds {
		n, err := unix.Readlink("/proc/thread-self/fd/"+strconv.Itoa(fd), link)
		if err != nil {
			continue // closed meanwhile
		}
		l := string(link[:n])
		keep := strings.HasPrefix(l, "anon_inode:[eventpoll]") || strings.HasPrefix(l, "anon_inode:[eventfd]") ||
			fd <= 2 && !strings.HasPrefix(l, "pipe:") && !strings.HasPrefix(l, "socket:")
		if !keep {
			unix.Close(fd)
		}
	}
	return nil
}

// fork forks req on the forker's thread: its files, taken into this table,
// become the child's 0, 1 and 2.
func (f *forker) fork(req *forkReq) {
	defer close(req.done)
	defer func() {
		// The thread must outlive this: its children's parent-death signal.
		if r := recover(); r != nil {
			req.err = fmt.Errorf("fork/exec %s: %v", req.path, r)
		}
	}()
	var own []uintptr
	defer func() {
		for _, fd := range own {
			if fd != noFile {
				unix.Close(int(fd))
			}
		}
	}()
	for _, fd := range req.attr.Files {
		if fd == noFile {
			own = append(own, noFile) // closed in the child, as os/exec does with a nil *os.File
			continue
		}
		nfd, err := unix.PidfdGetfd(f.self, int(fd), 0)
		if err != nil {
			req.err = &os.PathError{Op: "fork/exec", Path: req.path, Err: err}
			return
		}
		own = append(own, uintptr(nfd))
	}
	attr := req.attr
	attr.Files = own
	pid, err := syscall.ForkExec(req.path, req.argv, &attr)
	if err != nil {
		// As os.StartProcess says it.
		req.err = &os.PathError{Op: "fork/exec", Path: req.path, Err: err}
		return
	}
	req.pid = pid
}

// startChild starts cmd (its Stdin, Stdout and Stderr files or nil) and
// returns its pid and how to reap it: through the forker when runs (the runs
// under way) reach forkerFrom, else as cmd.Start does.
func startChild(cmd *exec.Cmd, runs int) (pid int, reap func() error, err error) {
	if int64(runs) >= forkerFrom.Load() {
		if f := theForker(); f != nil {
			if files, ok := childFiles(cmd); ok {
				return f.start(cmd, files)
			}
		}
	}
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	return cmd.Process.Pid, cmd.Wait, nil
}

// childFiles are the descriptors of cmd's standard files (a nil one is
// /dev/null); ok is false when one is not a file (os/exec would copy it).
func childFiles(cmd *exec.Cmd) ([]uintptr, bool) {
	files := make([]uintptr, 0, 3)
	for i, s := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		switch s := s.(type) {
		case *os.File:
			files = append(files, s.Fd()) // noFile when nil, as for os.StartProcess
		case nil:
			null, err := devNullFor(i)
			if err != nil {
				return nil, false
			}
			files = append(files, null.Fd())
		default:
			return nil, false
		}
	}
	return files, true
}

// devNullFor is the /dev/null a child without a standard file i gets: read
// for stdin, write for the others (as os/exec opens them), opened once.
func devNullFor(i int) (*os.File, error) {
	if i == 0 {
		return devNull()
	}
	return devNullW()
}

// noFile is the Fd of a nil *os.File: the child's descriptor is closed.
const noFile = ^uintptr(0)

var devNullW = sync.OnceValues(func() (*os.File, error) { return os.OpenFile(os.DevNull, os.O_WRONLY, 0) })

// start has the forker fork cmd as cmd.Start would (its path resolved,
// its own error kept: exec: not found...).
func (f *forker) start(cmd *exec.Cmd, files []uintptr) (int, func() error, error) {
	if cmd.Err != nil {
		return 0, nil, cmd.Err
	}
	if cmd.Path == "" {
		return 0, nil, errors.New("exec: no command")
	}
	req := &forkReq{path: cmd.Path, argv: cmd.Args, done: make(chan struct{}),
		attr: syscall.ProcAttr{Dir: cmd.Dir, Env: cmd.Env, Files: files, Sys: cmd.SysProcAttr}}
	f.reqs <- req
	<-req.done
	runtime.KeepAlive(cmd) // its files stay open until the child has its own
	if req.err != nil {
		return 0, nil, req.err
	}
	pid := req.pid
	return pid, func() error { return reapPid(pid) }, nil
}

// reapPid reaps the child pid and returns its exit as Err says it.
func reapPid(pid int) error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("wait4", err)
		}
		break
	}
	switch {
	case ws.Signaled():
		return &ExitError{Code: -1, Signal: unix.SignalName(ws.Signal())}
	case ws.ExitStatus() != 0:
		return &ExitError{Code: ws.ExitStatus()}
	}
	return nil
}
