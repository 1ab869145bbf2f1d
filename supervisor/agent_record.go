package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/shirou/gopsutil/v4/process"
)

// AgentRecord is the content of .beadsctl/agent.json: what the agent knows,
// written on every status change so that a CLI can answer while the agent is
// down, and so that a restarted agent can stop the daemons a dead one left
// behind without ever signalling a recycled pid.
type AgentRecord struct {
	AgentStatus
	// UpdatedAt is when the record was written.
	UpdatedAt time.Time `json:"updated_at"`
	// StopPolicies per daemon name: how a restarted agent stops an orphan.
	StopPolicies map[string]StopPolicy `json:"stop_policies,omitempty"`
}

// AgentRecordPath is .beadsctl/agent.json in the project folder dir.
func AgentRecordPath(dir string) string { return agentRecordPath(dir) }

func agentRecordPath(dir string) string { return filepath.Join(dir, StateDir, "agent.json") }

// ReadAgentRecord reads .beadsctl/agent.json of the project folder dir. The error
// wraps os.ErrNotExist when no agent ever ran there.
func ReadAgentRecord(dir string) (AgentRecord, error) {
	var rec AgentRecord
	b, err := os.ReadFile(agentRecordPath(dir))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("parse %s: %w", agentRecordPath(dir), err)
	}
	return rec, nil
}

// recordLoop writes agent.json whenever something was marked dirty, until ctx is done.
func (a *Agent) recordLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.dirty:
			if err := a.writeRecord(); err != nil {
				a.log.Error("agent record not written", "error", err.Error())
			}
		}
	}
}

// writeRecord writes agent.json through atomicfile, mode 0600.
func (a *Agent) writeRecord() error {
	rec := AgentRecord{AgentStatus: a.AgentStatus(), UpdatedAt: time.Now().UTC(), StopPolicies: map[string]StopPolicy{}}
	for _, n := range a.snapshot() {
		if h, ok := a.lookup(n); ok {
			rec.StopPolicies[n] = h.d.Spec().Stop
		}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(agentRecordPath(a.dir), append(b, '\n'), 0o600)
}

// agProcessStart is the creation time of pid (ms precision), zero when unknown.
func agProcessStart(pid int) time.Time {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return time.Time{}
	}
	ms, err := p.CreateTime()
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// agSameProcess reports whether pid is alive (not a zombie) and was created at start.
func agSameProcess(pid int, start time.Time) bool {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return false
	}
	if st, err := p.Status(); err == nil && len(st) > 0 && st[0] == process.Zombie {
		return false
	}
	ms, err := p.CreateTime()
	if err != nil {
		return false
	}
	return agStartMatches(time.UnixMilli(ms), start)
}

// agStartMatches compares process creation times. The OS reports them in clock
// ticks (10 ms on Linux), so a few milliseconds of rounding are tolerated; a pid
// recycled within that window is not a practical concern.
func agStartMatches(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -20*time.Millisecond && d < 20*time.Millisecond
}

// reapOrphans stops, in parallel, the daemons a dead agent recorded that still run
// with the recorded start time. A pid whose start time differs was recycled: it
// is never signalled.
func (a *Agent) reapOrphans(ctx context.Context, rec AgentRecord) {
	var wg sync.WaitGroup
	for _, st := range rec.Daemons {
		if st.Pid <= 1 || st.Pid == a.pid || st.StartTime.IsZero() {
			continue
		}
		if !agSameProcess(st.Pid, st.StartTime) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.stopOrphan(st.Name, st.Pid, st.StartTime, rec.StopPolicies[st.Name])
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// stopOrphan sends the stop signal to the group of pid, waits up to the stop
// timeout, then SIGKILLs the group. It checks the start time before each signal.
func (a *Agent) stopOrphan(name string, pid int, start time.Time, stop StopPolicy) {
	timeout := stop.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if !agSameProcess(pid, start) {
		return
	}
	a.log.Warn("stopping orphaned daemon", "daemon", name, "pid", pid, "signal", stop.Signal)
	if err := agSignalGroup(pid, agParseSignal(stop.Signal)); err != nil {
		a.log.Warn("orphan signal failed", "daemon", name, "pid", pid, "error", err.Error())
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if !agSameProcess(pid, start) {
			return
		}
		<-tick.C
	}
	if agSameProcess(pid, start) {
		a.log.Warn("killing orphaned daemon", "daemon", name, "pid", pid)
		_ = agSignalGroup(pid, agKillSignal)
	}
}
