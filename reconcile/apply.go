package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/schema"
)

// Agent is what Apply and the imperative verbs need of the agent's client.
type Agent interface {
	StatusSource
	// Shutdown stops every daemon and the agent (apply replaces an agent of
	// another version so).
	Shutdown(ctx context.Context) error
	Put(ctx context.Context, spec agentapi.Spec) (agentapi.PutResult, error)
	Delete(ctx context.Context, name string) (agentapi.Status, error)
	Restart(ctx context.Context, name string) (agentapi.Status, error)
	Start(ctx context.Context, name string) (agentapi.Status, error)
	Stop(ctx context.Context, name string) (agentapi.Status, error)
	// Wait waits until the daemon is online (and healthy when asked), and fails
	// when it is errored or stopped or the timeout passes, with its last status.
	Wait(ctx context.Context, name string, w WaitFor) (agentapi.Status, error)
}

// WaitFor is what Agent.Wait waits for.
type WaitFor struct {
	// Healthy: online and, when it has a health check, healthy.
	Healthy bool
	// Timeout bounds the wait.
	Timeout time.Duration
	// NotPid > 0 is a run that does not count (a restart the agent makes
	// itself is awaited so).
	NotPid int
	// Settle, when set, is how long the run must have run without exiting
	// (health.online_after); 0 is the agent's early-exit window.
	Settle time.Duration
}

// DefaultApplyTimeout bounds the wait for one daemon to come online.
const DefaultApplyTimeout = 30 * time.Second

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Timeout bounds the wait for each daemon to come online (DefaultApplyTimeout when 0).
	Timeout time.Duration
	// ReplaceUnmanaged stops unmanaged bd daemons holding a workspace instead of refusing.
	ReplaceUnmanaged bool
	// EnsureAgent starts the agent; Apply calls it when the agent is down and
	// something has to run.
	EnsureAgent func(ctx context.Context) error
	// StopUnmanaged stops an unmanaged bd daemon and returns the stale files it
	// removed (DefaultStopUnmanaged when nil).
	StopUnmanaged func(ctx context.Context, u Unmanaged) ([]string, error)
	// FlushDolt flushes a rival Dolt server before ReplaceUnmanaged stops it
	// (the session's SessionOptions.FlushDolt when nil).
	FlushDolt bd.FlushFunc
	// Progress, when set, hears of every step as it happens.
	Progress func(Progress)
	// Now is the clock for applied_at (time.Now when nil).
	Now func() time.Time
	// WriteFile writes the files of the plan's Edits (atomicfile.Write when nil).
	WriteFile func(path string, data []byte, perm os.FileMode) error
}

// Progress is one step of an apply.
type Progress struct {
	Daemon string `json:"daemon"`
	// Step is "stopping", "starting", "restarting", "updating", "online",
	// "stopped", "failed", "replacing-unmanaged" or "agent-starting".
	Step   string          `json:"step"`
	Status agentapi.Status `json:"status"`
	Detail string          `json:"detail,omitempty"`
	Err    error           `json:"-"`
}

// Outcome is the result of one change.
type Outcome struct {
	Daemon  string          `json:"daemon"`
	Actions []Action        `json:"actions"`
	Status  agentapi.Status `json:"status"`
	Err     error           `json:"-"`
}

// UnmanagedError refuses an apply or a verb while something that Plan.Blocking
// returns stands in the way: an unmanaged bd daemon holding a workspace, a
// rival Dolt server, a bd daemon's folder that is no workspace, a taken port.
type UnmanagedError struct {
	Found []Finding
	// Command is the beadsctl command refused ("apply" when empty): the way out
	// offered is its --replace-unmanaged.
	Command string
}

