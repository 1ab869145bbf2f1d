package supervisor

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogRotationBoundAt200K is issue 12/13's case: max_size 200K, keep 2.
// lumberjack rounded it up to 1 MB (1 MB files that filled a 1 MB disk); now
// every file holds at most 200K and all of them at most 200K × (keep+1), while
// the newest lines are all kept, in order, unsplit.
func TestLogRotationBoundAt200K(t *testing.T) {
	const maxSize, keep = 200 << 10, 2
	for name, compress := range map[string]bool{"plain": false, "compressed": true} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.log")
			s, errs := sinkErrors(LogSpec{Out: path, Rotate: Rotate{MaxSize: maxSize, Keep: keep, Compress: compress}})
			w := &lineWriter{sink: s, stream: streamOut}
			const n = 40000 // 4 MB of 100-byte lines: some 20 rotations
			for i := range n {
				fmt.Fprintf(w, "%06d %s\n", i, strings.Repeat("y", 92))
			}
			s.close()
			select {
			case msg := <-errs:
				t.Fatalf("log error: %s", msg)
			default:
			}
			total, files := logFiles(t, dir, "out*")
			if len(files) != keep+1 {
				t.Errorf("files %v, want the current one and %d backups", files, keep)
			}
			if limit := int64(maxSize * (keep + 1)); total > limit {
				t.Errorf("logs use %d bytes, over max_size × (keep+1) = %d", total, limit)
			}
			last := -1
			for _, f := range files {
				if fi, _ := os.Stat(f); fi.Size() > maxSize {
					t.Errorf("%s has %d bytes, over %d", f, fi.Size(), maxSize)
				}
				for _, l := range strings.Split(strings.TrimSuffix(readLog(t, f), "\n"), "\n") {
					var i int
					if len(l) != 99 || func() bool { _, err := fmt.Sscanf(l, "%06d", &i); return err != nil }() {
						t.Fatalf("%s: split or foreign line %q", f, l)
					}
					last = max(last, i)
				}
			}
			if last != n-1 {
				t.Errorf("newest line kept is %d, want %d", last, n-1)
			}
		})
	}
}

// readLog reads a log file, gunzipping a .gz backup.
func readLog(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRotationSameMillisecondNamesAreUnique: rotations faster than the clock
// (here a clock that never moves) give every backup its own name, in order,
// at once: lumberjack's names collided and lost a backup, and the workaround
// slept in the write path.
func TestRotationSameMillisecondNamesAreUnique(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "err.log")
	r, err := openRotating(path, Rotate{MaxSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	frozen := time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return frozen }
	for i := range 50 {
		if _, err := fmt.Fprintf(r, "line %03d\n", i); err != nil { // 9 bytes: one per file
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	b := r.backups()
	if len(b) != 49 {
		t.Fatalf("%d backups, want 49 (keep 0 keeps all)", len(b))
	}
	for i, f := range b {
		if got, want := readLog(t, f.path), fmt.Sprintf("line %03d\n", i); got != want {
			t.Errorf("backup %d (%s) holds %q, want %q", i, filepath.Base(f.path), got, want)
		}
	}
	if got := readLog(t, path); got != "line 049\n" {
		t.Errorf("current file holds %q", got)
	}
	// a new rotator (an agent restarted) continues after the newest backup
	r2, err := openRotating(path, Rotate{MaxSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	r2.now = r.now
	fmt.Fprintf(r2, "line 050\n")
	r2.Close()
	if b2 := r2.backups(); len(b2) != 50 || readLog(t, b2[49].path) != "line 049\n" {
		t.Errorf("after a restart: %d backups, newest %q", len(b2), readLog(t, b2[len(b2)-1].path))
	}
}

// TestRotationKeepsExistingFileWithinBound: a file already past max_size (the
// setting was lowered) is rotated before the next write.
func TestRotationKeepsExistingFileWithinBound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	if err := os.WriteFile(path, []byte(strings.Repeat("x\n", 1000)), 0o640); err != nil {
		t.Fatal(err)
	}
	r, err := openRotating(path, Rotate{MaxSize: 100, Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(r, "new\n")
	r.Close()
	if got := readLog(t, path); got != "new\n" {
		t.Errorf("current file holds %q", got)
	}
	if b := r.backups(); len(b) != 1 {
		t.Errorf("%d backups, want 1", len(b))
	}
}
