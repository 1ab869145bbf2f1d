package reconcile

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/schema"
)

// Verb is an imperative verb on daemons.
type Verb string

// The imperative verbs.
const (
	VerbStart   Verb = "start"
	VerbStop    Verb = "stop"
	VerbRestart Verb = "restart"
)

// VerbOptions tune Session.Verb.
type VerbOptions struct {
	Timeout time.Duration
	// ReplaceUnmanaged stops an unmanaged bd daemon (or a rival Dolt server)
	// holding a named daemon's workspace and starts ours, as apply's does.
	ReplaceUnmanaged bool
	// StopUnmanaged stops an unmanaged bd daemon (DefaultStopUnmanaged when nil).
	StopUnmanaged func(ctx context.Context, u Unmanaged) ([]string, error)
	// FlushDolt flushes a rival Dolt server before it is stopped (the
	// session's SessionOptions.FlushDolt when nil).
	FlushDolt   bd.FlushFunc
	EnsureAgent func(ctx context.Context) error
	Progress    func(Progress)
	Now         func() time.Time
}

// runVerb starts, stops or restarts the named daemons (every declared one when
// names is empty) and records in st whether each was stopped on purpose. A
// daemon the agent does not know is sent to it from desired, but only when
// beads.hcl did not change since apply (otherwise that is apply's job).
func runVerb(ctx context.Context, verb Verb, desired *schema.Config, names []string, live *Live, st *State, agent Agent, opts VerbOptions) ([]Outcome, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultApplyTimeout
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if st.Daemons == nil {
		st.Daemons = map[string]DaemonState{}
	}
	declared := map[string]*schema.Daemon{}
	for i := range desired.Daemons {
		declared[desired.Daemons[i].Name] = &desired.Daemons[i]
	}
	if len(names) == 0 {
		for _, d := range desired.Daemons {
			names = append(names, d.Name)
		}
		for name := range live.Daemons {
			if declared[name] == nil {
				names = append(names, name)
			}
		}
		slices.Sort(names)
	}
	if err := live.AgentAnswers(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if declared[n] == nil && !hasDaemon(live, n) {
			return nil, fmt.Errorf("no daemon %q in %s", n, desired.Path)
		}
		if err := sendable(verb, declared[n], desired.Env, n, live, st); err != nil {
			return nil, err // before the agent is started for it
		}
	}
	if verb != VerbStop {
		// A rival holding a workspace would make the start fail, and a
		// crash-looping start would overwrite the rival's files: refuse first.
		var blocking []Finding
		for _, f := range (&Plan{Drift: Findings(desired, live, false)}).Blocking() {
			if slices.Contains(names, f.Daemon) {
				blocking = append(blocking, f)
			}
		}
		if err := clearBlocking(ctx, desired, blocking, live, opts.ReplaceUnmanaged, opts.StopUnmanaged, opts.FlushDolt, progress, string(verb)); err != nil {
			return nil, err
		}
	}
	if verb != VerbStop && !live.AgentUp {
		if opts.EnsureAgent == nil {
			return nil, fmt.Errorf("the agent is not running")
		}
		progress(Progress{Step: "agent-starting"})
		if err := opts.EnsureAgent(ctx); err != nil {
			return nil, fmt.Errorf("start the agent: %w", err)
		}
		live.AgentUp = true
		live.Daemons = map[string]agentapi.Status{}
	}
	var outcomes []Outcome
	var failed int
	// Dependencies first for start and restart (a dependent waits for them),
	// dependents first for stop; the daemons of one level side by side, as
	// apply does (a stop of 250 daemons took 1.3 s one after the other).
	levels := dependencyLevels(names, desired, st)
	if verb == VerbStop {
		slices.Reverse(levels)
	}
	var mu sync.Mutex
	safeProgress := func(pr Progress) {
		mu.Lock()
		defer mu.Unlock()
		progress(pr)
	}
	for _, level := range levels {
		results := make([]Outcome, len(level))
		var wg sync.WaitGroup
		sem := make(chan struct{}, applyParallel)
		for i, n := range level {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				results[i] = Outcome{Daemon: n}
				results[i].Status, results[i].Err = runVerbOne(ctx, verb, declared[n], desired.Env, n, live, st, agent, opts.Timeout, safeProgress)
			}()
		}
		wg.Wait()
		for _, o := range results {
			failed += verbOutcome(verb, o, declared[o.Daemon], st, now, progress)
			outcomes = append(outcomes, o)
		}
	}
	if failed > 0 {
		return outcomes, fmt.Errorf("%s failed for %d of %d daemons", verb, failed, len(names))
	}
	return outcomes, nil
}

