//go:build !linux

package proc

import (
	"context"
	"errors"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// SampleGroup reads the leader only: listing a group's members needs a full
// process listing here, which is not cheap enough to do every second.
func SampleGroup(pid int) (GroupSample, error) {
	p, err := process.NewProcessWithContext(context.Background(), int32(pid))
	if err != nil {
		return GroupSample{}, err
	}
	mi, err := p.MemoryInfo()
	if err != nil {
		return GroupSample{}, err
	}
	s := GroupSample{RSS: mi.RSS, Members: 1}
	if t, err := p.Times(); err == nil {
		s.CPU = time.Duration((t.User + t.System) * float64(time.Second))
	}
	return s, nil
}

// groupsRSS is not available here: GroupMemorySnapshot asks each leader.
func groupsRSS() (map[int]uint64, error) { return nil, errNoGroupScan }

var errNoGroupScan = errors.New("no process table scan on this system")
