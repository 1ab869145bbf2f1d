// Package logfile is the one reader of the ends of log files: the last lines of a daemon's log for
// an exit report, an apply failure or `beadsctl logs`, read backwards from the end in blocks so that
// a large log costs only its tail. (Following a log as it grows lives in reconcile's LogFollower,
// which reads through TailAt.)
//
// It is a leaf: it imports nothing of beadsctl's but the leaf internal/logpath (how a log is opened).
package logfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/beadsctl/beadsctl/internal/logpath"
)

// Window bounds how far from the end Tail reads: a line cut by it is dropped.
const Window = 1 << 20

// block is how much is read at a time, backwards.
const block = 32 << 10

// Tail returns the last n lines of the file at path, nil when it does not exist or cannot be read.
// It reads at most the last Window bytes; a line cut by that bound is dropped. A final line without
// a newline counts as a line; "\r\n" endings and the NUL bytes of a hole left by a truncation are
// trimmed.
func Tail(path string, n int) []string { return TailSince(path, 0, n) }

// TailSince returns the last n lines of what was written to the file at path after its first
// offset bytes (as Tail reads them): the lines a process added since the file had that size. A file
// now shorter than offset was rotated or truncated meanwhile: all of it is new.
func TailSince(path string, offset int64, n int) []string {
	if n <= 0 {
		return nil
	}
	f, err := logpath.Open(path, os.O_RDONLY, 0) // never waits on a FIFO
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	size := fi.Size()
	if offset < 0 || offset > size {
		offset = 0
	}
	lines, _ := tail(io.NewSectionReader(f, offset, size-offset), size-offset, n, Window)
	return lines
}

// ReadTail returns the last n lines (every line when n < 0) of the file at path, with no bound on
// how far back it reads, and the error of opening or reading it.
func ReadTail(path string, n int) ([]string, error) {
	f, err := logpath.Open(path, os.O_RDONLY, 0) // never waits on a FIFO
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return TailAt(f, fi.Size(), n)
}

// TailAt returns the last n lines (every line when n < 0) of the first size bytes of r, with no
// bound on how far back it reads; lines are trimmed as Tail's.
func TailAt(r io.ReaderAt, size int64, n int) ([]string, error) {
	return tail(r, size, n, 0)
}

func tail(r io.ReaderAt, size int64, n int, window int64) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	var chunks [][]byte // backwards
	newlines, off := 0, size
	for off > 0 && (window <= 0 || size-off < window) && (n < 0 || newlines <= n) {
		step := min(int64(block), off)
		if window > 0 {
			step = min(step, window-(size-off))
		}
		off -= step
		chunk := make([]byte, step)
		if _, err := r.ReadAt(chunk, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		chunks = append(chunks, chunk)
		// n lines need n newlines before the last line's start (n+1 counting
		// the final newline, when present).
		newlines += bytes.Count(chunk, []byte{'\n'})
	}
	buf := make([]byte, 0, size-off)
	for i := len(chunks) - 1; i >= 0; i-- {
		buf = append(buf, chunks[i]...)
	}
	lines := SplitLines(buf)
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // the first one is (maybe) cut
	}
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return nil, nil
	}
	return lines, nil
}

// SplitLines splits b into lines without their "\n" (a final newline ends the last line, it does not
// start an empty one), trimming "\r" endings and the leading NULs of a hole that a file truncated
// under a writer without O_APPEND leaves.
func SplitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(strings.TrimSuffix(l, "\r"), "\x00")
	}
	return lines
}
