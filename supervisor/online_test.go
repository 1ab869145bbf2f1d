package supervisor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// waitOnce serves one GET /v1/daemons/{name}/wait?query on a's handler.
func waitOnce(t *testing.T, a *Agent, name, query string) WaitResult {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v1/daemons/"+name+"/wait?"+query, nil)
	a.handler().ServeHTTP(rec, req)
	var res WaitResult
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &res) != nil {
		t.Fatalf("wait: %d %s", rec.Code, rec.Body)
	}
	return res
}

// TestWaitOnlineAfterTheEarlyExitWindow: a daemon without a health check is
// online once its program runs and has not exited within the early-exit
// window (20 ms of its own time), not after a fixed 300 ms (min_uptime
// 10 s, as PM2 users set it); settle asks for a longer window.
func TestWaitOnlineAfterTheEarlyExitWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := NewAgent(AgentOptions{Dir: t.TempDir(), GoTimers: true, DaemonOptions: func(Spec) DaemonOptions {
			return DaemonOptions{
				Runner:    &fakeRunner{life: func(int) (time.Duration, error) { return -1, nil }},
				Memory:    func(context.Context, int) (uint64, error) { return 0, nil },
				StartTime: func(int) (time.Time, error) { return fakeStart, nil },
			}
		}})
		ctx, cancel := context.WithCancel(t.Context())
		defer func() { cancel(); a.stopAll() }()
		for _, c := range []struct {
			name, query string
			want        time.Duration
		}{
			{"web", "for=online&timeout=10s", earlyExitWindow},
			{"slow", "for=online&timeout=10s&settle=1s", time.Second},
		} {
			spec := Spec{Name: c.name, Argv: []string{"fake"}, Restart: RestartPolicy{Policy: PolicyAlways, MinUptime: 10 * time.Second}}
			t0 := time.Now()
			if _, err := a.put(ctx, spec, true); err != nil {
				t.Fatal(err)
			}
			res := waitOnce(t, a, c.name, c.query)
			if took := time.Since(t0); res.Result != WaitReached || took != c.want {
				t.Errorf("%s: wait %s = %s after %v, want reached after %v", c.name, c.query, res.Result, took, c.want)
			}
		}
	})
}

// TestWaitReportsAnExitAtOnce: a real program that fails as it starts (here
// a shell saying why on stderr) is reported by the wait, with its stderr and
// exit code, although min_uptime is 10 s and its restart 5 s away.
func TestWaitReportsAnExitAtOnce(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	bad := shSpec(dir, "bad", "echo 'bad: unknown flag --bogus' >&2; exit 3")
	bad.Restart = RestartPolicy{Policy: PolicyAlways, Delay: 5 * time.Second, MinUptime: 10 * time.Second, MaxRestarts: 10}
	since := time.Now()
	ta.put(t, bad)
	res := ta.wait(t, "bad", "for=online&timeout=20s&since="+since.UTC().Format(time.RFC3339Nano))
	if res.Result != WaitExited || res.Status.LastExit == nil || res.Status.LastExit.Code != 3 ||
		!strings.Contains(strings.Join(res.Status.LastExit.LogTail, "\n"), "unknown flag --bogus") {
		t.Fatalf("wait on a program that exits at once: %+v (last exit %+v)", res, res.Status.LastExit)
	}
}

// TestEarlyExitLeftTrustsTheRunnerOverAStaleStatus: a wait holds a status
// read before the loop recorded the run's exit; once the runner has told
// of that exit (or the daemon runs another pid), the run is not online
// whatever its age, where /proc alone (the process reaped: no run delay, not
// a zombie) made a program that failed as it started online at 64 ms
// (alerts.txtar's crash-looping daemon, apply "complete" under load).
func TestEarlyExitLeftTrustsTheRunnerOverAStaleStatus(t *testing.T) {
	const pid = 5_000_001 // above pid_max: no such process, as once reaped
	st := Status{Pid: pid, State: StateOnline, LastChange: time.Now().Add(-500 * time.Millisecond)}
	exit := make(chan struct{})
	d := &Daemon{st: Status{Pid: pid}, runExit: exit}
	if left := earlyExitLeft(d, st, earlyExitWindow, &ownClock{}); left != 0 {
		t.Fatalf("a run 500 ms old, still running: %v left, want 0 (online)", left)
	}
	close(exit)
	if left := earlyExitLeft(d, st, earlyExitWindow, &ownClock{}); left != earlyExitRecheck {
		t.Fatalf("a run the runner saw exit: %v left, want a recheck (%v)", left, earlyExitRecheck)
	}
	d = &Daemon{st: Status{Pid: pid + 1}, runExit: make(chan struct{})}
	if left := earlyExitLeft(d, st, earlyExitWindow, &ownClock{}); left != earlyExitRecheck {
		t.Fatalf("the daemon runs another pid: %v left, want a recheck (%v)", left, earlyExitRecheck)
	}
}

// TestOwnClockCountsOnlyTheRunsOwnTime: the kernel adds a wait for a CPU to
// the run delay only once it ends, so a run read runnable (R) with its CPU
// time and run delay unmoved may be waiting all along, and a run read
// blocked (D) twice with its CPU time unmoved was blocked: neither is its
// own time (at load 10 an `sh -c 'exit 3'` was online at 21 ms, 0.8 ms of it
// on a CPU, in state D: TestWaitReportsAnExitAtOnce, 1 run in 8). A run is
// sure only when read asleep (S).
func TestOwnClockCountsOnlyTheRunsOwnTime(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	t0 := time.Now()
	at := func(n int) time.Time { return t0.Add(ms(n)) }
	check := func(what string, c *ownClock, pid, n int, r schedReading, wantOwn time.Duration, wantSure bool) {
		t.Helper()
		if own, sure := c.own(pid, ms(n), at(n), r); own != wantOwn || sure != wantSure {
			t.Errorf("%s: own %v sure %v, want %v %v", what, own, sure, wantOwn, wantSure)
		}
	}
	var c ownClock
	waiting := schedReading{known: true, cpu: ms(1), delay: ms(2), state: 'R'}
	check("first reading, runnable", &c, 7, 5, waiting, ms(3), false)
	check("30 ms runnable, nothing moved", &c, 7, 35, waiting, ms(3), false)
	check("the wait accounted, asleep", &c, 7, 36, schedReading{known: true, cpu: ms(2), delay: ms(32), state: 'S'}, ms(4), true)
	check("running (CPU time moved)", &c, 7, 60, schedReading{known: true, cpu: ms(20), delay: ms(32), state: 'R'}, ms(28), false)

	c = ownClock{}
	blocked := schedReading{known: true, cpu: ms(1), delay: ms(1), state: 'D'}
	check("first reading, blocked", &c, 8, 4, blocked, ms(3), false)
	check("blocked 20 ms more", &c, 8, 24, blocked, ms(3), false)
	check("asleep after it", &c, 8, 26, schedReading{known: true, cpu: ms(1), delay: ms(1), state: 'S'}, ms(5), true)
	check("another run, first read asleep", &c, 9, 25, schedReading{known: true, cpu: ms(1), delay: ms(1), state: 'S'}, ms(24), true)
	check("stopped (T) is not sure", &c, 9, 30, schedReading{known: true, cpu: ms(1), delay: ms(1), state: 'T'}, ms(29), false)
	check("schedule unknown (not Linux): the wall time", &c, 10, 25, schedReading{}, ms(25), true)
}
