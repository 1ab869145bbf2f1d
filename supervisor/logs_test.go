package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sinkErrors returns a sink and the error states it reports, in order.
func sinkErrors(spec LogSpec) (*logSink, <-chan string) {
	errs := make(chan string, 16)
	return newLogSink(spec, func(msg string) { errs <- msg }), errs
}

func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	// Keep 0 keeps every backup.
	s, errs := sinkErrors(LogSpec{Out: path, Rotate: Rotate{MaxSize: 1 << 20}})
	w := &lineWriter{sink: s, stream: streamOut}
	line := strings.Repeat("y", 99)
	const n = 35000 // 3.5 MB
	for i := range n {
		fmt.Fprintf(w, "%06d %s\n", i, line)
	}
	s.close()
	select {
	case msg := <-errs:
		t.Fatalf("log error: %s", msg)
	default:
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out*.log"))
	if len(files) < 4 {
		t.Fatalf("files %v, want the current one and at least 3 backups", files)
	}
	total := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1<<20 {
			t.Errorf("%s has %d bytes, over the 1 MB limit", f, len(b))
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if len(l) != 106 {
				t.Fatalf("%s: split line %q", f, l)
			}
			total++
		}
	}
	if total != n {
		t.Errorf("%d lines across %d files, want %d", total, len(files), n)
	}
}

func TestLogErrorClearsWhenWritingWorksAgain(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "logs")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, errs := sinkErrors(LogSpec{Error: filepath.Join(blocker, "err.log")})
	defer s.close()
	w := &lineWriter{sink: s, stream: streamErr}
	fmt.Fprintln(w, "lost while the folder is a file")
	if msg := recvErr(t, errs); msg == "" {
		t.Fatal("no error reported")
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "written again")
	if msg := recvErr(t, errs); msg != "" {
		t.Fatalf("error not cleared: %s", msg)
	}
	if got := s.stderrTail(); len(got) != 2 || got[1] != "written again" {
		t.Errorf("stderr tail = %q", got)
	}
}

func recvErr(t *testing.T, errs <-chan string) string {
	t.Helper()
	select {
	case msg := <-errs:
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no error state reported")
		return ""
	}
}

func TestLineWriterHoldsPartialLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "all.log")
	s, _ := sinkErrors(LogSpec{Combined: path})
	out := &lineWriter{sink: s, stream: streamOut}
	errw := &lineWriter{sink: s, stream: streamErr}
	// Interleaved fragments of two streams must come out as whole lines.
	out.Write([]byte("out-a "))
	errw.Write([]byte("err-a "))
	out.Write([]byte("out-b\nout-c"))
	errw.Write([]byte("err-b\n"))
	out.Write([]byte(" out-d\nno newline"))
	out.Flush()
	errw.Flush()
	s.close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "out-a out-b\nerr-a err-b\nout-c out-d\nno newline\n"
	if string(b) != want {
		t.Errorf("combined log = %q, want %q", b, want)
	}
}

// TestLogFlush: flushing empties the files through the writer, which reopens
// them in append mode: the lines written after the flush start the file, with
// no hole of NUL bytes where the old content was, even after a rotation.
func TestLogFlush(t *testing.T) {
	for name, rot := range map[string]Rotate{"plain": {}, "rotating": {MaxSize: 1 << 20}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			out, comb := filepath.Join(dir, "out.log"), filepath.Join(dir, "all.log")
			s, errs := sinkErrors(LogSpec{Out: out, Combined: comb, Rotate: rot})
			w := &lineWriter{sink: s, stream: streamOut}
			line := strings.Repeat("x", 99)
			for i := range 12000 { // 1.2 MB: past one rotation when rotating
				fmt.Fprintf(w, "%06d %s\n", i, line)
			}
			paths, err := s.flush()
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{out, comb}; !slices.Equal(paths, want) {
				t.Errorf("flushed %v, want %v", paths, want)
			}
			fmt.Fprintf(w, "after flush\n")
			s.close()
			select {
			case msg := <-errs:
				t.Fatalf("log error: %s", msg)
			default:
			}
			for _, p := range []string{out, comb} {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != "after flush\n" {
					t.Errorf("%s after flush holds %d bytes, starting %q", p, len(b), b[:min(len(b), 40)])
				}
			}
		})
	}
}

// TestLogStampsEachMillisecondOnce: lines queued within one millisecond
// share one formatted stamp; a layout finer than that is formatted for each
// line; the time shown is always the line's own (to the layout's precision).
func TestLogStampsEachMillisecondOnce(t *testing.T) {
	for name, c := range map[string]struct {
		layout string
		want   string
	}{
		"seconds":      {"15:04:05", "10:00:00: a\n10:00:00: b\n10:00:00: c\n"},
		"milliseconds": {"15:04:05.000", "10:00:00.001: a\n10:00:00.001: b\n10:00:00.002: c\n"},
		"microseconds": {"15:04:05.000000", "10:00:00.001000: a\n10:00:00.001500: b\n10:00:00.002000: c\n"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			s, _ := sinkErrors(LogSpec{Out: path, Timestamps: true, DateFormat: c.layout})
			t0 := time.Date(2026, 12, 4, 10, 0, 0, int(time.Millisecond), time.UTC)
			times := []time.Time{t0, t0.Add(500 * time.Microsecond), t0.Add(time.Millisecond)}
			s.mu.Lock()
			i := 0
			s.now = func() time.Time { i++; return times[i-1] }
			s.mu.Unlock()
			w := &lineWriter{sink: s, stream: streamOut}
			for _, l := range []string{"a\n", "b\n", "c\n"} {
				w.Write([]byte(l))
			}
			s.close()
			if b, err := os.ReadFile(path); err != nil || string(b) != c.want {
				t.Errorf("log = %q, %v; want %q", b, err, c.want)
			}
		})
	}
	for layout, want := range map[string]bool{"15:04:05": false, "05.000": false, "05,999": false, "05.0000": true, "05.999999999": true, "2006.01": false, "v1.00000x": true} {
		if got := finerThanMillis(layout); got != want {
			t.Errorf("finerThanMillis(%q) = %v, want %v", layout, got, want)
		}
	}
}
