package bd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// TestStopDaemonRefusesAPlantedPid is issue 13's repro: daemon.lock is
// rewritten to name an unrelated process while the real bd daemon holds its
// flock. The unrelated process is never signalled (it used to get SIGTERM and
// then SIGKILL), the refusal names both pids, and the daemon lives on.
func TestStopDaemonRefusesAPlantedPid(t *testing.T) {
	bdbin := buildBD(t)
	ws := newWorkspace(t)
	daemon := startBD(t, bdbin, ws)
	victim := exec.Command("sleep", "1000")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.Process.Kill(); _ = victim.Wait() })
	vh, err := proc.Open(victim.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// rewritten in place: the same inode, still under the daemon's flock
	planted := fmt.Sprintf(`{"pid": %d, "version": "0.28.0"}`, victim.Process.Pid)
	if err := os.WriteFile(LockPath(ws), []byte(planted), 0o600); err != nil {
		t.Fatal(err)
	}
	lock, held, err := ReadLock(ws)
	if err != nil || !held || lock.Pid != victim.Process.Pid {
		t.Fatalf("ReadLock = %+v, %v, %v; want the planted pid, held", lock, held, err)
	}
	holders, err := LockHolders(ws)
	if err != nil || len(holders) != 1 || holders[0] != daemon.cmd.Process.Pid {
		t.Fatalf("LockHolders = %v, %v; want [%d]", holders, err, daemon.cmd.Process.Pid)
	}

	_, err = StopDaemon(t.Context(), ws, victim.Process.Pid, vh.Start, StopOptions{Timeout: time.Second, Kill: true})
	if !errors.Is(err, ErrNotProven) {
		t.Fatalf("StopDaemon = %v, want ErrNotProven", err)
	}
	want := fmt.Sprintf("names pid %d, but its flock is held by pid %d", victim.Process.Pid, daemon.cmd.Process.Pid)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("refusal %q does not say %q", err, want)
	}
	if !vh.Alive() {
		t.Fatal("the unrelated process was signalled")
	}
	select {
	case <-daemon.done:
		t.Fatal("the bd daemon was stopped")
	default:
	}
}

// TestStopDaemonProvenHolder: the real holder, with the start time seen, is
// stopped (SIGTERM, lock released) and its stale files cleaned; one seen
// without a start time, or with another, is refused.
func TestStopDaemonProvenHolder(t *testing.T) {
	bdbin := buildBD(t)
	ws := newWorkspace(t)
	daemon := startBD(t, bdbin, ws)
	pid := daemon.cmd.Process.Pid
	h, err := proc.Open(pid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StopDaemon(t.Context(), ws, pid, time.Time{}, StopOptions{Timeout: time.Second}); !errors.Is(err, ErrNotProven) {
		t.Errorf("StopDaemon without a start time = %v, want ErrNotProven", err)
	}
	if _, err := StopDaemon(t.Context(), ws, pid, h.Start.Add(-time.Second), StopOptions{Timeout: time.Second}); !errors.Is(err, ErrNotProven) {
		t.Errorf("StopDaemon with another start time = %v, want ErrNotProven", err)
	}
	if !h.Alive() {
		t.Fatal("signalled without proof")
	}
	if _, err := StopDaemon(t.Context(), ws, pid, h.Start, StopOptions{Timeout: 10 * time.Second}); err != nil {
		t.Fatalf("StopDaemon of the proven holder: %v", err)
	}
	if code := daemon.wait(t); code != 0 && daemon.cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("bd exited %d", code)
	}
	if _, held, _ := ReadLock(ws); held {
		t.Error("daemon.lock still held")
	}
}