// verbOutcome records in st what a verb did to one daemon (d: as declared,
// nil when only the agent or the state knows it) and tells progress; it
// returns 1 when the verb failed for it.
func verbOutcome(verb Verb, o Outcome, d *schema.Daemon, st *State, now func() time.Time, progress func(Progress)) int {
	n := o.Daemon
	if o.Err != nil {
		progress(Progress{Daemon: n, Step: "failed", Status: o.Status, Err: o.Err})
		return 1
	}
	ds, ok := st.Daemons[n]
	if !ok && d != nil {
		ds = record(st, d, o.Status, now())
	}
	ds.Stopped, ds.Destroyed = verb == VerbStop, false
	if o.Status.State == agentapi.StateCompleted && st.SameDigest(o.Status.SpecHash, ds.Hash) {
		ds.CompletedAt = o.Status.CompletedAt.UTC()
	}
	ds.Pid, ds.StartTime = o.Status.Pid, o.Status.StartTime
	if len(o.Status.Argv) > 0 {
		ds.Argv, ds.Dir, ds.EnvHash = o.Status.Argv, o.Status.Dir, o.Status.EnvHash
	}
	if ok || d != nil {
		st.Daemons[n] = ds
	}
	step := "online"
	if verb == VerbStop {
		step = "stopped"
	}
	progress(Progress{Daemon: n, Step: step, Status: o.Status})
	return 0
}

func hasDaemon(live *Live, name string) bool {
	_, ok := live.Daemons[name]
	return ok
}

// sendable refuses a start or restart that would send the agent a daemon it
// does not run (d, under the profile env) when that is apply's job: beads.hcl
// no longer declares it, or declares it otherwise than the last apply did.
func sendable(verb Verb, d *schema.Daemon, env, name string, live *Live, st *State) error {
	if verb == VerbStop || hasDaemon(live, name) {
		return nil
	}
	s, applied := st.Daemons[name]
	switch {
	case d == nil:
		return fmt.Errorf("daemon %q is no longer in beads.hcl", name)
	case applied && !st.SameDigest(s.Hash, d.Hash) && st.Env != env:
		flag := "--no-env"
		if env != "" {
			flag = "--env " + env
		}
		return fmt.Errorf("daemon %q was applied under %s; this %s is under %s: beadsctl apply %s switches it, or %s it without --env or --no-env to run it as applied",
			name, DescribeProfile(st.Env), verb, DescribeProfile(env), flag, verb)
	case applied && !st.SameDigest(s.Hash, d.Hash):
		return fmt.Errorf("daemon %q changed in beads.hcl since the last apply; run beadsctl apply", name)
	}
	return nil
}

// runVerbOne runs verb on one daemon; d is its declaration under the profile
// env (nil when beads.hcl no longer declares it).
func runVerbOne(ctx context.Context, verb Verb, d *schema.Daemon, env, name string, live *Live, st *State, agent Agent, timeout time.Duration, progress func(Progress)) (agentapi.Status, error) {
	if verb == VerbStop {
		if !live.AgentUp || !hasDaemon(live, name) {
			return agentapi.Status{Name: name, State: agentapi.StateStopped}, nil
		}
		progress(Progress{Daemon: name, Step: "stopping"})
		s, err := agent.Stop(ctx, name)
		if err != nil {
			return agentapi.Status{}, fmt.Errorf("stop daemon %q: %w", name, err)
		}
		if s.State != agentapi.StateStopped {
			// Recorded only once the agent says so.
			return s, fmt.Errorf("stop daemon %q: the agent reports it %s, not stopped", name, s.State)
		}
		return s, nil
	}
	if !hasDaemon(live, name) {
		if err := sendable(verb, d, env, name, live, st); err != nil {
			return agentapi.Status{}, err
		}
		progress(Progress{Daemon: name, Step: "starting"})
		if _, err := agent.Put(ctx, SpecFor(*d, live.Beads[name].Installed, st.key)); err != nil {
			return agentapi.Status{}, fmt.Errorf("send daemon %q to the agent: %w", name, err)
		}
	}
	var err error
	switch {
	case verb == VerbRestart && hasDaemon(live, name):
		progress(Progress{Daemon: name, Step: "restarting"})
		_, err = agent.Restart(ctx, name)
	case hasDaemon(live, name):
		progress(Progress{Daemon: name, Step: "starting"})
		_, err = agent.Start(ctx, name)
	}
	if err != nil {
		return agentapi.Status{}, fmt.Errorf("%s daemon %q: %w", verb, name, err)
	}
	return waitOnline(ctx, agent, d, name, timeout, 0)
}

