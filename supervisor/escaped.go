package supervisor

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// DaemonMarkerEnv is set in every run's environment to "<name>/<token>", a
// token drawn for that run. Descendants inherit it, also one that left the
// run's process group (setsid) and so escapes the SIGKILL to the group: at
// the end of the run the supervisor finds those by the marker (where the OS
// shows other processes' environments: Linux) and kills them, so that
// nothing a daemon started outlives it, destroy included.
const DaemonMarkerEnv = "BEADSCTL_DAEMON"

// newMarker returns a run's marker value.
func newMarker(name string) string { return name + "/" + markerRand() }

// markerRand is a marker's random part.
func markerRand() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sweepEscaped runs killEscaped for r in the background (Run waits for it).
func (l *loop) sweepEscaped(r *run) {
	if r.marker == "" {
		return
	}
	l.watchers.Add(1)
	go func() {
		defer l.watchers.Done()
		l.killEscaped(r)
	}()
}

// sweeper batches the searches for escaped processes: every /proc/<pid>/
// environ is read once for all the runs that end at the same time (a stop of
// 250 daemons read them 250 times, ~2 ms each).
var sweeper = &envSweeper{pending: map[string][]chan []int{}, own: map[int]bool{}}

type envSweeper struct {
	mu       sync.Mutex
	scanning bool
	pending  map[string][]chan []int
	own      map[int]bool // the leaders of the runs pending searched for
}

// find returns the pids whose environment holds kv, from the next search:
// one goroutine searches while searches are asked for, each time for every
// one asked for meanwhile (none of the callers is held past its own answer).
// leader is the pid of the run whose marker kv is (0: none): it is read even
// while the runner still holds it (a leader that survived SIGKILL).
func (s *envSweeper) find(kv string, leader int) []int {
	ch := make(chan []int, 1)
	s.mu.Lock()
	s.pending[kv] = append(s.pending[kv], ch)
	if leader > 0 {
		s.own[leader] = true
	}
	if !s.scanning {
		s.scanning = true
		go s.scan()
	}
	s.mu.Unlock()
	return <-ch
}

// scan answers the searches pending until none is.
func (s *envSweeper) scan() {
	s.mu.Lock()
	for len(s.pending) > 0 {
		batch, own := s.pending, s.own
		s.pending, s.own = map[string][]chan []int{}, map[int]bool{}
		s.mu.Unlock()
		want := make(map[string]bool, len(batch))
		for k := range batch {
			want[k] = true
		}
		found := pidsWithEnvs(want, func() map[int]bool { return leaders.except(own) })
		for k, chs := range batch {
			for _, c := range chs {
				c <- found[k]
			}
		}
		s.mu.Lock()
	}
	s.scanning = false
	s.mu.Unlock()
}

// leaders are the processes ExecRunner started and has not reaped: the
// leaders of the runs under way, each holding its own run's marker. A search
// for escaped processes does not read their environments (a stop of 1,000
// daemons read the 999 others' at every search: the search grew with the
// count, and so did each stop's wait for it). Each is our child until it is
// reaped, and it leaves the set before, so that a pid in it names that child
// and no other process: the set is taken after /proc is listed, so a pid
// listed then and in the set then was the child already (or a process that
// is gone since).
var leaders = &pidSet{m: map[int]struct{}{}}

type pidSet struct {
	mu sync.Mutex
	m  map[int]struct{}
}

func (p *pidSet) add(pid int) {
	p.mu.Lock()
	p.m[pid] = struct{}{}
	p.mu.Unlock()
}

func (p *pidSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}

func (p *pidSet) remove(pid int) {
	p.mu.Lock()
	delete(p.m, pid)
	p.mu.Unlock()
}

// except returns the pids of the set that are not in own.
func (p *pidSet) except(own map[int]bool) map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[int]bool, len(p.m))
	for pid := range p.m {
		if !own[pid] {
			out[pid] = true
		}
	}
	return out
}

// realProcesses reports whether the daemon's runs are OS processes (the
// ExecRunner's): only those can have descendants to search for. A test's
// fake runs have none, and a search for them read the real /proc, waiting
// (1 ms at a time) on whatever process of the machine was in an execve: in
// a synctest bubble that moved its fake clock (TestStopTimeoutEscalatesFake:
// 5.001 s) and left the run stopping after synctest.Wait.
func (l *loop) realProcesses() bool {
	_, ok := l.d.opts.Runner.(ExecRunner)
	return ok
}

// escapedRounds bounds the searches of one killEscaped.
const escapedRounds = 4

// killEscaped SIGKILLs the processes that carry r's marker and started no
// earlier than r's leader: descendants of r outside its process group. Each
// is signalled through its proc.Handle (pid and start time proved first). It
// returns the handles killed.
func (l *loop) killEscaped(r *run) []proc.Handle {
	if r.marker == "" || !l.realProcesses() {
		return nil
	}
	since := r.startTime
	if since.IsZero() {
		since = r.started.Add(-time.Second)
	}
	// A round that killed something is followed by another: a process it
	// killed may have forked after the round listed /proc (its child has
	// the marker too). Bounded: a daemon forking faster than the rounds is
	// killed with its group anyway; this finds what left it.
	var killed []proc.Handle
	for round := 0; round < escapedRounds; round++ {
		n := len(killed)
		for _, pid := range sweeper.find(DaemonMarkerEnv+"="+r.marker, r.pid) {
			h, err := proc.Open(pid)
			if err != nil || h.Start.UnixMilli() < since.UnixMilli() || slices.ContainsFunc(killed, h.Same) {
				continue
			}
			if err := h.Signal(killSignal); err == nil {
				killed = append(killed, h)
			}
		}
		if len(killed) == n {
			break
		}
	}
	if len(killed) > 0 {
		pids := make([]int, len(killed))
		for i, h := range killed {
			pids[i] = h.Pid
		}
		l.d.log.Warn("killed processes that left the daemon's process group", "pid", r.pid, "escaped_pids", pids)
	}
	return killed
}
