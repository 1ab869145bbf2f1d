package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// The child's output goes through a lineWriter per stream (stdout, stderr) to
// the daemon's logSink. A lineWriter holds a partial line until its newline or
// until Flush at the end of the run, so lines are never split or lost, and
// never interleaved between streams in the combined file. The sink queues
// whole lines in memory and a single goroutine writes them to the files: a
// slow or failing disk never blocks the child. When the queue of a file
// exceeds maxPending bytes new lines for it are dropped and counted in
// Status.LogError.

const (
	// maxLine is the longest line held back waiting for its newline; a longer
	// one is written as it is (the only case where a line is split).
	maxLine = 1 << 20
	// maxPending is the most output queued for one file while the disk lags.
	maxPending = 16 << 20
	// tailLines is how many stderr lines are kept for Exit.LogTail.
	tailLines = 10
	// headLines of a run's stderr are kept beside its tail: "Error: unknown
	// flag" comes before a usage text longer than the tail.
	headLines = 2
)

// Streams and the files they go to.
const (
	streamOut = iota
	streamErr
	fileCombined
	nFiles
)

// logPaths returns the file of each slot of ls ("" = not written).
func logPaths(ls LogSpec) [nFiles]string {
	return [nFiles]string{ls.Out, ls.Error, ls.Combined}
}

// logSink writes the lines of a daemon's runs to its log files.
type logSink struct {
	now     func() time.Time
	onError func(msg string) // called when the error state changes ("" = cleared)

	mu       sync.Mutex
	spec     LogSpec
	gen      int // bumped when spec changes; the writer reopens its files
	pending  [nFiles]bytes.Buffer
	dropped  [nFiles]int
	tail     []string
	head     []string // the first headLines stderr lines of the run: bd, cobra and flag packages say what is wrong first, then print their usage
	nErr     int      // stderr lines of the run
	closing  bool
	lastErr  string
	kick     chan struct{}
	done     chan struct{}
	flushReq []chan flushResult // FlushLogs calls waiting for the writer
	// stamp caches the formatted timestamp prefix for one millisecond (or
	// less: a layout finer than that is formatted for every line): a chatty
	// daemon's lines were each formatted anew (time.Format, ~300 ns).
	stamp       []byte
	stampAt     int64 // Unix milliseconds of stamp
	stampLayout string
	files       [nFiles]io.WriteCloser // owned by the writer goroutine
	fileErrs    [nFiles]error          // owned by the writer goroutine
}

func newLogSink(spec LogSpec, onError func(string)) *logSink {
	s := &logSink{
		now:     time.Now,
		onError: onError,
		spec:    spec,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go s.writeLoop()
	return s
}

// setSpec changes the files or their rotation; the files are reopened.
func (s *logSink) setSpec(spec LogSpec) {
	s.mu.Lock()
	s.spec = spec
	s.gen++
	s.mu.Unlock()
	s.signal()
}

func (s *logSink) signal() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// resetTail forgets the stderr lines of the previous run.
func (s *logSink) resetTail() {
	s.mu.Lock()
	s.tail, s.head, s.nErr = nil, nil, 0
	s.mu.Unlock()
}

// stderrTail returns the stderr lines of the current run, at most tailLines:
// all of them, or its first headLines, a line saying how many were left out,
// and its last ones (a program that says what is wrong, then prints its usage).
func (s *logSink) stderrTail() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nErr <= tailLines {
		return append([]string(nil), s.tail...)
	}
	last := s.tail[len(s.tail)-(tailLines-len(s.head)-1):]
	out := append([]string(nil), s.head...)
	out = append(out, fmt.Sprintf("… (%d lines)", s.nErr-len(s.head)-len(last)))
	return append(out, last...)
}

// line queues one complete line (without its newline) of stream.
func (s *logSink) line(stream int, line []byte) {
	s.mu.Lock()
	s.queueLocked(stream, s.prefixLocked(), line)
	s.mu.Unlock()
	s.signal()
}

