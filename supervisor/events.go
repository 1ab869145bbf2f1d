package supervisor

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The event history: what happened to each daemon (and to the agent), one
// JSON object a line in .beadsctl/events.jsonl, rotated once it reaches
// EventsMaxBytes into events.jsonl.1 (the one before is dropped), so the
// history never takes more than 2 x EventsMaxBytes on disk. The agent
// appends; the CLI reads the files (`beadsctl events`, `show`) whether the
// agent runs or not, and follows new events through the agent's push
// (GET /v1/events).
//
// Recording never waits: the daemon loops hand an event to a buffered channel
// (eventQueue deep) read by one writer goroutine. When the channel is full the
// event is counted and dropped, and the writer records a "dropped" event with
// the count before the next one: a restart is never delayed by the disk.
//
// No event holds a secret: argv is recorded as the hash the client sent
// (Spec.ArgvHash, keyed with the project's key as EnvHash is), environment
// values never, and every text an event carries (a reason, a health check's
// message) has the daemon's declared environment values masked (scrub).

// eventQueue is how many events may wait for the writer before new ones are dropped.
const eventQueue = 1024

// exitEvent is the event of a run that ended.
func exitEvent(pid int, e *Exit) Event {
	code, up := e.Code, e.Uptime.Seconds()
	return Event{Kind: EventExited, Pid: pid, ExitCode: &code, Signal: e.Signal, UptimeSeconds: &up}
}

// scrub masks every declared environment value (of 4 characters or more: a
// shorter one would mask ordinary words) in s.
func scrub(s string, env map[string]string) string {
	if s == "" {
		return s
	}
	for _, v := range env {
		if len(v) >= 4 && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "(sensitive)")
		}
	}
	return s
}

// maskSensitive masks the values of spec's sensitive variables in lines (a
// daemon that prints its token as it fails: the lines go to agent.json and
// status). The lines are changed in place.
func maskSensitive(lines []string, spec Spec) []string {
	if len(spec.Sensitive) == 0 {
		return lines
	}
	env := make(map[string]string, len(spec.Sensitive))
	for _, k := range spec.Sensitive {
		if v, ok := spec.Env[k]; ok {
			env[k] = v
		}
	}
	for i := range lines {
		lines[i] = scrub(lines[i], env)
	}
	return lines
}

// scrubEvent masks the environment's values in ev's texts.
func scrubEvent(ev *Event, env map[string]string) {
	for _, p := range []*string{&ev.Reason, &ev.Detail, &ev.Message} {
		*p = scrub(*p, env)
	}
}

// eventLog is the agent's writer of the history and its push to followers.
type eventLog struct {
	path    string
	max     int64
	log     *slog.Logger
	ch      chan *Event // pointers: the queue's 1024 places cost 8 KiB, not 300
	dropped atomic.Int64
	// droppedTotal counts every event dropped since the agent started (metrics).
	droppedTotal atomic.Int64
	quit         chan struct{}
	done         chan struct{}

	mu   sync.Mutex
	subs map[*eventSub]struct{}

	// recorded, when set, gets each event once written (the alerter's feed;
	// it must not wait).
	recorded func(Event)
}

// eventSub is one follower: what it wants and where its events go.
type eventSub struct {
	daemon  string
	ch      chan Event
	dropped atomic.Int64
}

func newEventLog(path string, log *slog.Logger) *eventLog {
	return &eventLog{path: path, max: EventsMaxBytes, log: log, ch: make(chan *Event, eventQueue),
		quit: make(chan struct{}), done: make(chan struct{}), subs: map[*eventSub]struct{}{}}
}

