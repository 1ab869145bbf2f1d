//go:build !linux

package supervisor

import "github.com/beadsctl/beadsctl/internal/proc"

// groupSampler samples the leader of a group (see proc.SampleGroup).
type groupSampler struct{ pgid int }

func newGroupSampler(pgid int) *groupSampler { return &groupSampler{pgid: pgid} }

func (g *groupSampler) sample(bool) (proc.GroupSample, error) { return proc.SampleGroup(g.pgid) }

// close releases nothing: the sampler holds no resources here.
func (g *groupSampler) close() {}
