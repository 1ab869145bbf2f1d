package supervisor

import (
	"context"
	"time"
)

// groupSample is one reading of a process group's resources.
type groupSample struct {
	RSS uint64
	// CPU is the user+system time used so far by the members alive now.
	CPU time.Duration
	// Members is how many processes were found in the group.
	Members int
}

// GroupMemory is the default MemoryFunc: the RSS of every process in the group
// led by pid (on Linux from /proc; elsewhere the leader's RSS via gopsutil).
func GroupMemory(ctx context.Context, pid int) (uint64, error) {
	s, err := sampleGroup(pid)
	return s.RSS, err
}

var _ MemoryFunc = GroupMemory

// Memory sampling bounds. A daemon without a memory limit is sampled every
// displaySampleInterval at most often: its RSS and CPU only feed status.
const (
	defaultCheckInterval  = time.Second
	minCheckInterval      = 100 * time.Millisecond
	displaySampleInterval = 5 * time.Second
)

func checkInterval(l Limits) time.Duration {
	switch {
	case l.CheckInterval == 0:
		return defaultCheckInterval
	case l.CheckInterval < minCheckInterval:
		return minCheckInterval
	}
	return l.CheckInterval
}
