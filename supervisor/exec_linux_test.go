//go:build linux

package supervisor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lockedBuffer is a bytes.Buffer safe for the runner's copy goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestExecExitedTellsTheStatus: Exited closes at the exit with the status
// the kernel reported at once (read from waitid's siginfo before the reap),
// and Err says the same once Done closes.
func TestExecExitedTellsTheStatus(t *testing.T) {
	for name, tc := range map[string]struct {
		argv []string
		kill bool
		want error
	}{
		"exit 0":  {argv: []string{"true"}},
		"exit 3":  {argv: []string{"sh", "-c", "exit 3"}, want: &ExitError{Code: 3}},
		"kill -9": {argv: []string{"sleep", "1000"}, kill: true, want: &ExitError{Code: -1, Signal: "SIGKILL"}},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := ExecRunner{}.Start(context.Background(), Command{Argv: tc.argv, Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.kill {
				if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			en, ok := p.(exitNotifier)
			if !ok {
				t.Fatal("ExecRunner's process does not tell its exit before the reap")
			}
			waitClosed(t, en.Exited(), "Exited")
			if got := en.ExitErr(); !sameExit(got, tc.want) {
				t.Errorf("ExitErr = %v, want %v", got, tc.want)
			}
			waitClosed(t, p.Done(), "Done")
			if got := p.Err(); !sameExit(got, tc.want) {
				t.Errorf("Err = %v, want %v", got, tc.want)
			}
		})
	}
}

func sameExit(a, b error) bool {
	var ea, eb *ExitError
	if !errors.As(a, &ea) || !errors.As(b, &eb) {
		return a == nil && b == nil
	}
	return *ea == *eb
}

// TestExecHoldDelaysTheOutput: with Command.Hold the output waits in the
// pipe, even after the process has exited, until Hold is closed; then all of
// it is copied, in order.
func TestExecHoldDelaysTheOutput(t *testing.T) {
	out, errw := &lockedBuffer{}, &lockedBuffer{}
	hold := make(chan struct{})
	p, err := ExecRunner{}.Start(context.Background(), Command{
		Argv: []string{"sh", "-c", "echo one; echo two; echo three >&2"}, Stdout: out, Stderr: errw, Hold: hold})
	if err != nil {
		t.Fatal(err)
	}
	waitClosed(t, exitedOf(p), "the exit")
	if o, e := out.String(), errw.String(); o != "" || e != "" {
		t.Fatalf("output copied before Hold was closed: stdout %q stderr %q", o, e)
	}
	select {
	case <-p.Done():
		t.Fatal("Done closed while the output was held")
	default:
	}
	close(hold)
	waitClosed(t, p.Done(), "Done")
	if o, e := out.String(), errw.String(); o != "one\ntwo\n" || e != "three\n" {
		t.Errorf("stdout %q stderr %q, want \"one\\ntwo\\n\" and \"three\\n\"", o, e)
	}
}

// TestSparePipesAreOutputPipes: fill makes sparesMax pipes as outputPipe
// does (the read end non-blocking, the write end blocking, both
// close-on-exec); take hands them out, then makes new ones.
func TestSparePipesAreOutputPipes(t *testing.T) {
	s := &sparePipes{}
	s.fill()
	if len(s.pipes) != sparesMax {
		t.Fatalf("fill made %d spare pipes, want %d", len(s.pipes), sparesMax)
	}
	made := map[uintptr]bool{}
	for _, p := range s.pipes {
		made[p[0].Fd()] = true
	}
	for i := range sparesMax + 1 {
		r, w, err := s.take()
		if err != nil {
			t.Fatal(err)
		}
		if spare := made[r.Fd()]; spare != (i < sparesMax) {
			t.Errorf("take %d: spare %v, want %v", i, spare, i < sparesMax)
		}
		for _, c := range []struct {
			f                 *os.File
			nonblock, cloexec bool
		}{{r, true, true}, {w, false, true}} {
			fl, err := unix.FcntlInt(c.f.Fd(), unix.F_GETFL, 0)
			if err != nil {
				t.Fatal(err)
			}
			fd, err := unix.FcntlInt(c.f.Fd(), unix.F_GETFD, 0)
			if err != nil {
				t.Fatal(err)
			}
			if nb, ce := fl&unix.O_NONBLOCK != 0, fd&unix.FD_CLOEXEC != 0; nb != c.nonblock || ce != c.cloexec {
				t.Errorf("take %d, %s: non-blocking %v, close-on-exec %v; want %v, %v", i, c.f.Name(), nb, ce, c.nonblock, c.cloexec)
			}
		}
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if b, err := io.ReadAll(r); err != nil || string(b) != "x" {
			t.Errorf("take %d: read %q, %v", i, b, err)
		}
		defer r.Close() // open until the end: a new pipe must not reuse a spare's number
	}
	if len(s.pipes) != 0 || s.filling {
		t.Errorf("after the takes: %d spare pipes, filling %v", len(s.pipes), s.filling)
	}
}

// TestExecStartTakesSparePipes: a start takes the spare pipes made before
// it for its output, which is copied in full as through its own.
func TestExecStartTakesSparePipes(t *testing.T) {
	spares.mu.Lock()
	for len(spares.pipes) < sparesMax {
		r, w, err := outputPipe()
		if err != nil {
			spares.mu.Unlock()
			t.Fatal(err)
		}
		spares.pipes = append(spares.pipes, [2]*os.File{r, w})
	}
	made := map[uintptr]bool{}
	for _, p := range spares.pipes {
		made[p[0].Fd()] = true
	}
	spares.mu.Unlock()
	out, errw := &lockedBuffer{}, &lockedBuffer{}
	hold := make(chan struct{}) // the pipes stay open (no drain) until it is closed
	p, err := ExecRunner{}.Start(context.Background(), Command{Argv: []string{"sh", "-c", "echo out; echo err >&2"}, Stdout: out, Stderr: errw, Hold: hold})
	if err != nil {
		t.Fatal(err)
	}
	for _, oc := range p.(*execProcess).copies {
		if !made[oc.r.Fd()] {
			t.Errorf("a start made its own pipe (read end %d) beside spares %v", oc.r.Fd(), made)
		}
	}
	close(hold)
	waitClosed(t, p.Done(), "Done")
	if o, e := out.String(), errw.String(); o != "out\n" || e != "err\n" {
		t.Errorf("output through the spare pipes: stdout %q, stderr %q", o, e)
	}
}
