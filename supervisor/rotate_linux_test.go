package supervisor

import (
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRotationNeverShowsKeepPlusTwoFiles: replaying the folder's inotify
// events (every create, rename and removal, in order) shows at most keep+1
// files of one log at every instant of a run of rotations, not only between
// them. The new current file was created before the prune, so a reader (the
// flood test's count, TestFaultChildFloodsLogs) could see keep+2 files.
func TestRotationNeverShowsKeepPlusTwoFiles(t *testing.T) {
	const keep = 2
	dir := t.TempDir()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_FROM|unix.IN_MOVED_TO|unix.IN_DELETE); err != nil {
		t.Fatal(err)
	}
	r, err := openRotating(filepath.Join(dir, "out.log"), Rotate{MaxSize: 10, Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	const lines = 20
	for i := range lines {
		if _, err := fmt.Fprintf(r, "line %03d\n", i); err != nil { // 9 bytes: one per file
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	most, rotations := 0, 0
	for _, ev := range inotifyAll(t, fd) {
		switch {
		case ev.mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0:
			files[ev.name] = true
		case ev.mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0:
			delete(files, ev.name)
			if ev.mask&unix.IN_MOVED_FROM != 0 {
				rotations++
			}
		}
		most = max(most, len(files))
	}
	if rotations != lines-1 {
		t.Fatalf("%d rotations seen, want %d", rotations, lines-1)
	}
	if most > keep+1 {
		t.Errorf("at one instant %d files of the log, want at most keep+1 = %d", most, keep+1)
	}
	if len(files) != keep+1 {
		t.Errorf("after the rotations: %v, want the current file and %d backups", files, keep)
	}
}

type inotifyEvent struct {
	mask uint32
	name string
}

// inotifyAll reads every queued event of fd, in order.
func inotifyAll(t *testing.T, fd int) []inotifyEvent {
	t.Helper()
	var out []inotifyEvent
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EAGAIN {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			mask, name, next := parseInotify(buf[:n], off)
			if mask&unix.IN_Q_OVERFLOW != 0 {
				t.Fatal("inotify queue overflowed: events lost")
			}
			out = append(out, inotifyEvent{mask, name})
			off = next
		}
	}
}
