// Package logpath says which files beadsctl writes logs to, and opens them so
// that opening one can never block: the one rule shared by validate (schema)
// and the supervisor. It imports nothing of beadsctl.
//
// A log is a regular file. A FIFO, socket, folder or device is refused: a
// FIFO without a reader blocks open(2) for writing, one with a reader blocks
// writes once its buffer is full, and either once stalled the agent's log
// writer and destroy with it. The two bit buckets /dev/null and /dev/full,
// whose writes never wait, are accepted (the tests inject a full disk with
// /dev/full).
package logpath

import (
	"errors"
	"fmt"
	"os"
)

// ErrNotRegular means a log path names something other than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Check returns nil when fi, the file at path, may be a log, else an error
// wrapping ErrNotRegular that says what it is.
func Check(path string, fi os.FileInfo) error {
	if fi.Mode().IsRegular() || isBitBucket(fi) {
		return nil
	}
	return fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, Kind(fi.Mode()))
}

// Kind names the type of a file that is not regular: "a named pipe", "a
// socket", "a device", "a folder".
func Kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	}
	return "type " + m.Type().String()
}

func isBitBucket(fi os.FileInfo) bool {
	if fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	for _, p := range []string{"/dev/null", "/dev/full"} {
		if b, err := os.Stat(p); err == nil && os.SameFile(fi, b) {
			return true
		}
	}
	return false
}

// Open opens a log file (flag as os.OpenFile's: for appending or reading)
// without waiting in open(2) (O_NONBLOCK where the OS has it), then refuses
// and closes whatever Check refuses. It holds when the path changed since
// validate.
func Open(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|openNonBlock, perm)
	if err != nil {
		// A FIFO without a reader fails to open for writing (ENXIO): say
		// what it is rather than "no such device or address".
		if fi, serr := os.Stat(path); serr == nil {
			if cerr := Check(path, fi); cerr != nil {
				return nil, cerr
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := Check(path, fi); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
