package supervisor

import (
	"context"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

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

// MemoryFunc returns the resident memory of the group led by pid
// (proc.MemoryFunc).
type MemoryFunc = proc.MemoryFunc

// GroupMemory is the default MemoryFunc (proc.GroupMemory).
func GroupMemory(ctx context.Context, pid int) (uint64, error) { return proc.GroupMemory(ctx, pid) }

// GroupMemorySnapshot is proc.GroupMemorySnapshot.
func GroupMemorySnapshot() MemoryFunc { return proc.GroupMemorySnapshot() }
