package supervisor

import (
	"time"
)

// cpuMeter turns successive CPU time readings into a percentage of one CPU.
type cpuMeter struct {
	lastCPU  time.Duration
	lastWall time.Time
}

// percent returns the CPU percent used since the previous reading (0 on the first).
func (m *cpuMeter) percent(cpu time.Duration, now time.Time) float64 {
	var pct float64
	if !m.lastWall.IsZero() && now.After(m.lastWall) && cpu >= m.lastCPU {
		pct = 100 * float64(cpu-m.lastCPU) / float64(now.Sub(m.lastWall))
	}
	m.lastCPU, m.lastWall = cpu, now
	return pct
}

// schedReading is what the kernel says of a process's schedule.
type schedReading struct {
	known bool          // read (Linux, the process there)
	cpu   time.Duration // time on a CPU
	delay time.Duration // time runnable but waiting for a CPU, once each wait ended
	state byte          // /proc/<pid>/stat's: R running or runnable, S asleep, D blocked, ...
}

// readSched reads pid's schedule (unknown where the OS does not tell); see
// ownClock.
func readSched(pid int) schedReading { return procSched(pid) }
