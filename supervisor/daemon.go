package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/doltsql"
	"github.com/beadsctl/beadsctl/internal/proc"
)

// DaemonOptions are the seams of a Daemon. Zero values select the real thing.
type DaemonOptions struct {
	Logger *slog.Logger
	// Runner starts processes (default ExecRunner).
	Runner Runner
	// Memory reads the RSS of a process group (default GroupMemory, which also
	// gives the group's CPU percent; a custom Memory leaves CPUPercent at 0).
	Memory MemoryFunc
	// StartTime reads the OS creation time of a pid (default proc.StartTime).
	// It identifies the child before every signal.
	StartTime func(pid int) (time.Time, error)
	// LookupEnv reads the agent's environment for the child's minimal base
	// (default os.LookupEnv).
	LookupEnv func(key string) (string, bool)
	// Deps reads the status of the daemons this one depends on (the agent's
	// lookup); nil leaves Spec.DependsOn unenforced. The agent calls
	// DepsChanged when one of them changes.
	Deps DepLookup
	// Events receives each event of the daemon (events.go); it must not
	// block (the agent's queues it). nil records none beyond Status.LastEvent.
	Events func(Event)
	// Sampler reads the memory of the daemon's runs; an agent shares one
	// between its daemons (default: the daemon's own).
	Sampler *MemorySampler
}

// Default stop timeout before SIGKILL to the group.
const defaultStopTimeout = 5 * time.Second

// killWait bounds the wait for a process group after SIGKILL: a process stuck
// in the kernel (uninterruptible sleep) is abandoned with an error in the log.
const killWait = 10 * time.Second

// Daemon keeps one process in the state its Spec describes.
//
// One goroutine (Run's loop) owns the process: it starts it, waits for it,
// applies the restart rules (restart.go) and stops it. The methods only record
// what the caller wants and wake the loop, so they never block on a process,
// except Stop, which waits for the result. Watchers of the running process
// (memory sampler, health checks) report to the loop through a channel.
type Daemon struct {
	opts DaemonOptions
	log  *slog.Logger

	mu      sync.Mutex
	spec    Spec
	st      Status
	changed chan struct{}
	running bool // Run was called
	runDone chan struct{}

	// What callers asked for, consumed by the loop.
	want       bool   // false after Stop, true after Start and Restart
	startReq   bool   // Start: run again after a stop, an exit or errored
	restartReq string // a restart reason
	resetUnst  bool   // reset the unstable count at the next start
	// unstable counts the unstable runs in a row (restart.go rule 1); the
	// status shows UnstableRestarts, the restarts that followed them, so that
	// it never exceeds Restarts (an errored daemon's last run is not restarted).
	unstable int
	rapid    int  // runs in a row shorter than the restart floor's window (restart.go rule 5)
	reconfig bool // Update in place: restart the watchers with the new spec
	kick     chan struct{}
	depKick  chan struct{} // DepsChanged: a dependency's status changed
	sink     *logSink      // set while Run runs
	// runExit is closed at the exit of the run st.Pid names (exitedOf): a
	// wait told of the exit before the loop records it (runEnded).
	runExit <-chan struct{}
}

// runEnded reports whether the run of pid is over: its process has exited
// (the runner tells of it before the reap, and before the loop records it
// in the status), or pid is no longer the daemon's run.
func (d *Daemon) runEnded(pid int) bool {
	d.mu.Lock()
	cur, ch := d.st.Pid, d.runExit
	d.mu.Unlock()
	if cur != pid || ch == nil {
		return cur != pid
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// NewDaemon returns a Daemon for spec; nothing runs until Run.
func NewDaemon(spec Spec, opts DaemonOptions) *Daemon {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Runner == nil {
		opts.Runner = ExecRunner{}
	}
	if opts.StartTime == nil {
		opts.StartTime = proc.StartTime
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	d := &Daemon{
		opts:    opts,
		log:     opts.Logger.With("daemon", spec.Name),
		spec:    spec,
		changed: make(chan struct{}),
		runDone: make(chan struct{}),
		want:    true,
		kick:    make(chan struct{}, 1),
		depKick: make(chan struct{}, 1),
	}
	d.st = Status{
		Name:             spec.Name,
		State:            StateStarting,
		SpecHash:         spec.Hash,
		MemoryLimitBytes: spec.Limits.Memory,
		LastChange:       time.Now(),
	}
	return d
}

// Run starts the process and supervises it until ctx is done; then it stops the
// process gracefully (stop signal to the group, SIGKILL after the timeout), reaps it,
// and returns nil. A panic in the supervision is recovered: the process group
// is killed, the daemon marked errored and the panic returned as an error.
func (d *Daemon) Run(ctx context.Context) (err error) {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("daemon already running")
	}
	d.running = true
	logs := d.spec.Logs
	d.mu.Unlock()
	defer close(d.runDone)

	l := &loop{d: d, events: make(chan event, 4), sink: newLogSink(logs, d.setLogError), sampler: d.opts.Sampler}
	if l.sampler == nil {
		l.sampler = NewMemorySampler()
	}
	d.mu.Lock()
	d.sink = l.sink
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.sink = nil
		d.mu.Unlock()
		l.sink.close()
	}()
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("daemon loop panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			l.abort()
			d.setState(StateErrored, fmt.Sprintf("internal error: %v", r))
			err = fmt.Errorf("daemon %q: panic: %v", d.Spec().Name, r)
		}
	}()
	return l.run(ctx)
}

