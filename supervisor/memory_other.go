//go:build !linux

package supervisor

import (
	"context"
	"errors"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// sampleGroup reads the leader only: listing a group's members needs a full
// process listing here, which is not cheap enough to do every second.
func sampleGroup(pid int) (groupSample, error) {
	p, err := process.NewProcessWithContext(context.Background(), int32(pid))
	if err != nil {
		return groupSample{}, err
	}
	mi, err := p.MemoryInfo()
	if err != nil {
		return groupSample{}, err
	}
	s := groupSample{RSS: mi.RSS, Members: 1}
	if t, err := p.Times(); err == nil {
		s.CPU = time.Duration((t.User + t.System) * float64(time.Second))
	}
	return s, nil
}

// groupSampler samples the leader of a group (see sampleGroup).
type groupSampler struct{ pgid int }

func newGroupSampler(pgid int) *groupSampler { return &groupSampler{pgid: pgid} }

func (g *groupSampler) sample(bool) (groupSample, error) { return sampleGroup(g.pgid) }

// close releases nothing: the sampler holds no resources here.
func (g *groupSampler) close() {}

// groupsRSS is not available here: GroupMemorySnapshot asks each leader.
func groupsRSS() (map[int]uint64, error) { return nil, errNoGroupScan }

var errNoGroupScan = errors.New("no process table scan on this system")
