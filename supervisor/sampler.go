package supervisor

import (
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// MemorySampler samples the memory of every watched process group of an
// agent from one goroutine: idle, 50 daemons cost one wakeup per check
// interval, not fifty goroutines and timers (the agent's idle CPU was mostly
// those wakeups). A watch with a memory limit is sampled every check interval
// while it is far from its limit, and faster as it nears it: the next sample
// comes after half the time the last growth rate needs to reach the limit
// (never sooner than nearLimitMin). A process that does not grow costs what
// it did; one that grows 20 % of its limit per second is caught within a few
// percent of it instead of up to one interval late.
//
// The goroutine runs while there is something to watch and exits with the
// last watch, so that a daemon run alone (in a test, inside a synctest
// bubble) owns its sampler's goroutine.
type MemorySampler struct {
	mu      sync.Mutex
	watches map[*memWatch]struct{}
	running bool
	// sleep is what the running goroutine waits on (nil while none runs);
	// kernel asks for the kernel's timer (sleeper).
	sleep  sleeper
	kernel bool
	now    func() time.Time
}

// NewMemorySampler returns a sampler that waits on Go's timers (those
// testing/synctest fakes); nothing runs until a watch is added.
func NewMemorySampler() *MemorySampler {
	return &MemorySampler{watches: map[*memWatch]struct{}{}, now: time.Now}
}

// newKernelMemorySampler returns a sampler that waits on the kernel's timer
// where there is one (the agent's: sleeper).
func newKernelMemorySampler() *MemorySampler {
	s := NewMemorySampler()
	s.kernel = true
	return s
}

// nearLimitMin is the shortest interval between two samples of a group that
// nears its limit.
const nearLimitMin = 10 * time.Millisecond

// memWatch is one process group under watch.
type memWatch struct {
	// Set at creation, read-only after.
	limit uint64        // 0: display only
	every time.Duration // the check interval (or the display interval)
	// read samples the group; full also reads its CPU time and checks who is
	// still in it (a cheaper sample reads the resident memory only).
	read func(full bool) (proc.GroupSample, error)
	// sampled records a sample (full: s.CPU is valid); a sample that is not
	// full and reads the RSS the last one read is not recorded again.
	sampled func(s proc.GroupSample, full bool, now time.Time)
	// over is called, once, on the first enforced sample above the limit;
	// the watch is then removed. It must not block.
	over func(rss uint64)
	// closeRead releases what read holds, after the last read.
	closeRead func()

	mu      sync.Mutex // held while sampling, and by remove
	removed bool
	due     time.Time // next sample
	enforce time.Time // samples from then on are checked against the limit
	full    time.Time // next full sample
	prevRSS uint64
	prevAt  time.Time
	// zeroRetry is the wait before the next display sample of a run whose
	// first one read 0 (0: none pending).
	zeroRetry time.Duration
	rate      float64 // bytes per second the group grew between the last two samples
}

// add starts watching w: one display sample now, the next on the next
// aligned tick at least one interval away, enforced from then on (a process
// over its limit from the start is restarted at most once per interval).
func (s *MemorySampler) add(w *memWatch) {
	now := s.now()
	w.mu.Lock()
	rss, _ := w.sample(now, true)
	w.due = now.Add(untilAligned(now.Add(w.every), w.every) + w.every)
	w.enforce = w.due
	if rss == 0 {
		// Sampled before the program ran: a process that has just exec'd
		// has almost no pages, and the kernel's counters read 0. Again soon
		// (2 ms, doubling), display only, until it shows.
		w.zeroRetry = startProbeFirst
		w.due = now.Add(w.zeroRetry)
	}
	// The kernel's RSS of a process that has just exec'd often reads 0 (its
	// per-CPU counters are not folded in yet): one more display sample on
	// the next whole second at least a second away, not an interval later
	// (5 s without a limit: status showed 0B, and went to /proc for it).
	if second := now.Add(untilAligned(now.Add(time.Second), time.Second) + time.Second); second.Before(w.due) {
		w.due = second
	}
	w.mu.Unlock()
	s.mu.Lock()
	s.watches[w] = struct{}{}
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		go s.run()
	} else {
		s.poke()
	}
}