// Status is a snapshot of the daemon's state.
func (d *Daemon) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.st
	st.Argv = slices.Clone(st.Argv)
	if st.LastExit != nil {
		e := *st.LastExit
		e.LogTail = slices.Clone(e.LogTail)
		st.LastExit = &e
	}
	return st
}

// Spec is the spec the daemon currently runs.
func (d *Daemon) Spec() Spec {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.spec
}

// FlushLogs empties the daemon's log files (out, error, combined) in place and
// returns the paths emptied. While the daemon runs, its log writer does it, so
// that the files are reopened in append mode and no later line is lost or
// lands after a hole.
func (d *Daemon) FlushLogs() ([]string, error) {
	d.mu.Lock()
	sink, spec := d.sink, d.spec.Logs
	d.mu.Unlock()
	if sink != nil {
		if paths, err := sink.flush(); err == nil || len(paths) > 0 {
			return paths, err
		}
	}
	var paths []string
	var errs error
	for _, p := range logPaths(spec) {
		if p == "" || slices.Contains(paths, p) {
			continue
		}
		if err := truncateLog(p); err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		paths = append(paths, p)
	}
	return paths, errs
}

// Changed returns a channel that is closed at the next change of Status().State or Pid
// (and of LogError or the health verdict: its status or message).
func (d *Daemon) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// Update converges to spec: in place when only restart policy, limits, health or log
// rotation differ; otherwise a graceful restart recorded with reason "config".
// It reports whether the process is being restarted. A daemon stopped on
// purpose or by its policy keeps the new spec for its next start.
func (d *Daemon) Update(spec Spec) (restart bool) {
	d.mu.Lock()
	old := d.spec
	d.spec = spec
	d.st.SpecHash = spec.Hash
	d.st.MemoryLimitBytes = spec.Limits.Memory
	if sameProcessSpec(old, spec) {
		d.reconfig = true
		if d.st.EnvHash != "" {
			d.st.EnvHash = spec.EnvHash // the same environment, hashed again (another key)
		}
	} else if d.want && d.st.State != StateStopped {
		if d.st.State == StateErrored {
			d.resetUnst = true
		}
		d.restartReq = ReasonConfig
		restart = true
		d.leaveRestLocked("config changed") // a waiter (or a dependent) never sees the old errored or completed
	}
	d.mu.Unlock()
	d.poke()
	return restart
}

