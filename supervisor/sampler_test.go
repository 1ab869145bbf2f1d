package supervisor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

func TestNextInterval(t *testing.T) {
	const mb = 1 << 20
	for name, c := range map[string]struct {
		rss  uint64
		rate float64
		want time.Duration
	}{
		"not growing":             {rss: 90 * mb, rate: 0, want: time.Second},
		"shrinking":               {rss: 90 * mb, rate: -5 * mb, want: time.Second},
		"far at that rate":        {rss: 10 * mb, rate: 10 * mb, want: time.Second}, // 9 s to the limit
		"two seconds away":        {rss: 60 * mb, rate: 20 * mb, want: time.Second}, // 2 s: half is 1 s
		"one second away":         {rss: 80 * mb, rate: 20 * mb, want: 500 * time.Millisecond},
		"a tenth of a second":     {rss: 98 * mb, rate: 20 * mb, want: 50 * time.Millisecond},
		"nearly there":            {rss: 100*mb - 1000, rate: 20 * mb, want: nearLimitMin},
		"at the limit, not above": {rss: 100 * mb, rate: 0, want: nearLimitMin},
	} {
		if got := nextInterval(time.Second, 100*mb, c.rss, c.rate); got != c.want {
			t.Errorf("%s: nextInterval = %v, want %v", name, got, c.want)
		}
	}
}

// memDaemon runs a fake daemon whose group's RSS is rss(time since start),
// sampled with the real sampler; it returns the daemon, the number of
// samples taken so far, and a stop function.
func memDaemon(t *testing.T, limits Limits, rss func(time.Duration) uint64) (*Daemon, func() int, func()) {
	t.Helper()
	r := &fakeRunner{life: func(int) (time.Duration, error) { return -1, nil }}
	var mu sync.Mutex
	samples := 0
	t0 := time.Now()
	d := NewDaemon(Spec{Name: "mem", Argv: []string{"fake"}, Limits: limits}, DaemonOptions{
		Runner: r,
		Memory: func(context.Context, int) (uint64, error) {
			mu.Lock()
			defer mu.Unlock()
			samples++
			return rss(time.Since(t0)), nil
		},
		StartTime: func(int) (time.Time, error) { return fakeStart, nil },
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	return d, func() int { mu.Lock(); defer mu.Unlock(); return samples }, func() { cancel(); <-done }
}

// TestMemoryLimitCaughtNearTheLimit: a process growing 20 % of its limit per
// second from half of it crosses the limit 2.5 s after its start; it is
// restarted within 0.1 s of the crossing, at no more than 1.05 times the
// limit. Sampled once a second as before, it was caught at the next whole
// second, at 1.1 times the limit, half a second late.
func TestMemoryLimitCaughtNearTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 100 << 20
		grow := func(up time.Duration) uint64 { return limit/2 + uint64(up.Seconds()*0.2*limit) }
		d, _, stop := memDaemon(t, Limits{Memory: limit, CheckInterval: time.Second}, grow)
		defer stop()
		for i := 0; d.Status().Restarts == 0; i++ {
			if i > 2000 { // 10 s of the bubble's clock
				t.Fatalf("no restart: status %+v", d.Status())
			}
			time.Sleep(5 * time.Millisecond)
			synctest.Wait()
		}
		st := d.Status()
		ev := st.RecentRestarts[0]
		var rss, lim uint64
		if _, err := fmt.Sscanf(ev.Detail, "RSS %d bytes over the limit of %d", &rss, &lim); err != nil || lim != limit {
			t.Fatalf("restart %+v: detail %q, want the RSS over the limit of %d", ev, ev.Detail, limit)
		}
		if ev.Reason != ReasonMemory || float64(rss) > 1.05*limit {
			t.Errorf("restart %+v at RSS %.3fx the limit, want a memory restart at <= 1.05x", ev, float64(rss)/limit)
		}
	})
}

// TestMemoryIdleSampledOncePerInterval: a process that does not grow, far
// below its limit, costs one sample per check interval, as before.
func TestMemoryIdleSampledOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, samples, stop := memDaemon(t, Limits{Memory: 100 << 20, CheckInterval: time.Second}, func(time.Duration) uint64 { return 30 << 20 })
		defer stop()
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if n := samples(); n < 9 || n > 12 {
			t.Errorf("%d samples in 10 s, want one per second (and one at the start)", n)
		}
	})
}

