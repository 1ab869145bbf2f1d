package supervisor

import (
	"runtime"
	"time"
)

// sleeper is what the agent's periodic goroutines (the memory sampler, the
// folder check) wait on between two rounds: a wait of d that a poke ends
// early.
//
// The kernel's sleeper (Linux: a timerfd in Go's netpoller, kernelSleeper)
// is the idle agent's: the thread that waits in epoll is woken by the fd and
// runs the goroutine at once. A Go timer costs the idle agent more for the
// same wait: Go's sysmon sleeps until the next timer, then polls for a while
// (tens of 20 µs sleeps), and the timer's goroutine, readied by the thread
// that ran the timer, wakes a second thread to look for work. With 50
// limited daemons (perf, idle agent, 90 s) sysmon was 13 % of the agent's
// CPU and the scheduler's hand-offs 20 %.
//
// The Go timer (goSleeper) is the one testing/synctest fakes: NewMemorySampler
// and the agent with AgentOptions.GoTimers wait on it, as do the systems
// other than Linux.
type sleeper interface {
	// wait returns after d, or sooner once poked (a poke before the wait
	// ends it at once).
	wait(d time.Duration)
	poke()
	// close releases the sleeper: a wait in progress returns, a later poke
	// does nothing; nothing may wait after it.
	close()
}

// newSleeper returns the kernel's sleeper when kernel is set and the system
// has one, else a Go timer.
func newSleeper(kernel bool) sleeper {
	if kernel {
		if s := newKernelSleeper(); s != nil {
			return s
		}
	}
	return newGoSleeper()
}

// goSleeper waits on a Go timer.
type goSleeper struct {
	t    *time.Timer
	wake chan struct{}
}

var _ sleeper = (*goSleeper)(nil)

func newGoSleeper() *goSleeper {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &goSleeper{t: t, wake: make(chan struct{}, 1)}
}

func (s *goSleeper) wait(d time.Duration) {
	s.t.Reset(d)
	select {
	case <-s.t.C:
		// A goroutine woken by its timer runs in the woken P's time slice
		// (runnext, the P's schedtick unchanged); sysmon, back from its
		// sleep until that timer, saw the same schedtick as a second
		// before and sent the P a preemption signal (tgkill SIGURG) at
		// every tick. Yielding once starts a new slice.
		runtime.Gosched()
	case <-s.wake:
		s.t.Stop()
	}
}

func (s *goSleeper) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *goSleeper) close() { s.t.Stop(); s.poke() }