// sameProcessSpec reports whether a and b differ only in what Update changes
// in place: restart policy, limits, health check, log rotation, dependencies
// (they gate the next start) and the hashes.
func sameProcessSpec(a, b Spec) bool {
	norm := func(s Spec) Spec {
		s.Restart, s.Limits, s.Health, s.Logs.Rotate, s.Hash, s.EnvHash, s.ArgvHash = RestartPolicy{}, Limits{}, HealthSpec{}, Rotate{}, "", "", ""
		s.DependsOn, s.Completed = nil, false
		if len(s.Env) == 0 {
			s.Env = nil
		}
		if len(s.Argv) == 0 {
			s.Argv = nil
		}
		return s
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Restart restarts the process gracefully with the given reason (ReasonManual etc.);
// a stopped or errored daemon is started again and its unstable count reset.
func (d *Daemon) Restart(reason string) {
	if reason == "" {
		reason = ReasonManual
	}
	d.mu.Lock()
	d.want, d.restartReq, d.resetUnst, d.st.Stopped = true, reason, true, false
	d.leaveRestLocked("restart requested")
	d.mu.Unlock()
	d.poke()
}

// Stop stops the process gracefully and keeps it stopped (Status.Stopped) until Start
// or Restart. It returns when the process is gone or ctx is done.
func (d *Daemon) Stop(ctx context.Context) error {
	d.mu.Lock()
	d.want, d.startReq, d.restartReq = false, false, ""
	if !d.running {
		d.st.Stopped = true
		d.mu.Unlock()
		d.setState(StateStopped, "stopped by user")
		return nil
	}
	d.mu.Unlock()
	d.poke()
	for {
		st, ch := d.Status(), d.Changed()
		if st.State == StateStopped && st.Stopped {
			return nil
		}
		select {
		case <-ch:
		case <-d.runDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Start starts a stopped or errored daemon (resetting the unstable count).
func (d *Daemon) Start() {
	d.mu.Lock()
	d.want, d.startReq, d.resetUnst, d.st.Stopped = true, true, true, false
	d.leaveRestLocked("start requested")
	d.mu.Unlock()
	d.poke()
}

// leaveRestLocked marks a stopped or errored daemon as starting at once, so
// that a waiter asking right after Start or Restart never sees the old
// "stopped" and gives up; the loop then starts the process.
func (d *Daemon) leaveRestLocked(reason string) {
	if d.st.State == StateStopped || d.st.State == StateErrored || d.st.State == StateCompleted {
		d.setStateLocked(StateStarting, reason)
	}
}

// DepsChanged tells the daemon that a daemon it may depend on changed (its
// state, pid or health, or the set of daemons hosted): a daemon waiting on
// its dependencies looks again, one running checks its on_restart bindings.
func (d *Daemon) DepsChanged() {
	select {
	case d.depKick <- struct{}{}:
	default:
	}
}

func (d *Daemon) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// setState records a state change and wakes the waiters on Changed.
func (d *Daemon) setState(s State, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setStateLocked(s, reason)
}

func (d *Daemon) setStateLocked(s State, reason string) {
	prev, prevReason := d.st.State, d.st.Reason
	d.st.State, d.st.Reason, d.st.LastChange = s, reason, time.Now()
	d.notifyLocked()
	if s == prev && reason == prevReason {
		return
	}
	switch s {
	case StateErrored:
		d.emitLocked(Event{Kind: EventErrored, Reason: reason})
	case StateStopped:
		d.emitLocked(Event{Kind: EventStopped, Reason: reason})
	case StateCompleted:
		d.emitLocked(Event{Kind: EventCompleted, Reason: reason})
	case StateWaiting:
		kind := EventWaiting
		if d.st.Blocked {
			kind = EventBlocked
		}
		d.emitLocked(Event{Kind: kind, Reason: reason})
	}
}

// emit records ev as the daemon's (Status.LastEvent) and hands it to
// DaemonOptions.Events, its texts scrubbed of the environment's values.
func (d *Daemon) emit(ev Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.emitLocked(ev)
}

func (d *Daemon) emitLocked(ev Event) {
	ev.Daemon = d.spec.Name
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	scrubEvent(&ev, d.spec.Env)
	last := ev
	d.st.LastEvent = &last
	if d.opts.Events != nil {
		d.opts.Events(ev)
	}
}

func (d *Daemon) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

func (d *Daemon) setLogError(msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.LogError != msg {
		if msg != "" {
			d.log.Warn("log write failed", "error", msg)
		} else {
			d.log.Info("log write recovered")
		}
		d.st.LogError = msg
		d.notifyLocked()
	}
}

// Environment.

// baseEnvKeys are the variables of the agent's environment every child gets
// (agentapi.BaseEnvKeys).
var baseEnvKeys = agentapi.BaseEnvKeys

// buildEnv is the child's complete environment: the base, Spec.Env on top, and
// for bd BEADS_AUTO_START_DAEMON=false unless Spec.Env sets it. Sorted.
func buildEnv(spec Spec, lookup func(string) (string, bool)) []string {
	m := make(map[string]string, len(baseEnvKeys)+len(spec.Env)+1)
	for _, k := range baseEnvKeys {
		if v, ok := lookup(k); ok {
			m[k] = v
		}
	}
	for k, v := range spec.Env {
		m[k] = v
	}
	if _, ok := spec.Env["BEADS_AUTO_START_DAEMON"]; spec.Beads && !ok {
		m["BEADS_AUTO_START_DAEMON"] = "false"
	}
	env := make([]string, 0, len(m))
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// The supervision loop.

type loop struct {
	d      *Daemon
	sink   *logSink
	events chan event
	cur    *run
	timer  *time.Timer
	nextID int
	// doltUnlock releases dolt-server.lock while the loop holds it (dolt.go).
	doltUnlock func()
	// watchers counts the goroutines of goSafe: Run waits for them, so that
	// a health check's process group is killed before the agent can exit.
	watchers sync.WaitGroup
	// waiting is set while a start waits for the dependencies (deps.go);
	// pendingReason and pendingDetail are that start's.
	waiting       bool
	pendingReason string
	pendingDetail string
	// sampler reads the memory of the runs (DaemonOptions.Sampler, else the
	// daemon's own).
	sampler *MemorySampler
	// env is the environment of the last run, for the next one of the same
	// spec (baseEnv); nextRand the random part of the next run's marker,
	// drawn after a fork (~10 µs less before the next).
	env      runEnv
	nextRand string
}

// run is one start of the process.
type run struct {
	id        int
	proc      Process
	pid       int
	startTime time.Time // from the OS, for identity
	started   time.Time // for uptime
	spec      Spec
	env       []string
	out, errw *lineWriter
	cancel    context.CancelFunc // stops the watchers
	// filesReady is closed once bd's files name this run (Spec.Dolt only):
	// the health check says healthy only after, so healthy means bd finds it.
	filesReady     chan struct{}
	filesReadyOnce sync.Once
	// accepting is closed once the Dolt server first accepts connections
	// (watchDoltReady's one probe serves the health check's start phase too).
	accepting     chan struct{}
	acceptingOnce sync.Once
	// sql keeps the "sql" health check's connection between checks; closed
	// once the run is stopped or over (before the stop signal: a server
	// that is told to stop with our connection open logs it as an error).
	sql    doltsql.SQLChecker
	marker string // DaemonMarkerEnv's value for this run (escaped.go)
	// bound is the run of each dependency with on_restart = "restart" when
	// this run started: a new one restarts this run (deps.go).
	bound map[string]string
	// hold is closed once the run may copy its output into the sink (a run
	// forked before the last one's exit was recorded: restartNow).
	hold chan struct{}
	// exitedAt is when the exit was noticed, when that came before the reap
	// (restartNow): the exit's time and the uptime.
	exitedAt time.Time
	// beadsLog and beadsLogOffset are a bd daemon's own log and its size when
	// the run started: the exit report holds this run's lines only (beads.go).
	beadsLog       string
	beadsLogOffset int64
}

// event is a watcher's report about run runID.
type event struct {
	runID  int
	reason string // ReasonMemory, ReasonHealth, or "" for a panic
	msg    string
}

func (l *loop) run(ctx context.Context) error {
	d := l.d
	d.mu.Lock()
	first, done := d.want, d.spec.Completed && d.spec.Restart.Policy == PolicyOnce
	d.mu.Unlock()
	switch {
	case first && done:
		d.mu.Lock()
		d.st.CompletedAt = time.Now()
		d.setStateLocked(StateCompleted, "completed successfully with this spec before (recorded in state); not run again")
		d.mu.Unlock()
	case first:
		l.start(ctx, "", "")
	}
	for {
		l.applyIntents(ctx)
		var done <-chan struct{}
		if l.cur != nil {
			done = exitedOf(l.cur.proc)
		}
		var timerC <-chan time.Time
		if l.timer != nil {
			timerC = l.timer.C
		}
		select {
		case <-ctx.Done():
			l.cancelTimer()
			if l.cur != nil {
				l.stop(l.cur)
			}
			l.doltUnlockNow()
			l.watchers.Wait()
			d.setState(StateStopped, "supervisor stopped")
			return nil
		case <-d.kick:
		case <-d.depKick:
			switch {
			case l.waiting:
				l.start(ctx, l.pendingReason, l.pendingDetail)
			case l.cur != nil && l.cur.bound != nil:
				if dep := boundChanged(l.cur.bound, d.opts.Deps); dep != "" {
					d.log.Info("dependency restarted, restarting with it", "dependency", dep)
					l.stop(l.cur)
					l.start(ctx, ReasonDependency, "dependency "+dep+" restarted")
				}
			}
		case <-done:
			l.exited(ctx)
		case <-timerC:
			l.timer = nil
			l.start(ctx, ReasonCrash, "")
		case ev := <-l.events:
			if l.cur == nil || ev.runID != l.cur.id {
				continue // about a run that is already over
			}
			if ev.reason == evDoltReady {
				l.doltReady(l.cur)
				continue
			}
			if ev.reason == ReasonMemory {
				d.mu.Lock()
				d.emitLocked(Event{Kind: EventMemory, Pid: l.cur.pid, RSSBytes: d.st.MemoryBytes, LimitBytes: l.cur.spec.Limits.Memory, Message: ev.msg})
				d.mu.Unlock()
			}
			if ev.reason == "" {
				d.log.Error("daemon watcher panicked", "panic", ev.msg)
				l.stop(l.cur)
				l.doltUnlockNow()
				d.setState(StateErrored, "internal error: "+ev.msg)
				continue
			}
			l.stop(l.cur)
			l.start(ctx, ev.reason, ev.msg)
		}
	}
}

// applyIntents acts on what Stop, Start, Restart and Update asked for.
func (l *loop) applyIntents(ctx context.Context) {
	d := l.d
	d.mu.Lock()
	want, startReq, restartReq, reset, reconfig := d.want, d.startReq, d.restartReq, d.resetUnst, d.reconfig
	d.startReq, d.restartReq, d.resetUnst, d.reconfig = false, "", false, false
	if reset {
		d.st.UnstableRestarts, d.unstable, d.rapid = 0, 0, 0
	}
	d.mu.Unlock()

	if reconfig {
		l.sink.setSpec(d.Spec().Logs)
		if l.cur != nil {
			l.cur.cancel()
			l.cur.spec = d.Spec()
			l.watch(ctx, l.cur)
		}
	}
	switch {
	case !want:
		l.cancelTimer()
		l.waiting = false
		if l.cur != nil {
			l.stop(l.cur)
		}
		l.doltUnlockNow()
		if st := d.Status(); st.State != StateStopped || !st.Stopped {
			d.mu.Lock()
			d.st.Stopped = true
			d.setStateLocked(StateStopped, "stopped by user")
			d.mu.Unlock()
			d.log.Info("daemon stopped by user")
		}
	case restartReq != "":
		l.cancelTimer()
		if l.cur != nil {
			l.stop(l.cur)
		}
		l.start(ctx, restartReq, "")
	case startReq && l.cur == nil:
		l.cancelTimer()
		l.start(ctx, "", "")
	case reconfig && l.waiting:
		l.start(ctx, l.pendingReason, l.pendingDetail) // the dependencies may have changed
	}
}

func (l *loop) cancelTimer() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

// start starts a run; reason is why it restarts ("" for a plain start),
// detail what a watcher said of it (RestartEvent.Detail). While a dependency
// does not meet its condition, the daemon waits instead (StateWaiting, the
// reason in Status): DepsChanged tries again.
func (l *loop) start(ctx context.Context, reason, detail string) {
	d := l.d
	spec := d.Spec()
	if ok, why, blocked := gate(spec, d.opts.Deps); !ok {
		if !l.waiting {
			d.log.Info("daemon waiting for its dependencies", "reason", why)
		}
		l.waiting, l.pendingReason, l.pendingDetail = true, reason, detail
		d.mu.Lock()
		if d.st.State != StateWaiting || d.st.Reason != why || d.st.Blocked != blocked {
			d.st.Blocked = blocked
			d.setStateLocked(StateWaiting, why)
		}
		d.mu.Unlock()
		return
	}
	l.waiting = false
	r := l.newRun(spec)
	if spec.Beads {
		// A bd daemon that cannot start (no workspace, another daemon holding
		// it) exits at once whatever the restart policy: say why, start nothing.
		if why := beadsBlocked(spec); why != "" {
			why = "not started: " + why
			d.setState(StateErrored, why)
			d.log.Error("daemon not started", "reason", why)
			return
		}
		r.beadsLog = beadsLogPath(spec)
		if fi, err := os.Stat(r.beadsLog); err == nil {
			r.beadsLogOffset = fi.Size()
		}
	}
	l.beginRun(r, reason, detail)
	proc, err := l.launch(ctx, r)
	l.launched(ctx, r, reason, proc, err)
}

// newRun prepares the next run of spec (its environment, marker and log
// writers); nothing is recorded yet.
func (l *loop) newRun(spec Spec) *run {
	d := l.d
	rnd := l.nextRand
	if rnd == "" {
		rnd = markerRand()
	}
	l.nextRand = ""
	marker := spec.Name + "/" + rnd
	env := withEnv(l.baseEnv(spec), DaemonMarkerEnv, marker)
	l.nextID++
	r := &run{id: l.nextID, spec: spec, env: env, filesReady: make(chan struct{}), accepting: make(chan struct{}), marker: marker,
		bound: boundRuns(spec, d.opts.Deps)}
	r.out = &lineWriter{sink: l.sink, stream: streamOut}
	r.errw = &lineWriter{sink: l.sink, stream: streamErr}
	return r
}

// baseEnv is buildEnv's environment for spec, built again only when its Env
// or Beads changed (the base comes from the agent's own environment, which
// does not): a restart after kill -9 forks without it (~35 µs here).
func (l *loop) baseEnv(spec Spec) []string {
	c := &l.env
	if c.built == nil || c.beads != spec.Beads || !maps.Equal(c.env, spec.Env) {
		*c = runEnv{env: maps.Clone(spec.Env), beads: spec.Beads, built: buildEnv(spec, l.d.opts.LookupEnv)}
	}
	return c.built
}

// runEnv is what buildEnv made of a spec's Env and Beads (loop.baseEnv).
type runEnv struct {
	env   map[string]string // a copy of Spec.Env
	beads bool
	built []string // never changed: withEnv copies it
}

// beginRun records the start of r: the restart (reason) and its event, the
// state starting; the log sink is made r's. A run forked before (restartNow)
// starts its output copies here, after the last run's lines.
func (l *loop) beginRun(r *run, reason, detail string) {
	d := l.d
	spec := r.spec
	l.sink.setSpecIfChanged(spec.Logs)
	l.sink.resetTail()
	if r.hold != nil {
		close(r.hold)
	}
	d.mu.Lock()
	if reason == ReasonCrash {
		d.st.UnstableRestarts = d.unstable // 0 after a stable run
	}
	if reason != "" {
		d.st.Restarts++
		d.st.RestartsByReason = countReason(d.st.RestartsByReason, reason)
		d.st.LastRestartReason = reason
		ev := RestartEvent{At: time.Now(), Reason: reason, Detail: detail}
		if e := d.st.LastExit; e != nil {
			x := *e
			x.LogTail = nil // the last exit keeps its own; the history stays small
			ev.Exit = &x
		}
		d.st.RecentRestarts = appendBounded(d.st.RecentRestarts, ev, MaxRecentRestarts)
		d.emitLocked(Event{At: ev.At, Kind: EventRestarted, Reason: reason, Detail: detail})
	}
	d.st.Argv, d.st.Dir, d.st.EnvHash = slices.Clone(spec.Argv), spec.Dir, spec.EnvHash
	d.st.Health, d.st.Blocked = HealthStatus{}, false
	if healthEnabled(spec.Health) {
		d.st.Health.Status = "unknown"
	}
	d.setStateLocked(StateStarting, reason)
	d.mu.Unlock()
}

// launch forks r's process.
func (l *loop) launch(ctx context.Context, r *run) (Process, error) {
	spec := r.spec
	l.doltLock(ctx, spec, doltLockWait)
	return l.d.opts.Runner.Start(ctx, Command{Argv: spec.Argv, Dir: spec.Dir, Env: r.env, Stdout: r.out, Stderr: r.errw, Hold: r.hold})
}

// launched records the result of launch: r online (its pid, start time,
// event, watchers), or the daemon errored.
func (l *loop) launched(ctx context.Context, r *run, reason string, proc Process, err error) {
	d := l.d
	spec := r.spec
	if err != nil {
		l.doltUnlockNow()
		d.log.Error("daemon start failed", "argv", spec.Argv, "error", err)
		d.setState(StateErrored, "start: "+err.Error())
		return
	}
	r.proc, r.pid = proc, proc.Pid()
	if r.started.IsZero() {
		r.started = time.Now()
	}
	if t, err := d.opts.StartTime(r.pid); err == nil {
		r.startTime = t
	} else {
		d.log.Debug("process start time unknown", "pid", r.pid, "error", err)
	}
	l.cur = r
	l.doltStarted(r)

	d.mu.Lock()
	d.st.Pid, d.st.StartTime = r.pid, r.startTime
	d.runExit = exitedOf(proc)
	d.st.MemoryBytes, d.st.CPUPercent = 0, 0
	d.setStateLocked(StateOnline, reason)
	d.emitLocked(Event{Kind: EventStarted, Pid: r.pid, ArgvHash: spec.ArgvHash, Reason: reason})
	d.mu.Unlock()
	d.log.Info("daemon started", "pid", r.pid, "restart_reason", reason)
	l.watch(ctx, r)
	if l.nextRand == "" {
		l.nextRand = markerRand() // for the next run's marker
	}
}

// watch starts the memory sampler and the health checks of r.
func (l *loop) watch(ctx context.Context, r *run) {
	wctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	spec := r.spec // the watchers keep their own copy: Update replaces r.spec
	l.watchMemory(wctx, r, spec)
	if healthEnabled(spec.Health) {
		l.goSafe(r, func() { l.checkHealth(wctx, r, spec) })
	}
	if spec.Dolt != nil {
		l.goSafe(r, func() { l.watchDoltReady(wctx, r, spec) })
	}
}

// goSafe runs f in a goroutine whose panic is reported to the loop instead
// of crashing the agent.
func (l *loop) goSafe(r *run, f func()) {
	l.watchers.Add(1)
	go func() {
		defer l.watchers.Done()
		defer func() {
			if p := recover(); p != nil {
				l.d.log.Error("daemon watcher panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				select {
				case l.events <- event{runID: r.id, msg: fmt.Sprint(p)}:
				default:
				}
			}
		}()
		f()
	}()
}

func (l *loop) report(ctx context.Context, ev event) {
	select {
	case l.events <- ev:
	case <-ctx.Done():
	}
}

// watchMemory has the sampler read the group's RSS (and CPU) every check
// interval, faster as it nears its limit (sampler.go), records it in Status
// and reports a run over its memory limit. The watch ends with ctx.
func (l *loop) watchMemory(ctx context.Context, r *run, spec Spec) {
	d := l.d
	var cpu cpuMeter
	every := checkInterval(spec.Limits)
	if spec.Limits.Memory == 0 {
		// Nothing to enforce: the figures only feed status, so refresh them
		// less often (idle, 50 such daemons then cost a fifth of the CPU).
		every = max(every, displaySampleInterval)
	}
	w := &memWatch{limit: spec.Limits.Memory, every: every}
	if d.opts.Memory != nil {
		w.read = func(bool) (proc.GroupSample, error) {
			rss, err := d.opts.Memory(ctx, r.pid)
			return proc.GroupSample{RSS: rss}, err
		}
	} else {
		gs := newGroupSampler(r.pid)
		w.read, w.closeRead = gs.sample, gs.close
	}
	w.sampled = func(s proc.GroupSample, full bool, now time.Time) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.st.Pid != r.pid {
			return
		}
		d.st.MemoryBytes = s.RSS
		if full && d.opts.Memory == nil {
			d.st.CPUPercent, d.st.CPUSeconds = cpu.percent(s.CPU, now), s.CPU.Seconds()
		}
	}
	w.over = func(rss uint64) {
		limit := spec.Limits.Memory
		d.log.Warn("memory over limit", "pid", r.pid, "rss_bytes", rss, "limit_bytes", limit)
		l.goSafe(r, func() {
			l.report(ctx, event{runID: r.id, reason: ReasonMemory,
				msg: fmt.Sprintf("RSS %d bytes over the limit of %d", rss, limit)})
		})
	}
	sampler := l.sampler
	l.watchers.Add(1)
	sampler.add(w)
	context.AfterFunc(ctx, func() {
		defer l.watchers.Done()
		sampler.remove(w)
	})
}

// checkHealth runs the health check every interval and reports Failures
// failures in a row.
func (l *loop) checkHealth(ctx context.Context, r *run, spec Spec) {
	d := l.d
	h := spec.Health
	interval := healthInterval(h)
	// Start phase: until the first success, or for one interval, probe fast
	// (2 ms, doubling up to 1 s: nextStartProbe) so that a waiter learns
	// "healthy" as soon as the daemon answers; failures in this phase do not
	// count (like Docker's start_period with start_interval).
	started := time.Now()
	starting, fast := true, startProbeFirst
	t := time.NewTimer(fast)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if starting && h.Check == CheckSQL && h.SQL != nil {
			waitSQLAccepting(ctx, r, spec, interval-time.Since(started))
		}
		var files <-chan struct{}
		if starting && spec.Dolt != nil {
			files = r.filesReady
		}
		var took time.Duration
		res, ok := startCheck(ctx, func() healthResult {
			t0 := time.Now()
			defer func() { took = time.Since(t0) }()
			return checkHealth(ctx, spec, r.env, r.pid, &r.sql)
		}, files)
		if !ok {
			return
		}
		if starting && !res.Healthy && time.Since(started) < interval {
			fast = nextStartProbe(fast, interval)
			t.Reset(fast)
			continue
		}
		starting = false
		t.Reset(interval)
		if res.Healthy {
			failures = 0
		} else {
			failures++
		}
		d.mu.Lock()
		if d.st.Pid == r.pid {
			// The verdict is the status and its reason: "unhealthy: connection
			// refused" turning into "unhealthy: serves another project" is news
			// to a waiter even though the status stays the same.
			if d.st.Health.Status != res.Status || d.st.Health.Message != res.Message {
				d.notifyLocked()
			}
			if from := d.st.Health.Status; from != res.Status {
				d.emitLocked(Event{Kind: EventHealth, Pid: r.pid, Health: res.Status, From: from, Message: res.Message})
			}
			now := time.Now()
			d.st.Health = HealthStatus{Status: res.Status, Message: res.Message, ConsecutiveFailures: failures,
				CheckedAt: now, Version: res.Version, DBResponseMS: res.DBMS, SQL: res.SQL}
			d.st.RecentHealth = appendBounded(d.st.RecentHealth, HealthEvent{At: now, Status: res.Status, Message: res.Message,
				LatencyMS: float64(took.Microseconds()) / 1000}, MaxRecentHealth)
		}
		d.mu.Unlock()
		if failures >= healthFailures(h) {
			d.log.Warn("health check failed", "pid", r.pid, "failures", failures, "message", res.Message)
			l.report(ctx, event{runID: r.id, reason: ReasonHealth,
				msg: fmt.Sprintf("%d failed checks in a row: %s", failures, res.Message)})
			return
		}
	}
}

// startCheck runs one health check; with filesReady (a Dolt server while it
// starts) a healthy verdict waits until bd's files name the run, so that
// healthy means bd finds it. The check itself does not wait: it runs while
// the files are written (each fsynced: ~10 ms on a loaded disk), so the
// verdict comes when the slower of the two is done, not after both. ok is
// false when ctx ended first.
func startCheck(ctx context.Context, check func() healthResult, filesReady <-chan struct{}) (res healthResult, ok bool) {
	res = check()
	if ctx.Err() != nil {
		return res, false
	}
	if res.Healthy && filesReady != nil {
		select {
		case <-filesReady:
		case <-ctx.Done():
			return res, false
		}
	}
	return res, true
}

// The start phase of health checks probes first after startProbeFirst, then
// at doubling intervals up to startProbeMax. A daemon ready t after its start
// is found healthy before 2t (bd: ~8 ms after its fork; the first probe at
// 20 ms made apply wait 20 ms at least).
const (
	startProbeFirst = 2 * time.Millisecond
	startProbeMax   = time.Second
)

// nextStartProbe is the delay to the start phase's next probe after one
// that waited last.
func nextStartProbe(last, interval time.Duration) time.Duration {
	return min(2*last, startProbeMax, interval)
}

// untilAligned is the time from now to the next multiple of every (a whole
// interval when now is on one).
func untilAligned(now time.Time, every time.Duration) time.Duration {
	d := every - time.Duration(now.UnixNano()%int64(every))
	if d <= 0 {
		d += every
	}
	return d
}

// errNotOurs means the pid now names another process: ours is gone.
var errNotOurs = errors.New("pid is no longer our process")

// signal sends sig to r's group unless r's pid now names another process, by
// proc's one rule. r.proc is our unreaped child, which itself keeps its pid
// from being recycled (the runner refuses to signal once it reaped it), so a
// child whose start time could not be read is still signalled: holding it is
// the proof.
func (l *loop) signal(r *run, sig os.Signal) error {
	if !r.startTime.IsZero() {
		if t, err := l.d.opts.StartTime(r.pid); err == nil && !(proc.Handle{Pid: r.pid, Start: r.startTime}).Same(proc.Handle{Pid: r.pid, Start: t}) {
			l.d.log.Error("pid recycled, not signalling", "pid", r.pid, "start_time", r.startTime, "os_start_time", t)
			return errNotOurs
		}
	}
	err := r.proc.Signal(sig)
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		l.d.log.Warn("signal failed", "pid", r.pid, "signal", fmt.Sprint(sig), "error", err)
	}
	return err
}

// stop stops r gracefully: the stop signal to the group, SIGKILL to the group
// after the stop timeout, then the reap. It records the exit but never
// restarts: the caller decides what comes next.
func (l *loop) stop(r *run) {
	d := l.d
	d.setState(StateStopping, "")
	r.cancel()
	r.sql.Close()
	sig, err := ParseSignal(r.spec.Stop.Signal)
	if err != nil {
		d.log.Warn("bad stop signal, using SIGTERM", "signal", r.spec.Stop.Signal, "error", err)
		sig, _ = ParseSignal("")
	}
	timeout := r.spec.Stop.Timeout
	if timeout <= 0 {
		timeout = defaultStopTimeout
	}
	// Held from here to the next start's files, or released by a caller
	// that does not start again: no bd command starts a rival meanwhile.
	l.doltLock(context.Background(), r.spec, 200*time.Millisecond)
	l.doltFlush(r, timeout)
	if err := l.signal(r, sig); errors.Is(err, errNotOurs) {
		l.finish(r)
		return
	}
	t := time.NewTimer(timeout)
	select {
	case <-r.proc.Done():
		t.Stop()
	case <-t.C:
		d.log.Warn("stop timeout, killing process group", "pid", r.pid, "timeout", timeout.String())
		l.signal(r, killSignal)
		k := time.NewTimer(killWait)
		select {
		case <-r.proc.Done():
			k.Stop()
		case <-k.C:
			d.log.Error("process group survived SIGKILL, abandoning it", "pid", r.pid)
		}
	}
	l.finish(r)
}

// abort kills the current run's group at once (after a panic).
func (l *loop) abort() {
	if l.cur == nil {
		return
	}
	l.signal(l.cur, killSignal)
	l.cur.cancel()
	l.cur = nil
}

// finish records the end of r (which has exited) and returns its Exit.
func (l *loop) finish(r *run) (*Exit, time.Duration) { return l.finishSweep(r, false) }

// finishSweep is finish; with later, the processes that left r's group are
// looked for and killed in the background (sweepEscaped), so that a crash
// restart is not held up by a scan of every process's environment (~2 ms
// with 300 processes): they carry r's own marker, never the next run's.
func (l *loop) finishSweep(r *run, later bool) (*Exit, time.Duration) {
	d := l.d
	if r.cancel != nil {
		r.cancel()
	}
	r.sql.Close()
	end := r.exitedAt
	if end.IsZero() {
		end = time.Now()
	}
	uptime := end.Sub(r.started)
	r.out.Flush()
	r.errw.Flush()
	var perr error
	select {
	case <-r.proc.Done():
		perr = r.proc.Err()
	default:
		perr = errors.New("abandoned")
	}
	code, sig := exitOf(perr)
	exit := &Exit{Code: code, Signal: sig, At: end, Uptime: uptime}
	if later {
		l.sweepEscaped(r)
	} else {
		l.killEscaped(r) // what left the group (setsid) dies with the run too
	}
	if r.spec.Beads {
		exit.LogTail = beadsExitTail(r, l.sink.stderrTail())
		if removed, err := bd.CleanStale(r.spec.Dir); err != nil {
			d.log.Warn("clean stale bd files failed", "error", err)
		} else if len(removed) > 0 {
			d.log.Info("removed stale bd files", "paths", removed)
		}
	}
	l.doltFinished(r)
	if exit.LogTail == nil {
		exit.LogTail = l.sink.stderrTail()
	}
	exit.LogTail = maskSensitive(exit.LogTail, r.spec)
	d.mu.Lock()
	d.st.LastExit = exit
	d.emitLocked(exitEvent(r.pid, exit))
	d.st.Pid, d.st.StartTime = 0, time.Time{}
	d.st.MemoryBytes, d.st.CPUPercent, d.st.CPUSeconds = 0, 0, 0
	d.mu.Unlock()
	d.log.Info("daemon exited", "pid", r.pid, "exit_code", code, "signal", sig, "uptime", uptime.String())
	if l.cur == r {
		l.cur = nil
	}
	return exit, uptime
}

// exited handles the end of a run nobody asked for: the restart rules decide.
func (l *loop) exited(ctx context.Context) {
	if l.restartNow(ctx) {
		return
	}
	d := l.d
	r := l.cur
	<-r.proc.Done() // reaped and drained: within waitDelay of the exit
	// Taken before finish removes bd's files, and held through the restart
	// delay: no bd command starts a rival meanwhile (dolt.go).
	l.doltLock(context.Background(), r.spec, 200*time.Millisecond)
	_, uptime := l.finishSweep(r, true)
	blocked := ""
	if r.spec.Beads {
		// bd refused to start beside another daemon ("daemon already
		// running"), or its workspace went: no restart would do better.
		blocked = beadsBlocked(r.spec)
	}
	d.mu.Lock()
	dec := decideExit(r.spec.Restart, d.unstable, d.rapid, uptime, r.proc.Err())
	if blocked != "" && dec.Restart {
		dec = exitDecision{Errored: true, Reason: "exited, not restarted: " + blocked, Unstable: dec.Unstable, Rapid: dec.Rapid}
	}
	d.mu.Unlock()
	if l.decided(dec) && dec.Delay <= 0 {
		// No delay: start now, not through a timer and another turn
		// of the loop (kill -9 -> new pid is a fork away).
		l.start(ctx, ReasonCrash, "")
	}
}

// decided records the restart rules' decision dec about the run that just
// ended; it reports whether the daemon restarts (after dec.Delay: the timer
// is set for a delay; the caller starts at once without one).
func (l *loop) decided(dec exitDecision) bool {
	d := l.d
	d.mu.Lock()
	d.unstable, d.rapid = dec.Unstable, dec.Rapid
	if dec.Unstable == 0 {
		d.st.UnstableRestarts = 0
	}
	switch {
	case dec.Errored:
		d.setStateLocked(StateErrored, dec.Reason)
	case dec.Completed:
		d.st.CompletedAt = time.Now()
		d.setStateLocked(StateCompleted, dec.Reason)
	case !dec.Restart:
		d.setStateLocked(StateStopped, dec.Reason)
	default:
		d.st.LastRestartReason = ReasonCrash
		d.setStateLocked(StateWaitingRestart, fmt.Sprintf("restart in %s", dec.Delay))
	}
	d.mu.Unlock()
	switch {
	case dec.Errored:
		d.log.Error("daemon errored", "reason", dec.Reason)
	case dec.Restart:
		d.log.Info("daemon restarting", "delay", dec.Delay.String(), "restart_reason", string(ReasonCrash))
		if dec.Delay > 0 {
			l.timer = time.NewTimer(dec.Delay)
		}
		return true
	}
	l.doltUnlockNow()
	return false
}

// restartNow is the restart after a crash with no delay, forked the moment
// the exit is known (Process.Exited: the zombie's group killed) rather than
// after the reap, the drain of its output and the bookkeeping: those follow
// the fork, in the order they had, so that status and the events tell the
// same story (the exit, its tail, then the restart). It reports false, doing
// nothing, where the rules say otherwise or the daemon is not a plain
// process (bd's files and Dolt's lock come between its runs): exited then
// goes the long way.
func (l *loop) restartNow(ctx context.Context) bool {
	d := l.d
	old := l.cur
	en, ok := old.proc.(exitNotifier)
	if !ok || old.spec.Beads || old.spec.Dolt != nil {
		return false
	}
	exitedAt := time.Now()
	uptime := exitedAt.Sub(old.started)
	d.mu.Lock()
	dec := decideExit(old.spec.Restart, d.unstable, d.rapid, uptime, en.ExitErr())
	asked := !d.want || d.restartReq != "" // Stop or Restart came meanwhile
	d.mu.Unlock()
	if asked || !dec.Restart || dec.Delay > 0 {
		return false
	}
	spec := d.Spec()
	if ok, _, _ := gate(spec, d.opts.Deps); !ok || spec.Beads || spec.Dolt != nil {
		return false
	}
	r := l.newRun(spec)
	r.hold = make(chan struct{})
	proc, err := l.launch(ctx, r)
	r.started = time.Now()
	<-old.proc.Done() // reaped and drained: within waitDelay of the exit
	old.exitedAt = exitedAt
	l.finishSweep(old, true)
	l.waiting = false
	l.decided(dec)
	l.beginRun(r, ReasonCrash, "")
	l.launched(ctx, r, ReasonCrash, proc, err)
	return true
}
