package agentapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/logfile"
)

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

// EventsPath is the current events file of the project in dir.
func EventsPath(dir string) string { return filepath.Join(dir, StateDir, EventsFile) }

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

// shortJSONErr is why a line is not JSON, in short.
func shortJSONErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "truncated or not JSON"
	}
	return err.Error()
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
