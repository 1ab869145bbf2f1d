package supervisor

import (
	"bytes"
	"strconv"
	"time"
)

// procSched reads the first two fields of /proc/<pid>/schedstat (the
// nanoseconds the task has run, and spent runnable waiting for a CPU) and
// the state in /proc/<pid>/stat.
func procSched(pid int) schedReading {
	if pid <= 0 {
		return schedReading{}
	}
	var buf [512]byte
	n := readSmall("/proc/"+strconv.Itoa(pid)+"/schedstat", buf[:128])
	if n <= 0 {
		return schedReading{}
	}
	f := bytes.Fields(buf[:n])
	if len(f) < 2 {
		return schedReading{}
	}
	cpu, err1 := strconv.ParseInt(string(f[0]), 10, 64)
	delay, err2 := strconv.ParseInt(string(f[1]), 10, 64)
	if err1 != nil || err2 != nil || cpu < 0 || delay < 0 {
		return schedReading{}
	}
	r := schedReading{known: true, cpu: time.Duration(cpu), delay: time.Duration(delay)}
	n = readSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if i := bytes.LastIndexByte(buf[:max(n, 0)], ')'); i >= 0 && i+2 < n {
		r.state = buf[i+2]
	}
	return r
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
