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

// eachFlock calls f with the pid field of each FLOCK entry (not a waiter)
// of the file at path in /proc/locks, until f returns false.
func eachFlock(path string, f func(pid string, st *unix.Stat_t) bool) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return err
	}
	defer locks.Close()
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	sc := bufio.NewScanner(io.LimitReader(locks, maxProcLocks))
	read := 0
	for sc.Scan() {
		read += len(sc.Bytes()) + 1
		// "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5325318 0 EOF"; a waiter has "->" after the id
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && fields[1] == "FLOCK" && fields[5] == want && !f(fields[4], &st) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read /proc/locks: %w", err)
	}
	if read >= maxProcLocks {
		return fmt.Errorf("read /proc/locks: longer than %d bytes", maxProcLocks)
	}
	return nil
}

// flockHolders: see FlockHolders.
func flockHolders(path string) ([]int, error) {
	var pids []int
	err := eachFlock(path, func(field string, st *unix.Stat_t) bool {
		if pid, err := strconv.Atoi(field); err == nil && pid > 0 && hasOpen(pid, st.Dev, st.Ino) {
			pids = append(pids, pid)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return pids, nil
}

// flockHeld reports whether a flock is held on the file at path: a FLOCK
// entry for it in /proc/locks, whatever its pid (0 for a holder outside our
// pid namespace; a stale one when the locker forked and exited, its child
// holding the lock).
func flockHeld(path string) (bool, error) {
	held := false
	err := eachFlock(path, func(string, *unix.Stat_t) bool {
		held = true
		return false
	})
	return held && err == nil, err
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