func (e *UnmanagedError) Error() string {
	var b strings.Builder
	rivals, unmanaged := false, false
	command := e.Command
	if command == "" {
		command = "apply"
	}
	for _, f := range e.Found {
		switch f.Kind {
		case KindBdWorkspace:
			fmt.Fprintf(&b, "daemon %q: %s; ", f.Daemon, f.Actual)
			continue
		case KindDoltRival:
			rivals = true
			fmt.Fprintf(&b, "daemon %q: %s serves %s; ", f.Daemon, f.Actual, strings.TrimPrefix(f.Expected, "no dolt sql-server but ours on "))
			continue
		case KindDoltPortTaken, KindDoltMissing:
			fmt.Fprintf(&b, "daemon %q: %s; ", f.Daemon, f.Actual)
			continue
		}
		unmanaged = true
		fmt.Fprintf(&b, "daemon %q: %s holds %s; ", f.Daemon, f.Actual, strings.TrimPrefix(f.Expected, "no bd daemon but ours in "))
	}
	switch {
	case rivals:
		fmt.Fprintf(&b, "refusing to start a second server on the same data dir (Dolt would refuse it: the database is locked); stop it (bd dolt stop), or run beadsctl %s --replace-unmanaged to flush it, stop it (its identity checked) and start ours", command)
	case unmanaged:
		fmt.Fprintf(&b, "refusing to start a second daemon that bd would refuse (\"daemon already running\"); stop it (bd daemon --stop), or run beadsctl %s --replace-unmanaged to stop it gracefully and take over", command)
	default:
		return strings.TrimSuffix(b.String(), "; ")
	}
	return b.String()
}

// ErrApplyFailed is wrapped when some changes failed (the others are recorded).
var ErrApplyFailed = errors.New("apply failed")

