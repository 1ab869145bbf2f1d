package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/proc"
)

// recordLoop writes agent.json whenever something was marked dirty, until ctx is done.
//
// A write that fails (a full disk) is tried again, after 1 s doubling up to
// recordRetryMax, until one succeeds, whether or not anything changed since:
// once the disk has space again agent.json is brought up to date by itself.
func (a *Agent) recordLoop(ctx context.Context) {
	var (
		retry   *time.Timer
		retryC  <-chan time.Time
		backoff time.Duration
	)
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	var flushed chan error // the flushRecord waiting for the next write
	for {
		if flushed == nil {
			select {
			case <-ctx.Done():
				return
			case <-a.dirty:
			case <-retryC:
			case flushed = <-a.flush:
			}
		}
		t0 := time.Now()
		err := a.writeRecord()
		took := time.Since(t0)
		if flushed != nil {
			flushed <- err
			flushed = nil
		}
		if a.recordWritten != nil {
			a.recordWritten()
		}
		switch {
		case err == nil && backoff > 0:
			a.log.Info("agent record written again")
			backoff = 0
		case err != nil:
			if backoff == 0 {
				a.log.Error("agent record not written", "error", err.Error())
			}
			backoff = min(max(2*backoff, time.Second), recordRetryMax)
		}
		if retry != nil {
			retry.Stop()
		}
		retry, retryC = nil, nil
		if backoff > 0 {
			retry = time.NewTimer(backoff)
			retryC = retry.C
			continue
		}
		// Paced: the changes of the next few times the write took are
		// written together. A record of 1,000 daemons is ~1 MB (tens of ms
		// with its fsyncs), and while 1,000 daemons started it was written
		// again for every change: the agent spent its time on agent.json.
		pace := time.NewTimer(min(max(recordPaceMin, 4*took), recordPaceMax))
		select {
		case <-ctx.Done():
			pace.Stop()
			return
		case <-pace.C:
		case flushed = <-a.flush: // written at once, not at the pace's end
			pace.Stop()
		}
	}
}

// flushRecord has agent.json written now, and waits until it is (or ctx is
// done): for what a restarted agent needs (the alerts and the metrics
// address that apply sets, which `agent --restore` sets again) and which
// must not be lost to an agent killed in the paced write's few ms. Once the
// record loop has ended it returns at once (Run writes the last record).
func (a *Agent) flushRecord(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case a.flush <- reply:
	case <-a.recordEnded:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The record loop waits between two writes four times what the last took,
// within these bounds.
const (
	recordPaceMin = 20 * time.Millisecond
	recordPaceMax = time.Second
)

// recordRetryMax caps the delay between tries of a failing agent.json write.
const recordRetryMax = 30 * time.Second

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
	return atomicfile.Write(AgentRecordPath(a.dir), append(b, '\n'), 0o600)
}

// reapOrphans stops, in parallel, the daemons a dead agent recorded that still run
// with the recorded start time. A pid whose start time differs was recycled, and
// one recorded without a start time is not proven ours: neither is signalled.
func (a *Agent) reapOrphans(ctx context.Context, rec AgentRecord) {
	var wg sync.WaitGroup
	for _, st := range rec.Daemons {
		h := proc.Handle{Pid: st.Pid, Start: st.StartTime}
		if st.Pid <= 1 || st.Pid == a.pid || h.Verify() != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.stopOrphan(ctx, st.Name, h, rec.StopPolicies[st.Name])
		}()
	}
	wg.Wait()
}

// stopOrphan sends the stop signal to the group that h leads, waits up to the
// stop timeout, then SIGKILLs the group. proc proves h's identity before each
// signal.
func (a *Agent) stopOrphan(ctx context.Context, name string, h proc.Handle, stop StopPolicy) {
	timeout := stop.Timeout
	if timeout <= 0 {
		timeout = defaultStopTimeout
	}
	sig, err := ParseSignal(stop.Signal)
	if err != nil {
		sig, _ = ParseSignal("") // SIGTERM
	}
	a.log.Warn("stopping orphaned daemon", "daemon", name, "pid", h.Pid, "signal", fmt.Sprint(sig))
	if err := h.SignalGroup(sig); err != nil {
		if !errors.Is(err, proc.ErrGone) {
			a.log.Warn("orphan not signalled", "daemon", name, "pid", h.Pid, "error", err.Error())
		}
		return
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if h.WaitGone(wctx) == nil || ctx.Err() != nil {
		return
	}
	a.log.Warn("killing orphaned daemon", "daemon", name, "pid", h.Pid)
	if err := h.SignalGroup(killSignal); err != nil && !errors.Is(err, proc.ErrGone) {
		a.log.Warn("orphan not killed", "daemon", name, "pid", h.Pid, "error", err.Error())
	}
}