// prefixLocked is the timestamp prefix of a line queued now ("" without
// timestamps).
func (s *logSink) prefixLocked() []byte {
	if !s.spec.Timestamps {
		return nil
	}
	layout := s.spec.DateFormat
	if layout == "" {
		layout = time.RFC3339
	}
	now := s.now()
	ms := now.UnixMilli()
	if ms == s.stampAt && layout == s.stampLayout && s.stamp != nil {
		return s.stamp
	}
	s.stamp = append(now.AppendFormat(s.stamp[:0], layout), ": "...)
	s.stampAt, s.stampLayout = ms, layout
	if finerThanMillis(layout) {
		s.stampAt = -1 // never reused
	}
	return s.stamp
}

// finerThanMillis reports whether a Go layout shows fractions of a second
// below the millisecond (.0000 and longer, or .9999...).
func finerThanMillis(layout string) bool {
	for i := 0; i+1 < len(layout); i++ {
		if c := layout[i]; c != '.' && c != ',' {
			continue
		}
		d := layout[i+1]
		if d != '0' && d != '9' {
			continue
		}
		j := i + 1
		for j < len(layout) && layout[j] == d {
			j++
		}
		if j-(i+1) > 3 && (j == len(layout) || layout[j] < '0' || layout[j] > '9') {
			return true
		}
	}
	return false
}

// queueLocked queues one line with its prefix.
func (s *logSink) queueLocked(stream int, prefix, line []byte) {
	paths := logPaths(s.spec)
	for _, f := range [2]int{stream, fileCombined} {
		if paths[f] == "" {
			continue
		}
		b := &s.pending[f]
		if b.Len()+len(prefix)+len(line)+1 > maxPending {
			s.dropped[f]++
			continue
		}
		b.Write(prefix)
		b.Write(line)
		b.WriteByte('\n')
	}
	if stream == streamErr {
		s.nErr++
		if len(s.head) < headLines {
			s.head = append(s.head, string(line))
		}
		if len(s.tail) == tailLines {
			s.tail = append(s.tail[:0], s.tail[1:]...)
		}
		s.tail = append(s.tail, string(line))
	}
}

// lines queues the complete lines of one write of stream: partial (held
// from before) then p up to its last newline, under one lock and one stamp
// (the child's write happened at one moment). It returns what is left of p
// after its last newline (nil when p ends with one).
func (s *logSink) lines(stream int, partial, p []byte) (rest []byte) {
	s.mu.Lock()
	prefix := s.prefixLocked()
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		if len(partial) > 0 {
			s.queueLocked(stream, prefix, append(partial, p[:i]...))
			partial = nil
		} else {
			s.queueLocked(stream, prefix, p[:i])
		}
		p = p[i+1:]
	}
	s.mu.Unlock()
	s.signal()
	return p
}

// close writes what is queued, closes the files and stops the writer.
func (s *logSink) close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.signal()
	<-s.done
}

func (s *logSink) writeLoop() {
	defer close(s.done)
	var (
		gen   = -1
		paths [nFiles]string
		rot   Rotate
		out   [nFiles]bytes.Buffer
	)
	for range s.kick {
		s.mu.Lock()
		if s.gen != gen {
			s.closeFiles()
			gen, paths, rot = s.gen, logPaths(s.spec), s.spec.Rotate
		}
		var dropped [nFiles]int
		for f := range nFiles {
			// Swapped, not copied: the lines queued are written from the
			// buffer they were queued in.
			out[f].Reset()
			out[f], s.pending[f] = s.pending[f], out[f]
			dropped[f], s.dropped[f] = s.dropped[f], 0
		}
		closing := s.closing
		flushReq := s.flushReq
		s.flushReq = nil
		s.mu.Unlock()

		for f := range nFiles {
			if out[f].Len() == 0 && dropped[f] == 0 {
				continue
			}
			s.fileErrs[f] = s.write(f, paths[f], rot, out[f].Bytes())
			if s.fileErrs[f] == nil && dropped[f] > 0 {
				s.fileErrs[f] = fmt.Errorf("%s: %d lines dropped while the disk lagged", paths[f], dropped[f])
			}
		}
		s.report()
		if len(flushReq) > 0 {
			res := s.truncate(paths)
			for _, ch := range flushReq {
				ch <- res
			}
		}
		if closing {
			s.closeFiles()
			return
		}
	}
}

