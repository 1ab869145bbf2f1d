package supervisor

import (
	"bytes"
	"strconv"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// procSched reads the first two fields of /proc/<pid>/schedstat (the
// nanoseconds the task has run, and spent runnable waiting for a CPU) and
// the state in /proc/<pid>/stat.
func procSched(pid int) schedReading {
	if pid <= 0 {
		return schedReading{}
	}
	var buf [512]byte
	n := proc.ReadSmall("/proc/"+strconv.Itoa(pid)+"/schedstat", buf[:128])
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
	if n = proc.ReadSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:]); n > 0 {
		if st, ok := proc.ParseStat(buf[:n]); ok {
			r.state = st.State
		}
	}
	return r
}
