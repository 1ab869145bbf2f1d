package report

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/schema"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o700))
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	must(t, err)
	_, err = f.WriteString(content)
	must(t, err)
	must(t, f.Close())
}

func texts(ls []LogLine) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Stream+" "+l.Text)
	}
	return out
}

func TestLogFilesFor(t *testing.T) {
	d := schema.Daemon{Name: "b", Logs: schema.Logs{Out: "/o", Error: "/e", Combined: "/c", Timestamps: true}}
	tests := map[string]struct {
		logs   schema.Logs
		stream string
		want   []LogFile
	}{
		"both":          {d.Logs, "", []LogFile{{"b", "out", "/o", time.RFC3339}, {"b", "err", "/e", time.RFC3339}}},
		"err":           {d.Logs, "err", []LogFile{{"b", "err", "/e", time.RFC3339}}},
		"combined only": {schema.Logs{Combined: "/c", GoLayout: "2006"}, "", []LogFile{{"b", "combined", "/c", ""}}},
		"out not kept":  {schema.Logs{Error: "/e"}, "out", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d.Logs = tc.logs
			if diff := cmp.Diff(tc.want, LogFilesFor(d, tc.stream)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestReadLogsMergesByTime(t *testing.T) {
	dir := t.TempDir()
	out, errp := filepath.Join(dir, "out.log"), filepath.Join(dir, "err.log")
	// PM2's layout as schema converts it, the supervisor's "<time>: " prefix.
	layout := "2006-01-02 15:04:05 Z07:00"
	writeFile(t, out, "2026-11-26 13:00:01 +00:00: started\n2026-11-26 13:00:03 +00:00: synced\n2026-11-26 13:00:05 +00:00: synced again\n")
	writeFile(t, errp, "2026-11-26 13:00:02 +00:00: warning: slow\n  continuation of the warning\n2026-11-26 13:00:04 +00:00: warning: slower\n")
	files := []LogFile{{"beads", "out", out, layout}, {"beads", "err", errp, layout}}

	got, untimed, err := ReadLogs(files, 10, time.Time{})
	must(t, err)
	want := []string{
		"out 2026-11-26 13:00:01 +00:00: started",
		"err 2026-11-26 13:00:02 +00:00: warning: slow",
		"err   continuation of the warning",
		"out 2026-11-26 13:00:03 +00:00: synced",
		"err 2026-11-26 13:00:04 +00:00: warning: slower",
		"out 2026-11-26 13:00:05 +00:00: synced again",
	}
	if d := cmp.Diff(want, texts(got)); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if len(untimed) != 0 {
		t.Errorf("untimed = %v", untimed)
	}
	// -n 2 keeps the last two of the merge; --since drops older lines.
	got, _, err = ReadLogs(files, 2, time.Time{})
	must(t, err)
	if d := cmp.Diff(want[4:], texts(got)); d != "" {
		t.Errorf("-n 2 (-want +got)\n%s", d)
	}
	got, _, err = ReadLogs(files, -1, time.Date(2026, 11, 26, 13, 0, 4, 0, time.UTC))
	must(t, err)
	if d := cmp.Diff(want[4:], texts(got)); d != "" {
		t.Errorf("--since (-want +got)\n%s", d)
	}
	// An unknown layout still merges: the common layouts are tried.
	files[0].Layout, files[1].Layout = "", ""
	got, _, err = ReadLogs(files, 10, time.Time{})
	must(t, err)
	if d := cmp.Diff(want, texts(got)); d != "" {
		t.Errorf("unknown layout (-want +got)\n%s", d)
	}
}

func TestReadLogsUntimedKeepsFileOrder(t *testing.T) {
	dir := t.TempDir()
	out, errp := filepath.Join(dir, "out.log"), filepath.Join(dir, "err.log")
	writeFile(t, out, "Starting bd daemon (interval: 5s)\nsecond\n")
	writeFile(t, errp, "warning: one\n")
	files := []LogFile{{"beads", "out", out, ""}, {"beads", "err", errp, ""}, {"beads", "combined", filepath.Join(dir, "missing.log"), ""}}
	got, untimed, err := ReadLogs(files, 10, time.Now())
	must(t, err)
	want := []string{"out Starting bd daemon (interval: 5s)", "out second", "err warning: one"}
	if d := cmp.Diff(want, texts(got)); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if len(untimed) != 2 {
		t.Errorf("untimed = %v, want out and err", untimed)
	}
}

// collector gathers what FollowLogs emits and lets a test wait for a count.
type collector struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func newCollector() *collector { return &collector{more: make(chan struct{}, 1)} }

func (c *collector) emit(ls []LogLine) error {
	c.mu.Lock()
	c.lines = append(c.lines, texts(ls)...)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	return nil
}

func (c *collector) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.lines...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("got %d lines, want %d: %q", len(got), n, got)
		}
	}
}

func TestFollowLogsThroughRotationAndFlush(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.log")
	writeFile(t, out, "old line\n")
	files := []LogFile{{"beads", "out", out, ""}, {"beads", "err", filepath.Join(dir, "err.log"), ""}}
	lf := NewLogFollower(files)
	defer lf.Close()
	// What was there before is the tail, not followed.
	tail, _, err := lf.Tail(10, time.Time{})
	must(t, err)
	if d := cmp.Diff([]string{"out old line"}, texts(tail)); d != "" {
		t.Errorf("tail (-want +got)\n%s", d)
	}
	c := newCollector()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- lf.Run(ctx, 5*time.Millisecond, c.emit) }()
	base := 0

	appendFile(t, out, "partial ")
	appendFile(t, out, "line\n")
	// Rotation as lumberjack does it: rename, then a new file at the path.
	appendFile(t, out, "last line before rotation\n")
	must(t, os.Rename(out, out+".1"))
	writeFile(t, out, "first line after rotation\n")
	// The err file appears only now.
	writeFile(t, files[1].Path, "err appears\n")
	c.waitFor(t, base+4)
	// Flush truncates in place; a writer with O_APPEND continues at the new end.
	w, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	defer w.Close()
	flushed, skipped, err := FlushLogs(files)
	must(t, err)
	if len(flushed) != 2 || len(skipped) != 0 {
		t.Errorf("flushed %v, skipped %v", flushed, skipped)
	}
	_, err = w.WriteString("after flush\n")
	must(t, err)
	got := c.waitFor(t, base+5)
	cancel()
	must(t, <-done)

	// A flushed file starts clean: no NUL bytes where the old content was.
	b, err := os.ReadFile(out)
	must(t, err)
	if string(b) != "after flush\n" {
		t.Errorf("after flush the file holds %q", b)
	}
	got = got[base:]
	want := map[string]bool{"out partial line": true, "out last line before rotation": true, "out first line after rotation": true,
		"err err appears": true, "out after flush": true}
	for _, l := range got {
		if !want[l] {
			t.Errorf("unexpected line %q", l)
		}
		delete(want, l)
	}
	if len(want) > 0 {
		t.Errorf("missing lines %v (got %q)", want, got)
	}
	if i, j := indexOf(got, "out last line before rotation"), indexOf(got, "out first line after rotation"); i > j {
		t.Errorf("rotation reordered lines: %q", got)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestFlushLogsLeavesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.log"), filepath.Join(dir, "link.log")
	writeFile(t, real, "keep me\n")
	must(t, os.Symlink(real, link))
	flushed, skipped, err := FlushLogs([]LogFile{{Path: link}, {Path: filepath.Join(dir, "absent.log")}})
	must(t, err)
	if len(flushed) != 0 || len(skipped) != 1 || skipped[0] != link {
		t.Errorf("flushed %v skipped %v", flushed, skipped)
	}
	b, _ := os.ReadFile(real)
	if string(b) != "keep me\n" {
		t.Errorf("the symlink's target was changed: %q", b)
	}
}