// applyPlan executes the plan through the agent and records in st what it did; the
// Session writes st (what succeeded stays recorded even when Apply fails).
// desired must be the config the plan was computed from; live what Observe saw.
func applyPlan(ctx context.Context, desired *schema.Config, p *Plan, live *Live, st *State, agent Agent, opts ApplyOptions) ([]Outcome, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultApplyTimeout
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	for i := range desired.Daemons {
		st.Rekey(&desired.Daemons[i]) // values an older beadsctl hashed without the key
	}
	if err := live.AgentAnswers(); err != nil {
		return nil, err
	}
	if st.Daemons == nil {
		st.Daemons = map[string]DaemonState{}
	}
	if err := clearBlocking(ctx, desired, p.Blocking(), live, opts.ReplaceUnmanaged, opts.StopUnmanaged, opts.FlushDolt, progress, "apply"); err != nil {
		return nil, err
	}
	declared := map[string]*schema.Daemon{}
	for i := range desired.Daemons {
		declared[desired.Daemons[i].Name] = &desired.Daemons[i]
	}
	if len(p.Edits) > 0 {
		if opts.WriteFile == nil {
			opts.WriteFile = atomicfile.Write
		}
		if err := applyEdits(p.Edits, opts.WriteFile); err != nil {
			return nil, err
		}
		for _, e := range p.Edits {
			progress(Progress{Step: "edited", Detail: e.Path + ": " + e.Key + " = " + e.After})
		}
	}
	agentUp := live.AgentUp
	if p.Agent != nil && agentUp {
		progress(Progress{Step: "agent-replacing", Detail: fmt.Sprintf("beadsctl %s -> %s", p.Agent.Version, p.Agent.WantVersion)})
		if err := agent.Shutdown(ctx); err != nil {
			return nil, fmt.Errorf("replace the agent: shut it down: %w", err)
		}
		if pid, err := awaitAgentExit(ctx, desired.Dir, agentExitWait); err != nil {
			return nil, fmt.Errorf("replace the agent: %w", err)
		} else if pid > 0 {
			return nil, fmt.Errorf("replace the agent: pid %d still runs %v after it was told to shut down", pid, agentExitWait)
		}
		agentUp = false
	}
	needAgent := false
	for i := range p.Changes {
		c := &p.Changes[i]
		needAgent = needAgent || c.Is(ActionCreate) || c.Is(ActionUpdate) || c.Replace()
	}
	if needAgent && !agentUp {
		if opts.EnsureAgent == nil {
			return nil, errors.New("the agent is not running")
		}
		progress(Progress{Step: "agent-starting"})
		if err := opts.EnsureAgent(ctx); err != nil {
			return nil, fmt.Errorf("start the agent: %w", err)
		}
		agentUp = true
	}

	var outcomes []Outcome
	failed := 0
	// Stops first: a daemon removed from the file may hold what another needs;
	// dependents before the daemons they depend on.
	byName := map[string]*Change{}
	var deleted []string
	for i := range p.Changes {
		c := &p.Changes[i]
		byName[c.Name] = c
		if c.Is(ActionDelete) {
			deleted = append(deleted, c.Name)
		}
	}
	for _, name := range dependencyOrder(deleted, desired, st, true) {
		c := byName[name]
		o := Outcome{Daemon: c.Name, Actions: c.Actions}
		if c.Live != nil && agentUp {
			progress(Progress{Daemon: c.Name, Step: "stopping"})
			if _, err := agent.Delete(ctx, c.Name); err != nil {
				o.Err = fmt.Errorf("stop daemon %q: %w", c.Name, err)
			}
		}
		if o.Err == nil {
			delete(st.Daemons, c.Name)
			progress(Progress{Daemon: c.Name, Step: "stopped"})
		} else {
			failed++
			progress(Progress{Daemon: c.Name, Step: "failed", Err: o.Err})
		}
		outcomes = append(outcomes, o)
	}
	// Starts, updates and restarts run side by side (a few at a time), each
	// waiting for its own daemon; progress lines stay whole and the outcomes
	// keep the plan's order.
	// A daemon is sent to the agent once the daemons it depends on were
	// (the agent starts it when their conditions hold), and its wait is
	// longer by a timeout per level of dependencies it may wait for.
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		sem     = make(chan struct{}, applyParallel)
		results = make([]*Outcome, len(p.Changes))
		sent    = map[string]chan struct{}{}
	)
	for i := range p.Changes {
		if c := &p.Changes[i]; !c.Is(ActionDelete) && !c.Is(ActionNoop) && declared[c.Name] != nil {
			sent[c.Name] = make(chan struct{})
		}
	}
	level := levelOf(dependencyLevels(slices.Collect(maps.Keys(declared)), desired, st))
	safeProgress := func(pr Progress) {
		mu.Lock()
		defer mu.Unlock()
		progress(pr)
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		d := declared[c.Name]
		if c.Is(ActionDelete) || d == nil {
			continue
		}
		if c.Is(ActionNoop) {
			a, hosted := live.Daemons[c.Name]
			hosted = hosted && agentUp
			s, inState := st.Daemons[c.Name]
			switch _, recorded := completedOneShot(d, st); {
			case recorded && !hosted && agentUp:
				// Recorded as completed: the agent hosts it as completed, so
				// that its dependents find it, without running it again.
				spec := SpecFor(*d, live.Beads[d.Name].Installed, st.key)
				spec.Completed = true
				if _, err := agent.Put(ctx, spec); err != nil {
					failed++
					progress(Progress{Daemon: c.Name, Step: "failed", Err: fmt.Errorf("send daemon %q to the agent: %w", c.Name, err)})
				}
			case !inState && hosted:
				st.Daemons[c.Name] = record(st, d, a, now())
			case inState && hosted && s.CompletedAt.IsZero() && a.State == agentapi.StateCompleted && st.SameDigest(a.SpecHash, d.Hash):
				s.CompletedAt = a.CompletedAt.UTC() // it completed since the last apply
				st.Daemons[c.Name] = s
			}
			continue
		}
		o := &Outcome{Daemon: c.Name, Actions: c.Actions}
		results[i] = o
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, dep := range d.DependsOn {
				if ch, ok := sent[dep.Daemon]; ok {
					select {
					case <-ch:
					case <-ctx.Done():
					}
				}
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			var once sync.Once
			markSent := func() { once.Do(func() { close(sent[c.Name]) }) }
			defer markSent()
			o.Status, o.Err = applyOne(ctx, d, c, live, st.key, agent, opts.Timeout*time.Duration(1+level[c.Name]), safeProgress, markSent)
			if o.Err != nil {
				safeProgress(Progress{Daemon: c.Name, Step: "failed", Status: o.Status, Err: o.Err})
			} else {
				safeProgress(Progress{Daemon: c.Name, Step: "online", Status: o.Status})
			}
		}()
	}
	wg.Wait()
	for i, o := range results {
		if o == nil {
			continue
		}
		d := declared[p.Changes[i].Name]
		if o.Err != nil {
			failed++
		}
		if o.Err == nil || st.SameDigest(o.Status.SpecHash, d.Hash) {
			// The agent runs this spec now, healthy or not: record it.
			st.Daemons[o.Daemon] = record(st, d, o.Status, now())
		}
		outcomes = append(outcomes, *o)
	}
	st.Env = desired.Env
	if len(p.Targets) == 0 {
		// The config of the last complete apply: a targeted one applied
		// only part of it (Target refuses one under another profile).
		st.ConfigHash = ConfigHash(desired)
	}
	if failed > 0 {
		return outcomes, fmt.Errorf("%w: %d of %d changes failed", ErrApplyFailed, failed, len(outcomes))
	}
	return outcomes, nil
}

