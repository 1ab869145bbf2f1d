package supervisor

import (
	"context"
	"math"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeRunner starts fake processes whose lives are scripted by life: run n
// (from 0) exits after the returned duration with the returned error, or
// lives until signalled when the duration is negative. Only for timer logic
// inside synctest.
type fakeRunner struct {
	life func(n int) (time.Duration, error)
	// ignoreTerm makes the processes survive everything but SIGKILL.
	ignoreTerm bool
	// reapLag is how long Done follows Exited (a real process is reaped and
	// its output drained after its exit is known).
	reapLag time.Duration

	mu     sync.Mutex
	starts []time.Time
	envs   [][]string
	holds  []<-chan struct{}
}

func (r *fakeRunner) Start(ctx context.Context, c Command) (Process, error) {
	r.mu.Lock()
	n := len(r.starts)
	r.starts = append(r.starts, time.Now())
	r.envs = append(r.envs, c.Env)
	r.holds = append(r.holds, c.Hold)
	r.mu.Unlock()
	p := &fakeProc{pid: 5_000_000 + n, exited: make(chan struct{}), done: make(chan struct{}), ignoreTerm: r.ignoreTerm, lag: r.reapLag}
	life, err := r.life(n)
	if life >= 0 {
		go func() {
			t := time.NewTimer(life)
			defer t.Stop()
			select {
			case <-t.C:
				p.exit(err)
			case <-p.exited:
			}
		}()
	}
	return p, nil
}

// startOffsets returns the start times relative to t0.
func (r *fakeRunner) startOffsets(t0 time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, s := range r.starts {
		out = append(out, s.Sub(t0))
	}
	return out
}

type fakeProc struct {
	pid          int
	exited, done chan struct{}
	lag          time.Duration // Done follows Exited by lag
	once         sync.Once
	err          error
	ignoreTerm   bool
}

func (p *fakeProc) Pid() int                { return p.pid }
func (p *fakeProc) Done() <-chan struct{}   { return p.done }
func (p *fakeProc) Exited() <-chan struct{} { return p.exited }
func (p *fakeProc) Err() error              { <-p.done; return p.err }
func (p *fakeProc) ExitErr() error          { <-p.exited; return p.err }
func (p *fakeProc) exit(err error) {
	p.once.Do(func() {
		p.err = err
		close(p.exited)
		if p.lag > 0 {
			time.AfterFunc(p.lag, func() { close(p.done) })
		} else {
			close(p.done)
		}
	})
}

func (p *fakeProc) Signal(sig os.Signal) error {
	select {
	case <-p.exited:
		return os.ErrProcessDone
	default:
	}
	if sig == syscall.SIGKILL {
		p.exit(&ExitError{Code: -1, Signal: "SIGKILL"})
	} else if !p.ignoreTerm {
		p.exit(&ExitError{Code: -1, Signal: "SIGTERM"})
	}
	return nil
}

var fakeStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeDaemon runs a daemon on r inside the current synctest bubble; the
// returned function stops it and waits for Run to return. events, when
// given, receives the daemon's events.
func fakeDaemon(t *testing.T, spec Spec, r *fakeRunner, events ...func(Event)) (*Daemon, func()) {
	t.Helper()
	spec.Name = "fake"
	spec.Argv = []string{"fake"}
	opts := DaemonOptions{
		Runner:    r,
		Memory:    func(context.Context, int) (uint64, error) { return 0, nil },
		StartTime: func(int) (time.Time, error) { return fakeStart, nil },
	}
	if len(events) > 0 {
		opts.Events = events[0]
	}
	d := NewDaemon(spec, opts)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	return d, func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func crash(int) (time.Duration, error) { return 0, &ExitError{Code: 1} }

func secs(s ...float64) []time.Duration {
	var out []time.Duration
	for _, v := range s {
		out = append(out, time.Duration(math.Round(v*float64(time.Second))))
	}
	return out
}

func TestRestartBackoffSequence(t *testing.T) {
	tests := map[string]struct {
		policy RestartPolicy
		want   []time.Duration
	}{
		"exponential capped": {
			policy: RestartPolicy{Delay: time.Second, Backoff: BackoffExponential, MaxDelay: 8 * time.Second, MinUptime: 10 * time.Second},
			want:   secs(0, 1, 3, 7, 15, 23, 31),
		},
		"constant": {
			policy: RestartPolicy{Delay: 2 * time.Second, Backoff: BackoffConstant, MinUptime: 10 * time.Second},
			want:   secs(0, 2, 4, 6, 8, 10, 12),
		},
		"exponential without delay: a burst of 3, then the floor, 10ms doubling": {
			policy: RestartPolicy{Backoff: BackoffExponential, MaxDelay: time.Second, MinUptime: time.Second, MaxRestarts: 7},
			want:   secs(0, 0, 0, 0, 0.01, 0.03, 0.07),
		},
		// Issue 13: `command = "false"` with max_restarts = 0 restarted 2,600
		// times a second. The floor holds even when no run counts as
		// unstable (min_uptime 0).
		"delay 0, max_restarts 0, min_uptime 0: a burst, then the floor up to 1s": {
			policy: RestartPolicy{},
			want:   secs(0, 0, 0, 0, 0.01, 0.03, 0.07, 0.15, 0.31, 0.63, 1.27, 2.27, 3.27, 4.27),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &fakeRunner{life: crash}
				t0 := time.Now()
				d, stop := fakeDaemon(t, Spec{Restart: tc.policy}, r)
				time.Sleep(tc.want[len(tc.want)-1] + time.Second/2)
				synctest.Wait()
				got := r.startOffsets(t0)
				if len(got) > len(tc.want) {
					got = got[:len(tc.want)]
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("start times (-want +got):\n%s", diff)
				}
				if st := d.Status(); st.LastRestartReason != ReasonCrash || st.Restarts < len(tc.want)-1 {
					t.Errorf("status: reason %q restarts %d", st.LastRestartReason, st.Restarts)
				}
				stop()
			})
		})
	}
}