// flushResult is what a flush did.
type flushResult struct {
	paths []string
	err   error
}

// flush empties the log files: the writer closes them, truncates them and
// reopens them at its next line (in append mode), so no line lands in a hole
// and none written after the flush is lost.
func (s *logSink) flush() ([]string, error) {
	ch := make(chan flushResult, 1)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil, errors.New("log writer closed")
	}
	s.flushReq = append(s.flushReq, ch)
	s.mu.Unlock()
	s.signal()
	r := <-ch
	return r.paths, r.err
}

// truncate closes and empties every file written (writer goroutine only).
func (s *logSink) truncate(paths [nFiles]string) flushResult {
	s.closeFiles()
	var res flushResult
	for _, p := range paths {
		if p == "" || slices.Contains(res.paths, p) {
			continue
		}
		if err := truncateLog(p); err != nil {
			res.err = errors.Join(res.err, err)
			continue
		}
		res.paths = append(res.paths, p)
	}
	return res
}

// truncateLog empties a regular file at path; a missing file is left missing.
func truncateLog(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file, not flushed", path)
	}
	return os.Truncate(path, 0)
}

// write appends b to file slot f, opening it first when needed.
func (s *logSink) write(f int, path string, rot Rotate, b []byte) error {
	if path == "" {
		return nil
	}
	if s.files[f] == nil {
		w, err := openLog(path, rot)
		if err != nil {
			return err
		}
		s.files[f] = w
	}
	// Write in chunks that end at a newline, each at most the rotation size:
	// the rotator then keeps every file within it, and splits only a line
	// longer than that.
	chunk := writeChunk
	if rot.MaxSize > 0 {
		chunk = int(min(uint64(writeChunk), rot.MaxSize))
	}
	for len(b) > 0 {
		n := len(b)
		if n > chunk {
			n = bytes.LastIndexByte(b[:chunk], '\n') + 1
			if n == 0 { // one line longer than a chunk
				n = chunk
			}
		}
		if _, err := s.files[f].Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// writeChunk is the most written to a log file at once.
const writeChunk = 256 << 10

// report publishes the first failing file's error, or "" once all write again.
func (s *logSink) report() {
	msg := ""
	for _, err := range s.fileErrs {
		if err != nil {
			msg = err.Error()
			break
		}
	}
	s.mu.Lock()
	changed := msg != s.lastErr
	s.lastErr = msg
	s.mu.Unlock()
	if changed && s.onError != nil {
		s.onError(msg)
	}
}

func (s *logSink) closeFiles() {
	for f, w := range s.files {
		if w != nil {
			_ = w.Close()
			s.files[f] = nil
		}
	}
}

// openLog opens path for appending, through a rotatingFile when it rotates.
func openLog(path string, rot Rotate) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if rot.MaxSize > 0 {
		return openRotating(path, rot)
	}
	return OpenLogFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}

// lineWriter splits one stream of a run into lines for the sink.
type lineWriter struct {
	sink   *logSink
	stream int

	mu      sync.Mutex
	partial []byte
}

// Write never blocks on the disk and never fails: the child must not notice.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if bytes.IndexByte(p, '\n') >= 0 {
		p = w.sink.lines(w.stream, w.partial, p)
		w.partial = w.partial[:0]
	}
	w.partial = append(w.partial, p...)
	if len(w.partial) >= maxLine {
		w.sink.line(w.stream, w.partial)
		w.partial = w.partial[:0]
	}
	return n, nil
}

// Flush writes a held partial line: the run is over, no newline will come.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.sink.line(w.stream, w.partial)
		w.partial = nil
	}
}

// setSpecIfChanged is setSpec when spec differs from the current one.
func (s *logSink) setSpecIfChanged(spec LogSpec) {
	s.mu.Lock()
	same := s.spec == spec
	s.mu.Unlock()
	if !same {
		s.setSpec(spec)
	}
}