// applyParallel is how many daemons apply converges at once: each is mostly a
// long-poll on the agent, so 50 daemons settle in about one settle time.
const applyParallel = 64

// applyOne sends d to the agent (calling sent once it has it, started or
// restarted as c says) and waits for it.
func applyOne(ctx context.Context, d *schema.Daemon, c *Change, live *Live, key []byte, agent Agent, timeout time.Duration, progress func(Progress), sent func()) (agentapi.Status, error) {
	spec := SpecFor(*d, live.Beads[d.Name].Installed, key)
	step := "starting"
	switch {
	case c.Replace():
		step = "restarting"
	case c.Is(ActionUpdate):
		step = "updating"
	}
	progress(Progress{Daemon: d.Name, Step: step, Detail: c.Reason})
	res, err := agent.Put(ctx, spec)
	if err != nil {
		return agentapi.Status{}, fmt.Errorf("send daemon %q to the agent: %w", d.Name, err)
	}
	notPid := 0
	switch {
	case c.Follows != "" && res.Action != agentapi.ActionRestarted && res.Action != agentapi.ActionCreated:
		// The agent restarts it with its dependency: wait for the new run.
		if c.Live != nil {
			notPid = c.Live.Pid
		}
	case c.Replace() && res.Action != agentapi.ActionRestarted && res.Action != agentapi.ActionCreated:
		// The spec did not change (a version mismatch, an errored daemon, a process
		// changed under us): restart it explicitly.
		if _, err := agent.Restart(ctx, d.Name); err != nil {
			return res.Status, fmt.Errorf("restart daemon %q: %w", d.Name, err)
		}
	case c.Is(ActionCreate) && res.Action != agentapi.ActionCreated && res.Action != agentapi.ActionRestarted &&
		(c.Start || res.Status.State == agentapi.StateStopped || res.Status.State == agentapi.StateErrored):
		if _, err := agent.Start(ctx, d.Name); err != nil {
			return res.Status, fmt.Errorf("start daemon %q: %w", d.Name, err)
		}
	}
	sent()
	return waitOnline(ctx, agent, d, d.Name, timeout, notPid)
}

// waitOnline waits until the daemon is online and, when it has a health check,
// healthy: the agent's first checks run fast while a daemon starts, and a
// beads-rpc check passes only when bd answers for the pid the agent started.
//
// A daemon without a check is online once its program runs and has not
// exited within the agent's early-exit window (20 ms of its own time), or,
// with health.online_after, once it has run that long.
func waitOnline(ctx context.Context, agent Agent, d *schema.Daemon, name string, timeout time.Duration, notPid int) (agentapi.Status, error) {
	w := WaitFor{Timeout: timeout, NotPid: notPid}
	if d != nil {
		w.Healthy = d.Health.Check != "" && d.Health.Check != "none"
		w.Settle = d.Health.OnlineAfter
	}
	check := w.Healthy
	s, err := agent.Wait(ctx, name, w)
	if err != nil {
		if check && s.State == agentapi.StateOnline {
			return s, fmt.Errorf("daemon %q is online but not healthy after %v: %s", name, timeout, s.Health.Message)
		}
		return s, fmt.Errorf("daemon %q did not come online: %w", name, err)
	}
	return s, nil
}