// TestRestartForksAtExitNotAtReap: a crash restart without delay forks the
// next run as soon as the exit is known (Process.Exited: the zombie's group
// killed), not once the old run is reaped and its output drained (Done, a
// second later here: the escaped-pipe case, or just the reap, ~50 µs, with
// the log and state bookkeeping after it). The exit and the restart are
// then recorded in their usual order, and the new run's output is held
// until the old run's tail has been taken.
func TestRestartForksAtExitNotAtReap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{reapLag: time.Second, life: func(n int) (time.Duration, error) {
			if n == 0 {
				return time.Second, &ExitError{Code: 1}
			}
			return -1, nil
		}}
		var mu sync.Mutex
		var kinds []string
		t0 := time.Now()
		d, stop := fakeDaemon(t, Spec{Restart: RestartPolicy{MinUptime: time.Millisecond}}, r, func(ev Event) {
			mu.Lock()
			kinds = append(kinds, ev.Kind)
			mu.Unlock()
		})
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff(secs(0, 1), r.startOffsets(t0)); diff != "" {
			t.Errorf("start times (-want +got), the old run reaped at 2s:\n%s", diff)
		}
		r.mu.Lock()
		hold := r.holds[len(r.holds)-1]
		r.mu.Unlock()
		if hold == nil {
			t.Fatal("the restart forked before the old run ended gave no Hold for its output")
		}
		select {
		case <-hold:
			t.Error("the new run's output was let through before the old run was reaped and drained")
		default:
		}
		time.Sleep(time.Second)
		synctest.Wait()
		st := d.Status()
		if st.State != StateOnline || st.Pid != 5_000_001 || st.Restarts != 1 || st.LastRestartReason != ReasonCrash ||
			st.LastExit == nil || st.LastExit.Code != 1 || st.LastExit.Uptime != time.Second {
			t.Errorf("status after the restart = %+v", st)
		}
		select {
		case <-hold:
		default:
			t.Error("the new run's output is still held after the restart was recorded")
		}
		mu.Lock()
		got := slices.Clone(kinds)
		mu.Unlock()
		if want := []string{EventStarted, EventExited, EventRestarted, EventStarted}; !slices.Equal(got, want) {
			t.Errorf("events = %v, want %v", got, want)
		}
		stop()
	})
}

