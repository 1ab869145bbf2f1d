package report

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/logfile"
	"github.com/beadsctl/beadsctl/schema"
)

// Log streams.
const (
	StreamOut      = "out"
	StreamErr      = "err"
	StreamCombined = "combined"
)

// LogFile is one log file of one daemon.
type LogFile struct {
	Daemon string
	Stream string // StreamOut, StreamErr or StreamCombined
	Path   string
	// Layout is the Go time layout of the line prefixes ("" when lines carry none
	// or it is unknown; common layouts are then tried).
	Layout string
}

// LogLine is one line of a log file. Its json tags are `logs --json`.
type LogLine struct {
	Daemon string `json:"daemon"`
	Stream string `json:"stream"`
	// Time is parsed from the line's timestamp prefix (or inherited from the
	// previous line of the same file for continuation lines); zero when unknown.
	Time time.Time `json:"time,omitzero"`
	Text string    `json:"line"`
}

// LogFilesFor returns the files holding the daemon's stream: "" means out and
// err (or the combined file when neither is written), StreamOut, StreamErr or
// StreamCombined one of them. A stream whose path is empty is not written and
// has no file.
func LogFilesFor(d schema.Daemon, stream string) []LogFile {
	layout := ""
	if d.Logs.Timestamps {
		layout = d.Logs.GoLayout
		if layout == "" {
			layout = time.RFC3339 // the supervisor's default
		}
	}
	var files []LogFile
	add := func(s, path string) {
		if path != "" {
			files = append(files, LogFile{Daemon: d.Name, Stream: s, Path: path, Layout: layout})
		}
	}
	switch stream {
	case StreamOut:
		add(StreamOut, d.Logs.Out)
	case StreamErr:
		add(StreamErr, d.Logs.Error)
	case StreamCombined:
		add(StreamCombined, d.Logs.Combined)
	default:
		add(StreamOut, d.Logs.Out)
		add(StreamErr, d.Logs.Error)
		if len(files) == 0 {
			add(StreamCombined, d.Logs.Combined)
		}
	}
	return files
}

// commonLayouts are tried on line prefixes when a file's layout is unknown.
var commonLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.000 Z07:00",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05.000",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05.000",
	"2006-01-02T15:04:05",
}

// lineTimeParser parses timestamp prefixes with a layout, learning which of the
// common layouts a file uses on its first timestamped line.
type lineTimeParser struct {
	layouts []string
	fields  []int
}

func newLineTimeParser(layout string) *lineTimeParser {
	p := &lineTimeParser{}
	if layout != "" {
		p.layouts = []string{layout}
	}
	p.layouts = append(p.layouts, commonLayouts...)
	ref := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, l := range p.layouts {
		p.fields = append(p.fields, len(strings.Fields(ref.Format(l))))
	}
	return p
}