// agentExitWait bounds how long Destroy waits for a shut-down agent to exit.
const agentExitWait = 10 * time.Second

// awaitAgentExit waits until no live process holds the agent's lock of dir,
// for at most max; it returns the holder's pid when one still does.
func awaitAgentExit(ctx context.Context, dir string, max time.Duration) (int, error) {
	pid, err := agentapi.AgentLockHolder(dir)
	if err != nil || pid == 0 {
		return pid, err
	}
	h, err := proc.Open(pid)
	if err != nil {
		return agentapi.AgentLockHolder(dir) // gone already, or a question for the lock again
	}
	wctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	if err := h.WaitGone(wctx); err != nil && ctx.Err() != nil {
		return pid, ctx.Err()
	}
	return agentapi.AgentLockHolder(dir)
}

// Destroyer is what Destroy needs of the agent's client.
type Destroyer interface {
	Agent
	Shutdown(ctx context.Context) error
}

// destroyAll stops every daemon and the agent, removes the agent's socket and the
// stale bd files of every bd workspace, and records in st that nothing runs.
// Daemons stay in st, stopped on purpose, so that apply starts them again.
func destroyAll(ctx context.Context, desired *schema.Config, live *Live, st *State, agent Destroyer, progress func(Progress)) error {
	if progress == nil {
		progress = func(Progress) {}
	}
	if err := live.AgentAnswers(); err != nil {
		return err
	}
	if live.AgentUp {
		names := make([]string, 0, len(live.Daemons))
		for n := range live.Daemons {
			names = append(names, n)
		}
		names = dependencyOrder(names, desired, st, true)
		// An agent of another control API refuses a delete (only status and
		// shutdown keep their meaning across APIs): its shutdown stops every
		// daemon it runs, gracefully, before it answers. One from before the
		// handshake (API 0) names none and refuses nothing.
		oneByOne := live.Agent.API == agentapi.APIVersion || live.Agent.API == 0
		if oneByOne {
			for _, n := range names {
				progress(Progress{Daemon: n, Step: "stopping"})
				if _, err := agent.Delete(ctx, n); err != nil {
					return fmt.Errorf("stop daemon %q: %w", n, err)
				}
				progress(Progress{Daemon: n, Step: "stopped"})
			}
		}
		progress(Progress{Step: "agent-stopping"})
		if err := agent.Shutdown(ctx); err != nil {
			return fmt.Errorf("shut the agent down: %w", err)
		}
		if !oneByOne {
			for _, n := range names {
				progress(Progress{Daemon: n, Step: "stopped"})
			}
		}
	}
	// The socket and lock belong to the agent while it lives: wait for it to
	// exit (it removes its socket itself), and leave them alone if it does not.
	if pid, err := awaitAgentExit(ctx, desired.Dir, agentExitWait); err != nil {
		return err
	} else if pid > 0 {
		return fmt.Errorf("agent pid %d still runs %v after it was told to shut down; its socket is left alone", pid, agentExitWait)
	}
	if sock := agentapi.SocketPath(desired.Dir); sock != "" {
		if err := os.Remove(sock); err == nil {
			progress(Progress{Step: "removed", Detail: sock})
		}
	}
	for i := range desired.Daemons {
		d := &desired.Daemons[i]
		if !d.IsBeads() {
			continue
		}
		removed, err := bd.CleanStale(d.Dir)
		if err != nil {
			return fmt.Errorf("clean %s/.beads: %w", d.Dir, err)
		}
		for _, r := range removed {
			progress(Progress{Daemon: d.Name, Step: "removed", Detail: r})
		}
	}
	for n, ds := range st.Daemons {
		ds.Stopped, ds.Destroyed, ds.Pid, ds.StartTime = true, true, 0, time.Time{}
		ds.CompletedAt = time.Time{} // a one-shot runs again at the next apply
		st.Daemons[n] = ds
	}
	return nil
}