func TestRestartResetAfterMinUptime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Runs 0-2 crash at once, run 3 lasts 20s (stable), run 4 crashes at once.
		r := &fakeRunner{life: func(n int) (time.Duration, error) {
			if n == 3 {
				return 20 * time.Second, &ExitError{Code: 2}
			}
			if n > 4 {
				return -1, nil
			}
			return 0, &ExitError{Code: 1}
		}}
		policy := RestartPolicy{Delay: time.Second, Backoff: BackoffExponential, MaxDelay: time.Minute, MinUptime: 10 * time.Second, MaxRestarts: 4}
		t0 := time.Now()
		d, stop := fakeDaemon(t, Spec{Restart: policy}, r)
		time.Sleep(time.Minute)
		synctest.Wait()
		// 0, +1s, +2s, +4s; run 3 lives 20s, then the backoff starts over: +1s, +1s.
		if diff := cmp.Diff(secs(0, 1, 3, 7, 28, 29), r.startOffsets(t0)); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
		st := d.Status()
		if st.State != StateOnline || st.UnstableRestarts != 1 || st.Restarts != 5 {
			t.Errorf("state %s unstable %d restarts %d, want online 1 5", st.State, st.UnstableRestarts, st.Restarts)
		}
		stop()
	})
}

func TestRestartErroredAfterMaxRestartsWithDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{life: crash}
		policy := RestartPolicy{Delay: 5 * time.Second, MaxRestarts: 3, MinUptime: time.Second}
		t0 := time.Now()
		d, stop := fakeDaemon(t, Spec{Restart: policy}, r)
		time.Sleep(time.Hour)
		synctest.Wait()
		if diff := cmp.Diff(secs(0, 5, 10), r.startOffsets(t0)); diff != "" {
			t.Errorf("start times (-want +got):\n%s", diff)
		}
		st := d.Status()
		// 3 unstable runs, 2 restarts after them: the unstable count shown is
		// of restarts, never above the total ("RESTARTS 9 (10)" was shown).
		if st.State != StateErrored || st.Restarts != 2 || st.UnstableRestarts != 2 || st.LastExit == nil || st.LastExit.Code != 1 || st.Pid != 0 {
			t.Fatalf("status = %+v, want errored after 3 unstable runs, 2 (2) restarts", st)
		}
		t.Logf("errored: %s", st.Reason)

		// Start gives it another chance, with a fresh unstable count.
		d.Start()
		synctest.Wait()
		if got := len(r.startOffsets(t0)); got != 4 {
			t.Errorf("starts after Start = %d, want 4", got)
		}
		if st := d.Status(); st.UnstableRestarts != 0 || st.State != StateWaitingRestart {
			t.Errorf("after Start: state %s unstable %d, want waiting-restart 0 (the restart has not happened yet)", st.State, st.UnstableRestarts)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if st := d.Status(); st.UnstableRestarts != 1 || st.UnstableRestarts > st.Restarts {
			t.Errorf("after the restart: unstable %d restarts %d, want 1 and no more than the restarts", st.UnstableRestarts, st.Restarts)
		}
		stop()
	})
}

