package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecCheckOutputIsBounded: a check that writes 200 MB costs the agent
// a bounded buffer (the tail is kept for the message), not the whole output.
func TestExecCheckOutputIsBounded(t *testing.T) {
	spec := Spec{Dir: t.TempDir(), Health: HealthSpec{Check: CheckExec, Timeout: time.Minute,
		Command: []string{"sh", "-c", "head -c 200000000 /dev/zero; echo the-last-line; exit 3"}}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := checkExec(t.Context(), spec, nil)
	runtime.ReadMemStats(&after)
	if res.Healthy || !strings.Contains(res.Message, "exit code 3") || !strings.Contains(res.Message, "the-last-line") {
		t.Errorf("result = %+v, want unhealthy with exit code 3 and the last line", res)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("the check of 200 MB of output allocated %d MB, want under 16 MB", alloc>>20)
	}
}

// TestExecCheckKillsItsGroup: on timeout, and when the check's leader exits,
// whatever the check forked is killed with it (issue 13: one `sleep 77` was
// left per check).
func TestExecCheckKillsItsGroup(t *testing.T) {
	tests := map[string]struct {
		script  string
		timeout time.Duration
		want    string
	}{
		"timeout":       {script: `sleep 77 & echo $! > "$PID_FILE"; wait; true`, timeout: time.Second, want: "timed out after 1s"},
		"leader exited": {script: `sleep 77 & echo $! > "$PID_FILE"; exit 1`, timeout: time.Minute, want: "exit code 1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			spec := Spec{Dir: t.TempDir(), Health: HealthSpec{Check: CheckExec, Timeout: tc.timeout,
				Command: []string{"sh", "-c", tc.script}}}
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			res := checkExec(ctx, spec, []string{"PATH=" + os.Getenv("PATH"), "PID_FILE=" + pidFile})
			if res.Healthy || !strings.Contains(res.Message, tc.want) {
				t.Errorf("result = %+v, want unhealthy with %q", res, tc.want)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			if !exited(pidfd(t, pid), 2*time.Second) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("the check's `sleep 77` (pid %d) outlived the check", pid)
			}
		})
	}
}

// TestExecCheckKilledWhenDaemonStops: a check still running when its daemon
// stops (destroy, agent exit) is killed with its group before Run returns.
func TestExecCheckKilledWhenDaemonStops(t *testing.T) {
	ready, lines := fifo(t)
	h := HealthSpec{Check: CheckExec, Interval: time.Hour, Timeout: time.Hour, Failures: 1,
		Command: []string{"sh", "-c", `sleep 77 & echo $! > "$READY"; wait`}}
	spec := Spec{Name: "test", Dir: t.TempDir(), Argv: []string{"sleep", "1000"}, Health: h, Env: map[string]string{"READY": ready}}
	d := NewDaemon(spec, DaemonOptions{})
	stop := runStoppable(t, d)
	pid, err := strconv.Atoi(recvLine(t, lines))
	if err != nil {
		t.Fatal(err)
	}
	fd := pidfd(t, pid)
	stop()
	if !exited(fd, 2*time.Second) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the check's `sleep 77` (pid %d) outlived its daemon", pid)
	}
}

// runStoppable runs d; stop cancels Run and fails the test unless it returns
// nil within 10 s.
func runStoppable(t *testing.T, d *Daemon) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(cancel)
	return func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of its context being cancelled")
		}
	}
}

// TestHealthReasonChangeWakesWaiters: a verdict that stays "unhealthy" but for
// another reason is a change for Changed. TestDoltServerWrongProjectIsUnhealthy
// waited a minute for "serves another project" on a loaded machine, where the
// first counted check had said "unhealthy: connection refused" (dolt not yet
// listening) and the next verdict, unhealthy too, woke nobody.
func TestHealthReasonChangeWakesWaiters(t *testing.T) {
	dir := t.TempDir()
	d := runDaemon(t, Spec{Argv: []string{"sleep", "1000"}, Dir: dir,
		Restart: RestartPolicy{Policy: "never"}, Stop: StopPolicy{Timeout: 5 * time.Second},
		Health: HealthSpec{Check: CheckExec, Interval: 50 * time.Millisecond, Timeout: 10 * time.Second, Failures: 1000,
			Command: []string{"sh", "-c", `if [ -e second ]; then echo second reason; else echo first reason; fi; exit 1`}}}, DaemonOptions{})
	waitStatus(t, d, 30*time.Second, "the first reason", func(s Status) bool {
		return s.Health.Status == "unhealthy" && strings.Contains(s.Health.Message, "first reason")
	})
	if err := os.WriteFile(filepath.Join(dir, "second"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, d, 30*time.Second, "the second reason", func(s Status) bool {
		return s.Health.Status == "unhealthy" && strings.Contains(s.Health.Message, "second reason")
	})
}

// TestRecentHealthIsBounded: the Status keeps the last MaxRecentHealth counted
// checks, oldest first, each with its time, verdict and latency. The check
// alternates between healthy and unhealthy, so that each verdict wakes Changed.
func TestRecentHealthIsBounded(t *testing.T) {
	dir := t.TempDir()
	d := runDaemon(t, Spec{Argv: []string{"sleep", "1000"}, Dir: dir,
		Restart: RestartPolicy{Policy: "never"}, Stop: StopPolicy{Timeout: 5 * time.Second},
		Health: HealthSpec{Check: CheckExec, Interval: 20 * time.Millisecond, Timeout: 10 * time.Second, Failures: 1000,
			Command: []string{"sh", "-c", `echo >> runs; if [ -e flip ]; then rm flip; echo sick; exit 1; fi; touch flip`}}}, DaemonOptions{})
	// Every check but the one running is counted (the first is healthy, so the
	// start phase ends with it): MaxRecentHealth+2 runs are more than are kept.
	st := waitStatus(t, d, 60*time.Second, "more checks than are kept", func(s Status) bool {
		b, _ := os.ReadFile(filepath.Join(dir, "runs"))
		return strings.Count(string(b), "\n") >= MaxRecentHealth+2
	})
	if st.Restarts != 0 {
		t.Fatalf("restarted %d times: %+v", st.Restarts, st.RecentRestarts)
	}
	for i, h := range st.RecentHealth {
		if h.LatencyMS <= 0 || h.At.IsZero() || (h.Status != "healthy" && h.Status != "unhealthy") {
			t.Errorf("check %d = %+v, want a time, a verdict and a latency", i, h)
		}
		if i > 0 {
			prev := st.RecentHealth[i-1]
			if !h.At.After(prev.At) || h.Status == prev.Status {
				t.Errorf("check %d = %+v after %+v: want later and the other verdict", i, h, prev)
			}
		}
		if h.Status == "unhealthy" && !strings.Contains(h.Message, "sick") {
			t.Errorf("check %d message %q, want the check's output", i, h.Message)
		}
	}
	last := st.RecentHealth[len(st.RecentHealth)-1]
	if !last.At.Equal(st.Health.CheckedAt) || last.Status != st.Health.Status {
		t.Errorf("last check %+v, want the current verdict %+v", last, st.Health)
	}
}
