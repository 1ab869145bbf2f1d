package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// MaxLogLines caps n in a logs request.
const MaxLogLines = 100000

// logFollowInterval is how often a followed log file is checked for new lines.
const logFollowInterval = 100 * time.Millisecond

// logPath picks the file of stream ("out", "err", "combined"; "" means combined,
// else out, else err) from spec.
func logPath(spec Spec, stream string) (string, error) {
	l := spec.Logs
	switch stream {
	case "out", "stdout":
		return l.Out, nil
	case "err", "error", "stderr":
		return l.Error, nil
	case "combined":
		return l.Combined, nil
	case "":
		for _, p := range []string{l.Combined, l.Out, l.Error} {
			if p != "" {
				return p, nil
			}
		}
		return "", nil
	}
	return "", fmt.Errorf("stream=%q: want out, err or combined", stream)
}

func (a *Agent) handleLogs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	q := r.URL.Query()
	h, ok := a.lookup(name)
	if !ok {
		writeAPIError(w, http.StatusNotFound, fmt.Sprintf("%v: %q", ErrUnknownDaemon, name))
		return
	}
	n := 100
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("n=%q: not a count", s))
			return
		}
		n = min(v, MaxLogLines)
	}
	follow, _ := strconv.ParseBool(q.Get("follow"))
	path, err := logPath(h.d.Spec(), q.Get("stream"))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	if path == "" {
		writeAPIError(w, http.StatusNotFound, fmt.Sprintf("daemon %q writes no such log", name))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Log-Path", path)
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	flush := func() {
		if fl != nil {
			fl.Flush()
		}
	}
	lines, offset, f := tailLog(path, n)
	for _, l := range lines {
		w.Write(l)
	}
	flush()
	if !follow {
		if f != nil {
			f.Close()
		}
		return
	}
	followLog(r.Context(), path, f, offset, func(b []byte) error {
		extendDeadlines(w, 0) // each write must be taken in time, the stream may last
		if _, err := w.Write(b); err != nil {
			return err
		}
		flush()
		return nil
	})
}

// tailLog returns the last n complete lines of path (each ending in "\n"), the
// offset just past them, and the open file (nil when it does not exist).
func tailLog(path string, n int) (lines [][]byte, offset int64, f *os.File) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, f
	}
	// Only complete lines: a partial last line is left for follow.
	end := size
	const chunk = 64 << 10
	var buf []byte
	pos := end
	for pos > 0 {
		start := max(0, pos-chunk)
		b := make([]byte, pos-start)
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			break
		}
		buf = append(b, buf...)
		pos = start
		if bytes.Count(buf, []byte{'\n'}) > n {
			break
		}
	}
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		end = pos + int64(i) + 1
		buf = buf[:i+1]
	} else {
		return nil, pos, f
	}
	all := bytes.SplitAfter(buf, []byte{'\n'})
	if len(all) > 0 && len(all[len(all)-1]) == 0 {
		all = all[:len(all)-1]
	}
	if pos > 0 && len(all) > 0 {
		all = all[1:] // the first piece may be a partial line cut by the chunking
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all, end, f
}

// followLog sends complete lines appended to path from offset until ctx is done.
// It follows rotation: when path is replaced (lumberjack renames it and creates a
// new file), the old file is drained, then the new one is read from its start;
// a file truncated in place is read again from its start.
func followLog(ctx context.Context, path string, f *os.File, offset int64, send func([]byte) error) {
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var pending []byte
	buf := make([]byte, 32<<10)
	tick := time.NewTicker(logFollowInterval)
	defer tick.Stop()
	drain := func() error {
		for f != nil {
			k, err := f.ReadAt(buf, offset)
			if k > 0 {
				offset += int64(k)
				pending = append(pending, buf[:k]...)
				if i := bytes.LastIndexByte(pending, '\n'); i >= 0 {
					if serr := send(pending[:i+1]); serr != nil {
						return serr
					}
					pending = append(pending[:0], pending[i+1:]...)
				}
			}
			if err != nil || k == 0 {
				return nil
			}
		}
		return nil
	}
	for {
		if err := drain(); err != nil {
			return
		}
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			// Gone for now (rotation in progress, or never written): keep the old file.
		case f == nil:
			if nf, err := os.Open(path); err == nil {
				f, offset, pending = nf, 0, pending[:0]
				continue
			}
		default:
			cur, serr := f.Stat()
			if serr == nil && !os.SameFile(fi, cur) {
				if err := drain(); err != nil {
					return
				}
				if len(pending) > 0 {
					if send(append(pending, '\n')) != nil {
						return
					}
				}
				if nf, err := os.Open(path); err == nil {
					f.Close()
					f, offset, pending = nf, 0, pending[:0]
					continue
				}
			} else if serr == nil && cur.Size() < offset {
				offset, pending = 0, pending[:0]
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