// emit queues ev without ever waiting: when the queue is full, ev is counted
// as dropped. A nil eventLog records nothing.
func (e *eventLog) emit(ev Event) {
	if e == nil {
		return
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	select {
	case e.ch <- &ev:
	default:
		e.dropped.Add(1)
		e.droppedTotal.Add(1)
	}
}

// run writes the queued events until stop; then it writes what is queued
// and returns.
func (e *eventLog) run() {
	defer close(e.done)
	w := &eventWriter{path: e.path, max: e.max, log: e.log}
	defer w.close()
	for {
		select {
		case ev := <-e.ch:
			e.write(w, *ev)
		case <-e.quit:
			for {
				select {
				case ev := <-e.ch:
					e.write(w, *ev)
				default:
					return
				}
			}
		}
	}
}

// stop makes run write what is queued and return, and waits for it.
func (e *eventLog) stop() {
	close(e.quit)
	<-e.done
}

func (e *eventLog) write(w *eventWriter, ev Event) {
	if n := e.dropped.Swap(0); n > 0 {
		d := Event{At: ev.At, Kind: EventDropped, Dropped: n, Message: fmt.Sprintf("%d events were not recorded: the writer fell behind", n)}
		e.log.Warn("events dropped", "dropped", n)
		w.write(d)
		e.push(d)
	}
	w.write(ev)
	e.push(ev)
	if e.recorded != nil {
		e.recorded(ev)
	}
}

// push hands ev to each follower that wants it, never waiting: a follower
// that does not keep up is told how many it missed.
func (e *eventLog) push(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.subs {
		if s.daemon != "" && ev.Daemon != s.daemon && ev.Kind != EventDropped {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			s.dropped.Add(1)
		}
	}
}

// subscribe registers a follower of daemon's events ("" for all).
func (e *eventLog) subscribe(daemon string) (*eventSub, func()) {
	s := &eventSub{daemon: daemon, ch: make(chan Event, 256)}
	e.mu.Lock()
	e.subs[s] = struct{}{}
	e.mu.Unlock()
	return s, func() {
		e.mu.Lock()
		delete(e.subs, s)
		e.mu.Unlock()
	}
}

// eventWriter appends events to the file, rotated at max bytes (openRotated,
// as the agent's log). A write that fails is logged (once until one succeeds
// again) and the event lost: the history is a record, never a reason to stop
// supervising.
type eventWriter struct {
	path   string
	max    int64
	log    *slog.Logger
	f      *AgentLog
	failed bool
}

func (w *eventWriter) write(ev Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	b = append(b, '\n')
	if w.f == nil {
		err = w.open()
	}
	if err == nil {
		_, err = w.f.Write(b)
	}
	if err != nil {
		if !w.failed {
			w.log.Warn("event not recorded", "path", w.path, "error", err.Error())
		}
		w.failed = true
		w.close()
		return
	}
	w.failed = false
}

// open opens the file; one whose last line was cut short (the agent killed
// mid-write) gets its newline first, so that the next event is a line of its own.
func (w *eventWriter) open() error {
	f, err := openRotated(w.path, w.max)
	if err != nil {
		return err
	}
	w.f = f
	if f.size > 0 {
		last := make([]byte, 1)
		if r, err := os.Open(w.path); err == nil {
			if _, err := r.ReadAt(last, f.size-1); err == nil && last[0] != '\n' {
				_, _ = f.Write([]byte{'\n'})
			}
			r.Close()
		}
	}
	return nil
}

func (w *eventWriter) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// handleEvents streams the events that happen from now on, one JSON object a
// line (GET /v1/events?daemon=NAME), until the client goes or the agent stops.
func (a *Agent) handleEvents(w http.ResponseWriter, r *http.Request) {
	daemon := r.URL.Query().Get("daemon")
	if a.events == nil {
		writeAPIError(w, http.StatusServiceUnavailable, "this agent records no events")
		return
	}
	sub, unsub := a.events.subscribe(daemon)
	defer unsub()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	enc := json.NewEncoder(w)
	send := func(ev Event) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
		if n := sub.dropped.Swap(0); n > 0 {
			if enc.Encode(Event{At: ev.At, Kind: EventDropped, Dropped: n, Message: fmt.Sprintf("%d events were not sent: this follower fell behind", n)}) != nil {
				return false
			}
		}
		return enc.Encode(ev) == nil && rc.Flush() == nil
	}
	for {
		select {
		case ev := <-sub.ch:
			if !send(ev) {
				return
			}
		case <-a.stopped:
			for {
				select {
				case ev := <-sub.ch:
					if !send(ev) {
						return
					}
				default:
					return
				}
			}
		case <-r.Context().Done():
			return
		}
	}
}