// record is the state entry of d as the agent runs it.
func record(st *State, d *schema.Daemon, s agentapi.Status, at time.Time) DaemonState {
	ds := DaemonState{Spec: cloneSpec(*d), plain: true, Hash: d.Hash, AppliedAt: at.UTC(), Pid: s.Pid, StartTime: s.StartTime,
		Argv: s.Argv, Dir: s.Dir, EnvHash: s.EnvHash}
	if s.State == agentapi.StateCompleted && st.SameDigest(s.SpecHash, d.Hash) {
		ds.CompletedAt = s.CompletedAt.UTC()
	}
	return ds
}

// completedOneShot reports whether d is a one-shot whose success with its
// current spec the state recorded: it is not run again.
func completedOneShot(d *schema.Daemon, st *State) (DaemonState, bool) {
	s, ok := st.Daemons[d.Name]
	return s, ok && d.Restart.Policy == agentapi.PolicyOnce && st.SameDigest(s.Hash, d.Hash) && !s.CompletedAt.IsZero()
}

// DefaultStopUnmanaged stops an unmanaged bd daemon through bd.StopDaemon: only
// when its pid is proven to hold daemon.lock with the start time Observe saw
// (an unknown one is refused), SIGTERM, up to timeout for it to release the
// lock, SIGKILL otherwise, then the stale bd.sock and daemon.pid removed.
func DefaultStopUnmanaged(ctx context.Context, u Unmanaged, timeout time.Duration) ([]string, error) {
	if u.Pid <= 0 {
		return nil, errors.New("its pid is unknown; stop it by hand")
	}
	if u.StartTimeMS == 0 && u.StartTimeErr != "" {
		return nil, fmt.Errorf("%w: the start time of pid %d could not be read when it was seen (%s)", bd.ErrNotProven, u.Pid, u.StartTimeErr)
	}
	return bd.StopDaemon(ctx, u.Workspace, u.Pid, u.StartTime(), bd.StopOptions{Timeout: timeout, Kill: true})
}

var _ Destroyer = (*Client)(nil)

// clearBlocking refuses (an UnmanagedError for command) while blocking
// findings stand, or with replace stops what --replace-unmanaged may stop:
// unmanaged bd daemons (through stop, DefaultStopUnmanaged when nil) and rival
// Dolt servers. A folder that is no workspace, a taken port or a missing dolt
// is refused either way: stopping something would not mend it.
func clearBlocking(ctx context.Context, desired *schema.Config, blocking []Finding, live *Live, replace bool,
	stop func(ctx context.Context, u Unmanaged) ([]string, error), flush bd.FlushFunc, progress func(Progress), command string) error {
	if len(blocking) == 0 {
		return nil
	}
	if !replace {
		return &UnmanagedError{Found: blocking, Command: command}
	}
	if stop == nil {
		stop = func(ctx context.Context, u Unmanaged) ([]string, error) {
			return DefaultStopUnmanaged(ctx, u, 10*time.Second)
		}
	}
	for _, f := range blocking {
		if f.Kind == KindDoltPortTaken || f.Kind == KindDoltMissing || f.Kind == KindBdWorkspace {
			return &UnmanagedError{Found: []Finding{f}, Command: command}
		}
	}
	stoppedRivals := map[string]bool{}
	for _, f := range blocking {
		if f.Kind == KindDoltRival {
			if stoppedRivals[f.Daemon] {
				continue
			}
			stoppedRivals[f.Daemon] = true
			if err := replaceDoltRivals(ctx, declaredDaemon(desired, f.Daemon), live.Dolt[f.Daemon], flush, progress); err != nil {
				return err
			}
			continue
		}
		u := live.Beads[f.Daemon].Unmanaged
		progress(Progress{Daemon: f.Daemon, Step: "replacing-unmanaged", Detail: u.String()})
		if _, err := stop(ctx, *u); err != nil {
			return fmt.Errorf("replace unmanaged bd daemon pid %d: %w", u.Pid, err)
		}
	}
	return nil
}
