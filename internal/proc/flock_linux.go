package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxProcLocks bounds how much of /proc/locks is read.
const maxProcLocks = 16 << 20

func flockHolders(path string) ([]int, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	var pids []int
	sc := bufio.NewScanner(io.LimitReader(f, maxProcLocks))
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5325318 0 EOF"; a waiter has "->" after the id
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		pid, err := strconv.Atoi(fields[4])
		if err != nil || pid <= 0 || !hasOpen(pid, st.Dev, st.Ino) {
			continue
		}
		pids = append(pids, pid)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/locks: %w", err)
	}
	return pids, nil
}

// hasOpen reports whether pid has a descriptor open on the file dev/ino.
func hasOpen(pid int, dev, ino uint64) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(dir, e.Name()), &st) == nil && st.Dev == dev && st.Ino == ino {
			return true
		}
	}
	return false
}