// remove stops watching w and releases its reader; it returns once no sample
// of w is in progress.
func (s *MemorySampler) remove(w *memWatch) {
	s.mu.Lock()
	delete(s.watches, w)
	s.mu.Unlock()
	w.mu.Lock()
	if !w.removed {
		w.removed = true
		if w.closeRead != nil {
			w.closeRead()
		}
	}
	w.mu.Unlock()
	s.poke()
}

func (s *MemorySampler) poke() {
	s.mu.Lock()
	if s.sleep != nil {
		s.sleep.poke()
	}
	s.mu.Unlock()
}

func (s *MemorySampler) run() {
	sleep := newSleeper(s.kernel)
	s.mu.Lock()
	s.sleep = sleep
	s.mu.Unlock()
	var due []*memWatch
	for {
		s.mu.Lock()
		if len(s.watches) == 0 {
			s.running = false
			s.sleep = nil
			sleep.close()
			s.mu.Unlock()
			return
		}
		now := s.now()
		due = due[:0]
		var next time.Time
		for w := range s.watches {
			w.mu.Lock()
			d := w.due
			w.mu.Unlock()
			if !d.After(now) {
				due = append(due, w)
			} else if next.IsZero() || d.Before(next) {
				next = d
			}
		}
		s.mu.Unlock()
		if len(due) > 0 {
			for _, w := range due {
				w.tick(now)
			}
			continue
		}
		sleep.wait(next.Sub(now))
	}
}

// tick takes the sample due at now and schedules the next.
func (w *memWatch) tick(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.removed {
		return
	}
	full := !now.Before(w.full)
	rss, ok := w.sample(now, full)
	if w.zeroRetry > 0 && now.Before(w.enforce) {
		// Still before the first enforced sample: a display sample of a
		// run that read 0 (add).
		if rss == 0 && 2*w.zeroRetry < w.enforce.Sub(now) {
			w.zeroRetry *= 2
			w.due = now.Add(w.zeroRetry)
			return
		}
		w.zeroRetry = 0
		w.due = w.enforce
		return
	}
	if ok && w.limit > 0 && !now.Before(w.enforce) && rss > w.limit {
		w.removed = true // one report per watch; the daemon stops the run
		if w.closeRead != nil {
			w.closeRead()
		}
		w.over(rss)
		return
	}
	iv := w.every
	if ok && w.limit > 0 {
		iv = nextInterval(w.every, w.limit, rss, w.rate)
	}
	if iv >= w.every {
		// Far from the limit: on the aligned tick, with the other daemons.
		w.due = now.Add(untilAligned(now, w.every))
	} else {
		w.due = now.Add(iv)
	}
}

// sample reads the group and records the figures; it returns the RSS and
// whether the read worked.
func (w *memWatch) sample(now time.Time, full bool) (uint64, bool) {
	if full {
		w.full = now.Add(max(w.every, displaySampleInterval))
	}
	s, err := w.read(full)
	if err != nil {
		return 0, false
	}
	first := w.prevAt.IsZero()
	if !first {
		if dt := now.Sub(w.prevAt); dt > 0 {
			w.rate = float64(int64(s.RSS)-int64(w.prevRSS)) / dt.Seconds()
		}
	}
	changed := first || s.RSS != w.prevRSS
	w.prevRSS, w.prevAt = s.RSS, now
	if full || changed {
		// Only a full sample has news when the RSS is what it was (the
		// CPU): the daemon's status is not locked for nothing (most
		// samples of an idle agent).
		w.sampled(s, full, now)
	}
	return s.RSS, true
}

// nextInterval is the time to the next sample of a group at rss bytes under
// limit, growing by rate bytes per second: every while it does not grow or
// is more than two intervals from the limit at that rate; else half the time
// it needs to reach the limit, and never less than nearLimitMin.
func nextInterval(every time.Duration, limit, rss uint64, rate float64) time.Duration {
	if rss >= limit {
		return nearLimitMin
	}
	if rate <= 0 {
		return every
	}
	toLimit := time.Duration(float64(limit-rss) / rate * float64(time.Second))
	return min(every, max(nearLimitMin, toLimit/2))
}
