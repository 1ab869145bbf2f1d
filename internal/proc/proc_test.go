//go:build !windows

package proc

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// sleeper starts `sleep 1000` in its own process group and reaps it at the end of the test.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// running reports whether cmd's process is alive and not yet reaped or a zombie.
func running(t *testing.T, pid int) bool {
	t.Helper()
	h, err := Open(pid)
	return err == nil && h.Alive()
}

func TestSameRule(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	tests := map[string]struct {
		a, b Handle
		want bool
	}{
		"same pid and ms":            {Handle{42, at}, Handle{42, at.Add(400 * time.Microsecond)}, true},
		"one ms apart":               {Handle{42, at}, Handle{42, at.Add(time.Millisecond)}, false},
		"other pid":                  {Handle{42, at}, Handle{43, at}, false},
		"unknown start on one side":  {Handle{42, at}, Handle{42, time.Time{}}, false},
		"unknown start on both":      {Handle{42, time.Time{}}, Handle{42, time.Time{}}, false},
		"no pid":                     {Handle{0, at}, Handle{0, at}, false},
		"other time zone, same time": {Handle{42, at.UTC()}, Handle{42, at.In(time.FixedZone("x", 3600))}, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.a.Same(tt.b); got != tt.want {
				t.Errorf("Same = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSignalRefusesUnknownStartTime(t *testing.T) {
	cmd := sleeper(t)
	h := Handle{Pid: cmd.Process.Pid}
	for name, f := range map[string]func(syscall.Signal) error{
		"Signal":      func(s syscall.Signal) error { return h.Signal(s) },
		"SignalGroup": func(s syscall.Signal) error { return h.SignalGroup(s) },
	} {
		err := f(syscall.SIGKILL)
		if !errors.Is(err, ErrUnknownStart) {
			t.Errorf("%s with an unknown start time = %v, want ErrUnknownStart", name, err)
		}
	}
	if !running(t, cmd.Process.Pid) {
		t.Fatal("the process was signalled")
	}
	if err := h.Verify(); !errors.Is(err, ErrUnknownStart) {
		t.Errorf("Verify = %v, want ErrUnknownStart", err)
	}
}

// TestSignalRefusesAnotherStartTime: a handle whose pid now names a process
// with another start time (what a recycled pid looks like) is never signalled.
func TestSignalRefusesAnotherStartTime(t *testing.T) {
	cmd := sleeper(t)
	h, err := Open(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	stale := Handle{Pid: h.Pid, Start: h.Start.Add(-10 * time.Millisecond)}
	if err := stale.Signal(syscall.SIGKILL); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Signal = %v, want ErrNotOurs", err)
	}
	if err := stale.SignalGroup(syscall.SIGKILL); !errors.Is(err, ErrNotOurs) {
		t.Errorf("SignalGroup = %v, want ErrNotOurs", err)
	}
	if !running(t, h.Pid) {
		t.Fatal("the process was signalled")
	}
	// WaitGone on a stale handle returns at once: its process is gone.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := stale.WaitGone(ctx); err != nil {
		t.Errorf("WaitGone(stale) = %v", err)
	}
}

func TestSignalGroupReachesTheGroupAndWaitGone(t *testing.T) {
	// a leader with a child in its group; the leader waits for the child
	cmd := exec.Command("sh", "-c", "sleep 1000 & echo $! ; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var childPid int
	buf := make([]byte, 32)
	n, _ := out.Read(buf) // the child's pid, once it exists
	for _, c := range buf[:n] {
		if c >= '0' && c <= '9' {
			childPid = childPid*10 + int(c-'0')
		}
	}
	child, err := Open(childPid)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := Open(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	if err := leader.WaitGone(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitGone on a live process = %v, want its deadline", err)
	}
	cancel()
	if err := leader.SignalGroup(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := child.WaitGone(ctx); err != nil {
		t.Fatalf("the group's other member lives on: %v", err)
	}
	if err := leader.Signal(syscall.SIGTERM); !errors.Is(err, ErrGone) {
		t.Errorf("Signal after exit = %v, want ErrGone", err)
	}
}

func TestCmdlineAndCwd(t *testing.T) {
	// cat echoes a line once it runs: exec.Cmd.Start returns when execve
	// closes the close-on-exec pipe, before the kernel sets the new image's
	// argument area, and /proc/PID/cmdline reads empty for that moment (the
	// loop at 537bbee, run 5 of 20).
	cmd := exec.Command("cat", "-")
	cmd.Dir = t.TempDir()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if _, err := in.Write([]byte("ready\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("cat echoed %q, %v", line, err)
	}
	argv, err := Cmdline(cmd.Process.Pid)
	if err != nil || len(argv) != 2 || argv[1] != "-" {
		t.Errorf("Cmdline = %q, %v", argv, err)
	}
	dir, err := Cwd(cmd.Process.Pid)
	if err != nil || dir == "" {
		t.Errorf("Cwd = %q, %v", dir, err)
	}
}
