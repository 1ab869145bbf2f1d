//go:build linux

package supervisor

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"
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
