package supervisor

import (
	"bytes"
	"strconv"
	"time"
)

// procRunDelay reads the second field of /proc/<pid>/schedstat: the
// nanoseconds the task has spent runnable but waiting for a CPU.
func procRunDelay(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	var buf [128]byte
	n := readSmall("/proc/"+strconv.Itoa(pid)+"/schedstat", buf[:])
	if n <= 0 {
		return 0
	}
	f := bytes.Fields(buf[:n])
	if len(f) < 2 {
		return 0
	}
	v, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return time.Duration(v)
}

// procExited reports whether pid is a zombie: our waiter leaves an
// exited child unreaped until it killed the rest of its group, so a run
// that ended shows as Z for a moment before the daemon's loop records it.
func procExited(pid int) bool {
	if pid <= 0 {
		return false
	}
	var buf [512]byte
	n := readSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if n <= 0 {
		return false // gone (reaped): the loop records it at once
	}
	i := bytes.LastIndexByte(buf[:n], ')')
	if i < 0 || i+2 >= n {
		return false
	}
	st := buf[i+2]
	return st == 'Z' || st == 'X'
}