// TestMemorySamplerSharedByDaemons: the daemons of one sampler are read
// together, on the same aligned ticks, from one goroutine.
func TestMemorySamplerSharedByDaemons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewMemorySampler()
		var mu sync.Mutex
		at := map[time.Time]int{}
		var ws []*memWatch
		for range 5 {
			w := &memWatch{limit: 100, every: time.Second,
				read: func(bool) (proc.GroupSample, error) {
					mu.Lock()
					at[time.Now()]++
					mu.Unlock()
					return proc.GroupSample{RSS: 10}, nil
				},
				sampled: func(proc.GroupSample, bool, time.Time) {},
				over:    func(uint64) { t.Error("over the limit") },
			}
			ws = append(ws, w)
			s.add(w)
			time.Sleep(137 * time.Millisecond) // added at different moments
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		for _, w := range ws {
			s.remove(w)
		}
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		ticks := 0
		for tm, n := range at {
			if n > 1 {
				ticks++
				if tm.Nanosecond() != 0 || n != 5 {
					t.Errorf("%d samples at %v, want all 5 on whole seconds", n, tm)
				}
			}
		}
		if ticks < 3 {
			t.Errorf("samples %v: want the 5 daemons read together every second", at)
		}
	})
}

// TestMemorySampledAgainSoonAfterAStart: a daemon without a limit (sampled
// every 5 s for status) is sampled at its start and again within 2 s: right
// after an exec the kernel's RSS often reads 0, and status showed 0B for
// 5 to 10 s.
func TestMemorySampledAgainSoonAfterAStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, samples, stop := memDaemon(t, Limits{}, func(time.Duration) uint64 { return 30 << 20 })
		defer stop()
		time.Sleep(2*time.Second + time.Millisecond)
		synctest.Wait()
		if n := samples(); n != 2 {
			t.Errorf("%d samples in the first 2 s, want 2 (at the start, and on the next whole second a second away)", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := samples(); n > 5 {
			t.Errorf("%d samples in 12 s, want one every 5 s after the second", n)
		}
	})
}

// TestMemorySampledAgainWhileItReadsZero: a run sampled before its program
// ran reads 0 (a fresh exec has almost no pages): it is sampled again 2, 4,
// 8 ms later until it shows, not a second later (metrics and status showed
// 0 B for an online daemon).
func TestMemorySampledAgainWhileItReadsZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _, stop := memDaemon(t, Limits{Memory: 100 << 20, CheckInterval: time.Second}, func(up time.Duration) uint64 {
			if up < 5*time.Millisecond {
				return 0
			}
			return 30 << 20
		})
		defer stop()
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		if st := d.Status(); st.MemoryBytes != 30<<20 || st.Restarts != 0 {
			t.Errorf("20 ms after a start that read 0: status %+v, want its 30 MiB and no restart", st)
		}
	})
}

// TestMemorySamplerRecordsOnlyNews: a sample that reads the RSS the last one
// read is recorded only when it is full (it brings the CPU time); the first
// sample, and one whose RSS changed, always are.
func TestMemorySamplerRecordsOnlyNews(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewMemorySampler()
		var mu sync.Mutex
		rss := uint64(10 << 20)
		reads, fulls := 0, 0
		var recorded []string
		w := &memWatch{limit: 100 << 20, every: time.Second,
			read: func(full bool) (proc.GroupSample, error) {
				mu.Lock()
				defer mu.Unlock()
				reads++
				if full {
					fulls++
				}
				return proc.GroupSample{RSS: rss}, nil
			},
			sampled: func(g proc.GroupSample, full bool, _ time.Time) {
				mu.Lock()
				defer mu.Unlock()
				recorded = append(recorded, fmt.Sprintf("%d full=%v", g.RSS>>20, full))
			},
			over: func(uint64) { t.Error("over the limit") },
		}
		s.add(w)
		time.Sleep(12 * time.Second)
		synctest.Wait()
		mu.Lock()
		if reads < 10 || len(recorded) != fulls {
			t.Errorf("%d samples, %d full: recorded %q; want the full ones only (the first is)", reads, fulls, recorded)
		}
		rss = 20 << 20
		n := len(recorded)
		mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		s.remove(w)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(recorded) != n+1 || recorded[n] != "20 full=false" {
			t.Errorf("after the RSS changed: recorded %q, want one more sample, not full, of 20 MiB", recorded[n:])
		}
	})
}