func TestRestartPolicies(t *testing.T) {
	exits := map[string]error{
		"exit 0":  nil,
		"exit 3":  &ExitError{Code: 3},
		"signal":  &ExitError{Code: -1, Signal: "SIGSEGV"},
		"unknown": os.ErrInvalid,
	}
	want := map[string]map[string]bool{ // policy -> exit -> restarted
		PolicyAlways:    {"exit 0": true, "exit 3": true, "signal": true, "unknown": true},
		"":              {"exit 0": true, "exit 3": true, "signal": true, "unknown": true},
		PolicyOnFailure: {"exit 0": false, "exit 3": true, "signal": true, "unknown": true},
		PolicyNever:     {"exit 0": false, "exit 3": false, "signal": false, "unknown": false},
	}
	for policy, byExit := range want {
		for exitName, restarted := range byExit {
			t.Run(policy+"/"+exitName, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := &fakeRunner{life: func(n int) (time.Duration, error) {
						if n == 0 {
							return time.Minute, exits[exitName]
						}
						return -1, nil
					}}
					d, stop := fakeDaemon(t, Spec{Restart: RestartPolicy{Policy: policy, Delay: time.Second}}, r)
					time.Sleep(2 * time.Minute)
					synctest.Wait()
					st := d.Status()
					gotRestarted := len(r.startOffsets(time.Time{})) == 2
					if gotRestarted != restarted {
						t.Fatalf("restarted = %v, want %v (status %+v)", gotRestarted, restarted, st)
					}
					wantState := StateOnline
					if !restarted {
						wantState = StateStopped
					}
					if st.State != wantState || st.Stopped {
						t.Errorf("state %s stopped %v, want %s (reason %q)", st.State, st.Stopped, wantState, st.Reason)
					}
					stop()
				})
			})
		}
	}
}

func TestStopTimeoutEscalatesFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{life: func(int) (time.Duration, error) { return -1, nil }, ignoreTerm: true}
		d, stop := fakeDaemon(t, Spec{Stop: StopPolicy{Timeout: 5 * time.Second}}, r)
		synctest.Wait()
		t0 := time.Now()
		if err := d.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(t0); took != 5*time.Second {
			t.Errorf("stop took %v, want the 5s timeout", took)
		}
		st := d.Status()
		if !st.Stopped || st.State != StateStopped || st.LastExit == nil || st.LastExit.Signal != "SIGKILL" {
			t.Errorf("status = %+v, want stopped by SIGKILL", st)
		}
		stop()
	})
}

func TestMemoryLimitRestartFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{life: func(int) (time.Duration, error) { return -1, nil }}
		var mu sync.Mutex
		rss := uint64(10)
		spec := Spec{Name: "mem", Argv: []string{"fake"}, Limits: Limits{Memory: 100, CheckInterval: 10 * time.Millisecond}}
		d := NewDaemon(spec, DaemonOptions{
			Runner:    r,
			Memory:    func(context.Context, int) (uint64, error) { mu.Lock(); defer mu.Unlock(); return rss, nil },
			StartTime: func(int) (time.Time, error) { return fakeStart, nil },
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		time.Sleep(time.Second)
		synctest.Wait()
		if st := d.Status(); st.MemoryBytes != 10 || st.Restarts != 0 {
			t.Fatalf("status = %+v, want 10 bytes and no restart", st)
		}
		mu.Lock()
		rss = 101
		mu.Unlock()
		time.Sleep(150 * time.Millisecond) // the interval is clamped to 100ms
		synctest.Wait()
		mu.Lock()
		rss = 10
		mu.Unlock()
		st := d.Status()
		if st.Restarts != 1 || st.LastRestartReason != ReasonMemory || st.State != StateOnline {
			t.Errorf("status = %+v, want one memory restart", st)
		}
		cancel()
		<-done
	})
}

func TestUpdateInPlaceOrRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{life: func(int) (time.Duration, error) { return -1, nil }}
		spec := Spec{Env: map[string]string{"A": "1"}, EnvHash: "env-a1"}
		d, stop := fakeDaemon(t, spec, r)
		synctest.Wait()
		spec = d.Spec()

		inPlace := spec
		inPlace.Limits.Memory = 1 << 30
		inPlace.Restart.Delay = time.Second
		inPlace.Logs.Rotate.Keep = 3
		inPlace.EnvHash, inPlace.Hash = "env-a1-keyed-again", "spec-keyed-again" // the same values, another key
		if d.Update(inPlace) {
			t.Error("Update of limits/restart/rotate/hashes restarts")
		}
		synctest.Wait()
		if st := d.Status(); st.Restarts != 0 || st.MemoryLimitBytes != 1<<30 || st.EnvHash != inPlace.EnvHash || st.SpecHash != inPlace.Hash {
			t.Errorf("after in-place update: %+v", st)
		}

		changed := inPlace
		changed.Env, changed.EnvHash = map[string]string{"A": "2"}, "env-a2"
		if !d.Update(changed) {
			t.Error("Update of env does not restart")
		}
		synctest.Wait()
		st := d.Status()
		if st.Restarts != 1 || st.LastRestartReason != ReasonConfig || st.EnvHash != changed.EnvHash {
			t.Errorf("after env update: %+v", st)
		}
		stop()
	})
}

