package supervisor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beadsctl/beadsctl/internal/logfile"
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

// Event kinds.
const (
	EventAgentStart = "agent-start" // the agent started (Version)
	EventAgentStop  = "agent-stop"  // the agent stopped, its daemons with it
	EventApplied    = "applied"     // a spec was put: Action created, updated (in place) or restarted
	EventRemoved    = "removed"     // a daemon was removed from the agent
	EventStarted    = "started"     // a run started: Pid, ArgvHash
	EventExited     = "exited"      // a run ended: ExitCode, Signal, UptimeSeconds
	EventRestarted  = "restarted"   // a restart began: Reason (crash, memory, health, manual, config, dependency), Detail
	EventHealth     = "health"      // the health verdict changed: Health (new), From (old), Message
	EventMemory     = "memory"      // the group's RSS went over its limit: RSSBytes, LimitBytes
	EventErrored    = "errored"     // the daemon gave up (or was refused a start): Reason
	EventStopped    = "stopped"     // stopped by a user, or by its restart policy: Reason
	EventCompleted  = "completed"   // a one-shot exited 0
	EventWaiting    = "waiting"     // a start waits for its dependencies: Reason
	EventBlocked    = "blocked"     // a start waits on a dependency that failed: Reason
	EventDropped    = "dropped"     // Dropped events were not recorded (the writer fell behind)
)

// Event is one thing that happened, as the history records it and the agent
// pushes it. Fields that do not apply to a kind are left out of the JSON.
type Event struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Daemon is "" for the agent's own events.
	Daemon   string `json:"daemon,omitempty"`
	Pid      int    `json:"pid,omitempty"`
	ArgvHash string `json:"argv_hash,omitempty"`
	// ExitCode is -1 when the run was killed by a signal (Signal).
	ExitCode      *int     `json:"exit_code,omitempty"`
	Signal        string   `json:"signal,omitempty"`
	UptimeSeconds *float64 `json:"uptime_seconds,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	Detail        string   `json:"detail,omitempty"`
	Health        string   `json:"health,omitempty"`
	From          string   `json:"from,omitempty"`
	Message       string   `json:"message,omitempty"`
	Action        string   `json:"action,omitempty"`
	SpecHash      string   `json:"spec_hash,omitempty"`
	RSSBytes      uint64   `json:"rss_bytes,omitempty"`
	LimitBytes    uint64   `json:"limit_bytes,omitempty"`
	Version       string   `json:"version,omitempty"`
	Dropped       int64    `json:"dropped,omitempty"`
	// Alert names the alert of an alerted or alert-failed event.
	Alert string `json:"alert,omitempty"`
}

// EventsFile is the history's file in StateDir; EventsFile+".1" the rotated one.
const EventsFile = "events.jsonl"

// EventsMaxBytes is the size at which events.jsonl is rotated: the history
// holds at most twice that on disk (some 10,000 events).
const EventsMaxBytes = 1 << 20

// eventQueue is how many events may wait for the writer before new ones are dropped.
const eventQueue = 1024

// EventsPath is the current events file of the project in dir.
func EventsPath(dir string) string { return filepath.Join(dir, StateDir, EventsFile) }

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

// EventsWarning is a line of an events file that is not an event (cut short,
// garbage): skipped.
type EventsWarning struct {
	Path string
	Line int
	Err  string
}

func (w EventsWarning) String() string {
	return fmt.Sprintf("%s:%d: skipped a line that is not an event (%s)", w.Path, w.Line, w.Err)
}

// ReadEvents reads the history of the project in dir, oldest first (the
// rotated file, then the current one). Lines that are not events are skipped
// and reported; a missing file is an empty history.
func ReadEvents(dir string) ([]Event, []EventsWarning, error) {
	var out []Event
	var warns []EventsWarning
	cur := EventsPath(dir)
	for _, p := range []string{cur + ".1", cur} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, warns, err
		}
		evs, ws, err := parseEvents(f, p)
		f.Close()
		out, warns = append(out, evs...), append(warns, ws...)
		if err != nil {
			return out, warns, err
		}
	}
	return out, warns, nil
}

// maxEventLine is the longest line parseEvents reads as an event; a longer
// one (garbage, a file written over) is skipped, and the lines after it read.
const maxEventLine = 1 << 20

func parseEvents(r io.Reader, path string) ([]Event, []EventsWarning, error) {
	var out []Event
	var warns []EventsWarning
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	long := false
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if !long && len(buf)+len(chunk) <= maxEventLine {
			buf = append(buf, chunk...)
		} else {
			long, buf = true, buf[:0]
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // the line goes on
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return out, warns, err
		}
		if len(chunk) > 0 || long || len(buf) > 0 {
			n++
			if long {
				warns = append(warns, EventsWarning{Path: path, Line: n, Err: "line over 1 MiB: skipped"})
			} else if ev, warn := parseEventLine(buf); warn != "" {
				warns = append(warns, EventsWarning{Path: path, Line: n, Err: warn})
			} else if ev != nil {
				out = append(out, *ev)
			}
		}
		buf, long = buf[:0], false
		if err != nil { // io.EOF
			return out, warns, nil
		}
	}
}

// parseEventLine is the event of one line of the history (nil for a blank
// line), or why the line is not one.
func parseEventLine(b []byte) (*Event, string) {
	line := bytes.TrimSpace(b)
	if len(line) == 0 {
		return nil, ""
	}
	var ev Event
	if err := json.Unmarshal(line, &ev); err != nil {
		return nil, shortJSONErr(err)
	}
	if ev.Kind == "" || ev.At.IsZero() {
		return nil, "no kind or time"
	}
	return &ev, ""
}

func shortJSONErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "truncated or not JSON"
	}
	return err.Error()
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

// ReadRecentEvents reads the last n events of the project in dir, oldest
// first, from the end of the history only (internal/logfile's backward read:
// the last n lines of events.jsonl, and of the rotated file when the current
// one holds fewer): what a dashboard refreshing every second can afford.
// Lines that are not events are skipped.
func ReadRecentEvents(dir string, n int) ([]Event, error) {
	cur := EventsPath(dir)
	var out []Event
	for _, p := range []string{cur, cur + ".1"} {
		lines := logfile.Tail(p, n-len(out))
		evs, _, err := parseEvents(strings.NewReader(strings.Join(lines, "\n")), p)
		if err != nil {
			return out, err
		}
		out = append(evs, out...)
		if len(out) >= n {
			break
		}
	}
	return out, nil
}
