package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// beadsWorkspace returns a folder that bd init set up (.beads/beads.db).
func beadsWorkspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	if err := os.Mkdir(filepath.Join(ws, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, ".beads", "beads.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return ws
}

// holdDaemonLock takes .beads/daemon.lock's flock as a bd daemon of pid does,
// until the test ends.
func holdDaemonLock(t *testing.T, ws string, pid int) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(ws, ".beads", "daemon.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(f, `{"pid":%d,"parent_pid":1,"database":"%s","version":"0.28.0","started_at":"2026-11-26T05:44:30Z"}`,
		pid, filepath.Join(ws, ".beads", "beads.db")); err != nil {
		t.Fatal(err)
	}
}

// A bd daemon in a folder without a workspace exits at once, whatever the
// restart policy ("no database path configured (run 'bd init' or set
// BEADS_DB)"): it is errored before anything starts, the reason says to run bd
// init there, and it is not restarted (was: started, then a crash loop to
// errored after max_restarts runs).
func TestBeadsDaemonWithoutWorkspaceIsNotStarted(t *testing.T) {
	dir := t.TempDir()
	d := runDaemon(t, Spec{
		Argv:    []string{"false"},
		Dir:     dir,
		Beads:   true,
		Restart: RestartPolicy{Policy: PolicyAlways, MaxRestarts: 10, MinUptime: 10 * time.Second},
	}, DaemonOptions{})
	st := waitStatus(t, d, 10*time.Second, "errored", func(s Status) bool { return s.State == StateErrored })
	if !strings.Contains(st.Reason, "run bd init in "+dir) || st.Restarts != 0 || st.LastExit != nil || st.Pid != 0 {
		t.Fatalf("status %+v, want errored naming bd init in %s, nothing started", st, dir)
	}
	// Start tries again, and says so again: still no process.
	d.Start()
	st = waitStatus(t, d, 10*time.Second, "errored again", func(s Status) bool { return s.State == StateErrored })
	if st.LastExit != nil || st.Restarts != 0 {
		t.Fatalf("after Start: %+v, want errored with nothing started", st)
	}
}

// Another bd daemon holding the workspace (bd auto-starts one after beadsctl
// stop): our bd exits at once with "daemon already running (PID …)". The
// supervisor does not restart it into the same refusal: errored at once with
// the other daemon's pid and socket, no restart; the exit report holds the
// child's own stderr, not the other daemon's lines of the shared daemon.log.
func TestBeadsDaemonBesideAnUnmanagedOneIsErroredNotLooped(t *testing.T) {
	ws := beadsWorkspace(t)
	log := filepath.Join(ws, ".beads", "daemon.log")
	if err := os.WriteFile(log, []byte("[2026-12-04 01:07:59] the other daemon's line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ready, lines := fifo(t)
	gate := filepath.Join(t.TempDir(), "gate")
	if err := unix.Mkfifo(gate, 0o600); err != nil {
		t.Fatal(err)
	}
	// Online, then (once the test lets it) refused as bd refuses a second daemon.
	script := `echo up > "$READY"; read x < "$GATE"; echo "Error: daemon already running (PID 4242, version 0.28.0)" >&2; exit 1`
	d := runDaemon(t, Spec{
		Argv:    []string{"sh", "-c", script},
		Dir:     ws,
		Beads:   true,
		Env:     map[string]string{"READY": ready, "GATE": gate},
		Restart: RestartPolicy{Policy: PolicyAlways, Delay: time.Millisecond, MaxRestarts: 10, MinUptime: 10 * time.Second},
	}, DaemonOptions{})
	recvLine(t, lines)
	holdDaemonLock(t, ws, 4242) // another bd daemon takes the workspace
	if err := os.WriteFile(gate, []byte("go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, d, 10*time.Second, "errored", func(s Status) bool { return s.State == StateErrored })
	for _, want := range []string{"pid 4242", "version 0.28.0", filepath.Join(ws, ".beads", "bd.sock"), "--replace-unmanaged"} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("reason %q does not name %q", st.Reason, want)
		}
	}
	if st.Restarts != 0 || st.UnstableRestarts > st.Restarts || st.LastExit == nil || st.LastExit.Code != 1 {
		t.Fatalf("status %+v, want errored after the one run, not restarted", st)
	}
	if tail := st.LastExit.LogTail; !slices.Contains(tail, "Error: daemon already running (PID 4242, version 0.28.0)") ||
		slices.ContainsFunc(tail, func(l string) bool { return strings.Contains(l, "the other daemon's line") }) {
		t.Errorf("exit log tail %q, want the child's stderr and not the other daemon's log lines", tail)
	}
}

// bd (cobra) says what is wrong first, then prints its usage, longer than the
// tail kept: the exit report keeps the first lines too (was: the last ten
// lines of the usage, "Error: unknown flag: --bogus" lost).
func TestExitReportKeepsTheFirstStderrLines(t *testing.T) {
	script := `echo "Error: unknown flag: --bogus" >&2; echo "Usage:" >&2; for i in $(seq 1 30); do echo "  flag $i" >&2; done; exit 1`
	d := runDaemon(t, Spec{Argv: []string{"sh", "-c", script}, Restart: RestartPolicy{Policy: PolicyNever}}, DaemonOptions{})
	st := waitStatus(t, d, 10*time.Second, "stopped", func(s Status) bool { return s.State == StateStopped && s.LastExit != nil })
	tail := st.LastExit.LogTail
	want := []string{"Error: unknown flag: --bogus", "Usage:", "… (23 lines)", "  flag 24", "  flag 25", "  flag 26", "  flag 27", "  flag 28", "  flag 29", "  flag 30"}
	if !slices.Equal(tail, want) {
		t.Errorf("exit log tail %q, want %q", tail, want)
	}
}