// parse returns the time at the start of line, if any. The prefix is as many
// space-separated fields as the layout formats to, with a trailing ':' or '|'
// (PM2 writes "<time>: <line>") or surrounding brackets removed.
func (p *lineTimeParser) parse(line string) (time.Time, bool) {
	if line == "" || (line[0] < '0' || line[0] > '9') && line[0] != '[' {
		return time.Time{}, false
	}
	fields := strings.Fields(line)
	for i, l := range p.layouts {
		n := p.fields[i]
		if n == 0 || n > len(fields) {
			continue
		}
		s := strings.Join(fields[:n], " ")
		s = strings.TrimPrefix(s, "[")
		s = strings.TrimRight(s, ":|]")
		if t, err := time.Parse(l, s); err == nil {
			if i > 0 && len(p.layouts) > 1 {
				// Remember the layout that worked: try it first from now on.
				p.layouts[0], p.layouts[i] = p.layouts[i], p.layouts[0]
				p.fields[0], p.fields[i] = p.fields[i], p.fields[0]
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// ReadLogs returns the last n lines across files (all lines when n < 0), merged in
// time order using the lines' timestamps; files without timestamps keep file
// order (one file after the other). Lines before since are dropped (zero since
// keeps all); untimed reports the files whose lines carry no timestamp, so that
// a caller can say --since did not apply to them. Missing files are skipped.
func ReadLogs(files []LogFile, n int, since time.Time) (lines []LogLine, untimed []LogFile, err error) {
	var per [][]LogLine
	for _, f := range files {
		raw, err := logfile.ReadTail(f.Path, n)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read log %s: %w", f.Path, err)
		}
		ls, timed := stampLines(f, raw, newLineTimeParser(f.Layout), time.Time{})
		per, untimed = appendSince(per, untimed, f, ls, timed, since)
	}
	return lastN(mergeLogLines(per), n), untimed, nil
}

// appendSince adds the lines of f at or after since to per, or f to untimed when
// its lines carry no timestamp.
func appendSince(per [][]LogLine, untimed []LogFile, f LogFile, ls []LogLine, timed bool, since time.Time) ([][]LogLine, []LogFile) {
	if !timed && len(ls) > 0 {
		untimed = append(untimed, f)
	}
	if !since.IsZero() && timed {
		i := sort.Search(len(ls), func(i int) bool { return !ls[i].Time.Before(since) })
		ls = ls[i:]
	}
	return append(per, ls), untimed
}

func lastN(lines []LogLine, n int) []LogLine {
	if n >= 0 && len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// stampLines turns raw lines of f into LogLines; continuation lines (no
// timestamp) take the time of the line before. prev is the time carried in from
// earlier reads. It reports whether any line had a timestamp.
func stampLines(f LogFile, raw []string, p *lineTimeParser, prev time.Time) ([]LogLine, bool) {
	out := make([]LogLine, 0, len(raw))
	timed := false
	for _, r := range raw {
		t, ok := p.parse(r)
		if ok {
			timed = true
			prev = t
		} else {
			t = prev
		}
		out = append(out, LogLine{Daemon: f.Daemon, Stream: f.Stream, Time: t, Text: r})
	}
	if timed {
		// Leading continuation lines belong with the first timestamped one.
		first := time.Time{}
		for _, l := range out {
			if !l.Time.IsZero() {
				first = l.Time
				break
			}
		}
		for i := range out {
			if !out[i].Time.IsZero() {
				break
			}
			out[i].Time = first
		}
	}
	return out, timed
}

// mergeLogLines merges lists that are each in time order (or untimed) into one:
// a stable k-way merge by time; untimed lists come first, in the order given.
func mergeLogLines(lists [][]LogLine) []LogLine {
	var out []LogLine
	var timed [][]LogLine
	for _, l := range lists {
		if len(l) > 0 && l[len(l)-1].Time.IsZero() {
			out = append(out, l...)
			continue
		}
		timed = append(timed, l)
	}
	idx := make([]int, len(timed))
	for {
		best := -1
		for i, l := range timed {
			if idx[i] >= len(l) {
				continue
			}
			if best < 0 || l[idx[i]].Time.Before(timed[best][idx[best]].Time) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, timed[best][idx[best]])
		idx[best]++
	}
}

// LogFollower reads what is appended to log files, following each file through
// rotation (a new file at the path) and truncation (flush).
type LogFollower struct {
	fs []*follower
}

// NewLogFollower opens the files at their current end; files that do not exist
// yet are read from their start once they appear. Close it when done.
func NewLogFollower(files []LogFile) *LogFollower {
	lf := &LogFollower{}
	for _, f := range files {
		w := &follower{file: f, parser: newLineTimeParser(f.Layout)}
		w.openAtEnd()
		lf.fs = append(lf.fs, w)
	}
	return lf
}

// Tail returns the last n lines written before the follower opened the files,
// merged as ReadLogs does: together with Run, no line is lost or shown twice.
func (lf *LogFollower) Tail(n int, since time.Time) ([]LogLine, []LogFile, error) {
	var per [][]LogLine
	var untimed []LogFile
	for _, w := range lf.fs {
		if w.f == nil {
			continue
		}
		raw, err := logfile.TailAt(w.f, w.off, n)
		if err != nil {
			return nil, nil, fmt.Errorf("read log %s: %w", w.file.Path, err)
		}
		ls, timed := stampLines(w.file, raw, w.parser, time.Time{})
		if len(ls) > 0 {
			w.last = ls[len(ls)-1].Time
		}
		per, untimed = appendSince(per, untimed, w.file, ls, timed, since)
	}
	return lastN(mergeLogLines(per), n), untimed, nil
}

// Run sends the lines appended from now on until ctx is done. Lines that arrive
// in one poll are sent in time order. It polls every interval (250 ms when 0).
func (lf *LogFollower) Run(ctx context.Context, interval time.Duration, emit func([]LogLine) error) error {
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var batch [][]LogLine
		for _, w := range lf.fs {
			if ls := w.poll(); len(ls) > 0 {
				batch = append(batch, ls)
			}
		}
		if len(batch) > 0 {
			if err := emit(mergeLogLines(batch)); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Close closes the files.
func (lf *LogFollower) Close() {
	for _, w := range lf.fs {
		w.close()
	}
}

// FollowLogs is NewLogFollower(files).Run: the lines appended from now on.
func FollowLogs(ctx context.Context, files []LogFile, interval time.Duration, emit func([]LogLine) error) error {
	lf := NewLogFollower(files)
	defer lf.Close()
	return lf.Run(ctx, interval, emit)
}

// follower reads what is appended to one file.
type follower struct {
	file    LogFile
	parser  *lineTimeParser
	f       *os.File
	fi      os.FileInfo
	off     int64
	partial []byte
	last    time.Time
}

func (w *follower) openAtEnd() {
	f, err := agentapi.OpenLogFile(w.file.Path, os.O_RDONLY, 0)
	if err != nil {
		return // appears later: read from its start then
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return
	}
	w.f, w.fi, w.off = f, fi, fi.Size()
}

func (w *follower) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// poll returns the complete lines appended since the last poll.
func (w *follower) poll() []LogLine {
	var raw []string
	if w.f == nil {
		f, err := agentapi.OpenLogFile(w.file.Path, os.O_RDONLY, 0)
		if err != nil {
			return nil
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil
		}
		w.f, w.fi, w.off, w.partial = f, fi, 0, nil
	}
	cur, err := os.Stat(w.file.Path)
	switch {
	case err == nil && !os.SameFile(cur, w.fi):
		// Rotated: finish the old file, then start the new one from its start.
		raw = append(raw, w.read()...)
		raw = append(raw, w.flushPartial()...)
		w.close()
		if f, err := agentapi.OpenLogFile(w.file.Path, os.O_RDONLY, 0); err == nil {
			if fi, err := f.Stat(); err == nil {
				w.f, w.fi, w.off = f, fi, 0
			} else {
				f.Close()
			}
		}
	case err == nil && cur.Size() < w.off:
		// Truncated (logs --flush): start again from the top.
		w.off, w.partial = 0, nil
	}
	if w.f != nil {
		raw = append(raw, w.read()...)
	}
	ls, _ := stampLines(w.file, raw, w.parser, w.last)
	if len(ls) > 0 {
		w.last = ls[len(ls)-1].Time
	}
	return ls
}

func (w *follower) read() []string {
	if w.f == nil {
		return nil
	}
	if _, err := w.f.Seek(w.off, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(bufio.NewReader(w.f))
	w.off += int64(len(b))
	data := append(w.partial, b...)
	i := bytes.LastIndexByte(data, '\n')
	if i < 0 {
		w.partial = data
		return nil
	}
	w.partial = append([]byte(nil), data[i+1:]...)
	return logfile.SplitLines(data[:i+1])
}

func (w *follower) flushPartial() []string {
	if len(w.partial) == 0 {
		return nil
	}
	s := string(w.partial)
	w.partial = nil
	return []string{s}
}

// FlushLogs empties the daemons' log files in place (truncate, never remove: the
// supervisor keeps them open in append mode, so its next write lands at the new
// end) and returns the paths flushed. Anything but a regular file (a symlink to
// /dev/null, a pipe) is left alone and reported as skipped.
func FlushLogs(files []LogFile) (flushed, skipped []string, err error) {
	for _, f := range files {
		fi, lerr := os.Lstat(f.Path)
		if errors.Is(lerr, os.ErrNotExist) {
			continue
		}
		if lerr != nil {
			return flushed, skipped, fmt.Errorf("flush %s: %w", f.Path, lerr)
		}
		if !fi.Mode().IsRegular() {
			skipped = append(skipped, f.Path)
			continue
		}
		if err := os.Truncate(f.Path, 0); err != nil {
			return flushed, skipped, fmt.Errorf("flush %s: %w", f.Path, err)
		}
		flushed = append(flushed, f.Path)
	}
	return flushed, skipped, nil
}