// TestMemorySampledAtStartForDisplay: right after a start Status carries the
// memory of the new process (health showed "memory 0B / 2G" for a whole
// interval), but that first sample is not enforced: a process over its limit
// from the start is restarted one interval later, not at once.
func TestMemorySampledAtStartForDisplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &fakeRunner{life: func(int) (time.Duration, error) { return -1, nil }}
		spec := Spec{Name: "mem", Argv: []string{"fake"}, Limits: Limits{Memory: 100, CheckInterval: time.Second}}
		d := NewDaemon(spec, DaemonOptions{
			Runner:    r,
			Memory:    func(context.Context, int) (uint64, error) { return 150, nil },
			StartTime: func(int) (time.Time, error) { return fakeStart, nil },
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		synctest.Wait()
		if st := d.Status(); st.State != StateOnline || st.MemoryBytes != 150 || st.Restarts != 0 {
			t.Fatalf("right after the start: status = %+v, want online, 150 bytes, no restart", st)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if st := d.Status(); st.Restarts == 0 || st.LastRestartReason != ReasonMemory {
			t.Errorf("after the intervals: status = %+v, want a memory restart", st)
		}
		cancel()
		<-done
	})
}

// TestRecentRestartsAreBounded: the Status keeps the last MaxRecentRestarts
// restarts, oldest first, each with its reason, time and the exit of the run
// before it (for beadsctl show); a manual restart is recorded as such.
func TestRecentRestartsAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Runs 0-11 crash after 2s with exit 1; run 12 on live until signalled.
		r := &fakeRunner{life: func(n int) (time.Duration, error) {
			if n < 12 {
				return 2 * time.Second, &ExitError{Code: 1}
			}
			return -1, nil
		}}
		policy := RestartPolicy{Delay: time.Second, Backoff: BackoffConstant, MinUptime: time.Second}
		t0 := time.Now()
		d, stop := fakeDaemon(t, Spec{Restart: policy}, r)
		time.Sleep(time.Minute)
		synctest.Wait()
		st := d.Status()
		if st.Restarts != 12 || len(st.RecentRestarts) != MaxRecentRestarts {
			t.Fatalf("restarts %d, recent %d: want 12 and %d", st.Restarts, len(st.RecentRestarts), MaxRecentRestarts)
		}
		// Restart k happens at 3k s (2s run + 1s delay); the first two are gone.
		for i, ev := range st.RecentRestarts {
			k := i + 3
			if ev.Reason != ReasonCrash || !ev.At.Equal(t0.Add(time.Duration(3*k)*time.Second)) ||
				ev.Exit == nil || ev.Exit.Code != 1 || ev.Exit.Uptime != 2*time.Second || ev.Exit.LogTail != nil {
				t.Errorf("restart %d = %+v (exit %+v), want crash at +%ds after exit 1, 2s up", k, ev, ev.Exit, 3*k)
			}
		}
		d.Restart(ReasonManual)
		synctest.Wait()
		st = d.Status()
		last := st.RecentRestarts[len(st.RecentRestarts)-1]
		if len(st.RecentRestarts) != MaxRecentRestarts || last.Reason != ReasonManual || last.Exit == nil || last.Exit.Signal != "SIGTERM" {
			t.Errorf("after a manual restart: %d kept, last %+v, want %d and manual after SIGTERM", len(st.RecentRestarts), last, MaxRecentRestarts)
		}
		stop()
	})
}
