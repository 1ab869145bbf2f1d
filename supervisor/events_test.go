package supervisor

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEventsFileRotatesAndSkipsGarbage: the writer rotates at its bound (the
// history never exceeds two files of it), a line cut short by a killed agent
// gets its newline before the next event, and ReadEvents skips what is not an
// event with a warning naming file:line, never failing.
func TestEventsFileRotatesAndSkipsGarbage(t *testing.T) {
	dir := t.TempDir()
	path := EventsPath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	// An agent killed mid-line, then garbage.
	if err := os.WriteFile(path, []byte("not json at all\n{\"at\":\"2026-01-02T03:04:05Z\",\"kind\":\"sta"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &eventWriter{path: path, max: 2000, log: slog.New(slog.DiscardHandler)}
	t0 := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)
	for i := range 60 {
		w.write(Event{At: t0.Add(time.Duration(i) * time.Second), Kind: EventStarted, Daemon: "web", Pid: 100 + i})
	}
	w.close()
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if fi.Size() > 2000 {
			t.Errorf("%s is %d bytes, over the bound of 2000", p, fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	evs, _, err := ReadEvents(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[len(evs)-1].Pid != 159 {
		t.Fatalf("the last event read is not the last written: %+v", evs)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Pid != evs[i-1].Pid+1 {
			t.Fatalf("events out of order or missing between %d and %d", evs[i-1].Pid, evs[i].Pid)
		}
	}
	// Rotated twice or more: the garbage went with the first file.
	if evs[0].Pid == 100 {
		t.Fatalf("nothing was rotated away: %d events kept", len(evs))
	}

	// The garbage, while it is still there, is skipped and said.
	dir2 := t.TempDir()
	p2 := EventsPath(dir2)
	os.MkdirAll(filepath.Dir(p2), 0o700)
	os.WriteFile(p2, []byte("garbage\n{\"at\":\"2026-01-02T03:04:05Z\",\"kind\":\"sta"), 0o600)
	w2 := &eventWriter{path: p2, max: EventsMaxBytes, log: slog.New(slog.DiscardHandler)}
	w2.write(Event{At: t0, Kind: EventExited, Daemon: "web"})
	w2.close()
	evs, warns, err := ReadEvents(dir2)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != EventExited {
		t.Fatalf("events %+v, want the one exited after the cut line", evs)
	}
	var said []string
	for _, w := range warns {
		said = append(said, w.String())
	}
	want := []string{p2 + ":1: skipped a line that is not an event (truncated or not JSON)",
		p2 + ":2: skipped a line that is not an event (truncated or not JSON)"}
	if strings.Join(said, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(said, "\n"), strings.Join(want, "\n"))
	}
}

// TestEventsEmitNeverWaits: with the writer stuck (not running), emit
// returns at once, drops what the queue cannot hold, and the writer records
// how many were dropped before the next event.
func TestEventsEmitNeverWaits(t *testing.T) {
	dir := t.TempDir()
	e := newEventLog(EventsPath(dir), slog.New(slog.DiscardHandler))
	start := time.Now()
	for i := range eventQueue + 7 {
		e.emit(Event{Kind: EventStarted, Daemon: "d", Pid: i + 1})
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("emitting %d events took %v", eventQueue+7, took)
	}
	if n := e.dropped.Load(); n != 7 {
		t.Fatalf("dropped %d, want 7", n)
	}
	go e.run()
	e.emit(Event{Kind: EventExited, Daemon: "d"}) // queued behind the full queue's first read
	e.stop()
	evs, _, err := ReadEvents(dir)
	if err != nil {
		t.Fatal(err)
	}
	var dropped *Event
	for i := range evs {
		if evs[i].Kind == EventDropped {
			dropped = &evs[i]
		}
	}
	if dropped == nil || dropped.Dropped < 7 {
		t.Fatalf("no dropped marker counting 7 in %d events (%+v)", len(evs), dropped)
	}
	if len(evs) != eventQueue+1+1 && len(evs) != eventQueue+1 {
		t.Fatalf("%d events recorded, want the queue's %d and the marker (and the last one when it found room)", len(evs), eventQueue)
	}
}

func TestScrubMasksEnvironmentValues(t *testing.T) {
	env := map[string]string{"TOKEN": "hunter2-secret", "N": "1"}
	ev := Event{Reason: "exit 1: token hunter2-secret refused", Message: "1 check failed", Detail: "x"}
	scrubEvent(&ev, env)
	if strings.Contains(ev.Reason, "hunter2") || ev.Reason != "exit 1: token (sensitive) refused" {
		t.Fatalf("reason %q", ev.Reason)
	}
	if ev.Message != "1 check failed" {
		t.Fatalf("a value of 1 character masked an ordinary text: %q", ev.Message)
	}
}

// TestReadRecentEventsReadsTheEnd: the last n events come from the end of
// events.jsonl (a file far over the 64 KiB read), and from the rotated file
// when the current one holds fewer.
func TestReadRecentEventsReadsTheEnd(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, StateDir), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path string, from, to int) {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, `{"at":"2026-12-04T02:00:00Z","kind":"restarted","daemon":"d%d","reason":"crash"}`+"\n", i)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(EventsPath(dir)+".1", 0, 5000) // ~400 KiB
	write(EventsPath(dir), 5000, 5002)
	evs, err := ReadRecentEvents(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Daemon)
	}
	if strings.Join(got, " ") != "d4998 d4999 d5000 d5001" {
		t.Fatalf("recent events %v", got)
	}
}

// TestReadEventsSkipsAnOverlongLine: a line over 1 MiB (garbage appended, a
// file written over) is skipped with a warning naming it, and the events
// after it are read: it used to end the reading, hiding every later event.
func TestReadEventsSkipsAnOverlongLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, StateDir), 0o700); err != nil {
		t.Fatal(err)
	}
	ev := func(d string) string {
		return `{"at":"2026-12-04T02:00:00Z","kind":"restarted","daemon":"` + d + `","reason":"crash"}` + "\n"
	}
	content := ev("before") + strings.Repeat("x", 3<<20) + "\n" + ev("after") + strings.Repeat("y", 2<<20) // the last unterminated
	if err := os.WriteFile(EventsPath(dir), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	evs, warns, err := ReadEvents(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Daemon)
	}
	if strings.Join(got, " ") != "before after" {
		t.Fatalf("events %v, want before and after the long line", got)
	}
	if len(warns) != 2 || warns[0].Line != 2 || warns[1].Line != 4 || !strings.Contains(warns[0].Err, "line over 1 MiB: skipped") {
		t.Fatalf("warnings %+v, want lines 2 and 4 over 1 MiB", warns)
	}
}
