package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/flock"
	"github.com/beadsctl/beadsctl/internal/proc"
)

// AgentOptions configure an Agent.
type AgentOptions struct {
	// Dir is the project folder (the folder holding beads.hcl); the agent keeps its
	// files in Dir/.beadsctl.
	Dir string
	// Logger is the agent's own log (default: discard).
	Logger *slog.Logger
	// Version is beadsctl's version, reported in AgentStatus.
	Version string
	// Specs are put (created and started) as soon as the agent listens: what
	// `beadsctl agent --foreground` read from beads.hcl.
	Specs []Spec
	// DaemonOptions returns the seams for one daemon (nil: the real ones). The
	// daemon's Logger defaults to Logger with a "daemon" attribute.
	DaemonOptions func(Spec) DaemonOptions
	// FolderCheck is how often the agent checks that Dir/.beadsctl still exists
	// and that its control socket is still its own (default 2s). When the project
	// folder is removed, nothing can reach the agent any more: it stops its
	// daemons and exits rather than live on orphaned. A socket file removed is
	// created again; one replaced by another file makes the agent exit the same way.
	FolderCheck time.Duration
	// MetricsListen, when set, is where the agent serves its metrics for
	// scrapers from the start (beads.hcl's metrics.listen, for `agent
	// --foreground`); apply sets it through the control API otherwise.
	MetricsListen string
	// Alerts are the alerts the agent runs from the start (`agent
	// --foreground`); apply sets them through the control API otherwise.
	Alerts []AlertSpec
	// ResumeObservers makes the agent start with the alerts and the metrics
	// address the last agent of Dir ran with (agent.json), what the last
	// apply set, in place of Alerts and MetricsListen: for `agent --restore`
	// at boot, and for the detached agent a verb starts after the last one
	// died (apply hands beads.hcl's on at once).
	ResumeObservers bool
	// GoTimers has the agent's periodic work (the memory samples, the folder
	// check) wait on Go's timers, which testing/synctest fakes, rather than
	// on the kernel's (Linux: a timerfd, which costs an idle agent less:
	// sleeper.go). For tests that run an agent inside a synctest bubble.
	GoTimers bool
}

// AgentRunningError means another agent holds the project's lock.
type AgentRunningError struct {
	Dir string
	Pid int // 0 when unknown
}

func (e *AgentRunningError) Error() string {
	if e.Pid > 0 {
		return fmt.Sprintf("an agent is already running for %s (pid %d holds %s)", e.Dir, e.Pid, filepath.Join(StateDir, "agent.lock"))
	}
	return fmt.Sprintf("an agent is already running for %s (%s is locked)", e.Dir, filepath.Join(StateDir, "agent.lock"))
}

// ErrAgentRunning matches an *AgentRunningError with errors.Is.
var ErrAgentRunning = errors.New("agent already running")

func (e *AgentRunningError) Is(target error) bool { return target == ErrAgentRunning }

// Agent hosts the daemons of one project behind the control socket. It is the
// long-lived process that `beadsctl agent` runs.
type Agent struct {
	opts  AgentOptions
	dir   string
	log   *slog.Logger
	pid   int
	start time.Time

	// ops run on Run's goroutine, which owns the context daemons run under.
	ops   chan func(ctx context.Context)
	ready chan struct{}
	dirty chan struct{}
	// flush asks the record loop to write agent.json now, past its pace,
	// and to answer when it is written (flushRecord).
	flush chan chan error
	// recordEnded is closed when the record loop has returned.
	recordEnded chan struct{}
	shutdown    chan struct{}
	shutOnce    sync.Once
	// stopped is closed once every daemon has stopped at the end of Run.
	stopped chan struct{}

	mu      sync.Mutex
	daemons map[string]*hosted
	// withDeps are the hosted daemons whose spec has dependencies: the
	// ones kickDependents tells (it told every daemon of every change, a
	// scan of 1,000 specs at each of the 1,000 starts' changes).
	withDeps map[*hosted]struct{}
	// sampler reads the memory of every daemon, from one goroutine.
	sampler *MemorySampler

	// events writes the history and pushes it to followers (events.go).
	events *eventLog
	// alerts runs beads.hcl's alert blocks, fed by events (alerts.go).
	alerts *alerter
	// requests counts the control API's requests; metricsSrv is the opt-in
	// scrape listener (metrics.go).
	requests   requestCounter
	metricsSrv metricsServer

	// runHook replaces (*Daemon).Run in tests (to make a daemon's loop panic).
	runHook func(ctx context.Context, d *Daemon) error
	// recordWritten, when set (tests), is called after each write of agent.json.
	recordWritten func()
}

// hosted is one daemon and the goroutine that runs it.
type hosted struct {
	d      *Daemon
	cancel context.CancelFunc
	done   chan struct{}
	// panicked is set (under Agent.mu) when the daemon's Run panicked.
	panicked string
}

// NewAgent returns an agent for opts.Dir; nothing happens until Run.
func NewAgent(opts AgentOptions) *Agent {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		dir = filepath.Clean(opts.Dir)
	}
	events := newEventLog(EventsPath(dir), log)
	alerts := newAlerter(log, events.emit)
	events.recorded = alerts.feed
	alerts.setSpecs(opts.Alerts)
	return &Agent{
		events:      events,
		alerts:      alerts,
		opts:        opts,
		dir:         dir,
		log:         log,
		pid:         os.Getpid(),
		ops:         make(chan func(context.Context)),
		ready:       make(chan struct{}),
		dirty:       make(chan struct{}, 1),
		flush:       make(chan chan error),
		recordEnded: make(chan struct{}),
		shutdown:    make(chan struct{}),
		stopped:     make(chan struct{}),
		daemons:     map[string]*hosted{},
		withDeps:    map[*hosted]struct{}{},
		sampler:     newAgentSampler(opts.GoTimers),
	}
}

// Ready is closed once the agent answers on its socket.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// SocketPath is where the agent listens.
func (a *Agent) SocketPath() string { return SocketPath(a.dir) }

// Run takes the project's lock, cleans up the daemons a dead agent left behind,
// listens on the control socket and serves until ctx is done or a shutdown is
// requested; then it stops every daemon gracefully (in parallel) and returns nil.
// It fails at once when another agent runs for the same folder or a live agent
// answers on the socket.
func (a *Agent) Run(ctx context.Context) error {
	startProcessMetrics() // the pressure and throttling counters count from here
	state := filepath.Join(a.dir, StateDir)
	if err := os.MkdirAll(state, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", state, err)
	}
	if err := os.Chmod(state, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", state, err)
	}
	// The folder check compares identities: a writer that opens a file in it
	// after it was removed (the event history, a daemon's log) may create it
	// again, and the agent then took the new, empty folder for its own
	// (TestAgentExitsWhenFolderRemoved waited 30 s, 1 run in 20).
	stateInfo, err := os.Stat(state)
	if err != nil {
		return fmt.Errorf("stat %s: %w", state, err)
	}
	unlock, err := a.lock()
	if err != nil {
		return err
	}
	defer unlock()
	a.start, _ = proc.StartTime(a.pid) // zero when unknown: the status then shows none

	if rec, err := ReadAgentRecord(a.dir); err == nil {
		a.reapOrphans(ctx, rec)
		if a.opts.ResumeObservers {
			a.alerts.setSpecs(rec.Alerts)
			a.opts.MetricsListen = rec.MetricsListen
			if len(rec.Alerts) > 0 || rec.MetricsListen != "" {
				a.log.Info("alerts and metrics listener as the last apply set them", "alerts", len(rec.Alerts), "metrics_listen", rec.MetricsListen)
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		a.log.Warn("agent record unreadable", "path", AgentRecordPath(a.dir), "error", err.Error())
		if a.opts.ResumeObservers {
			a.log.Warn("alerts and metrics listener not restored: the agent record is unreadable")
		}
	}

	sock := a.SocketPath()
	ul, err := listenControl(sock)
	if err != nil {
		return err
	}
	cs, err := newControlSocket(sock, ul)
	if err != nil {
		ul.Close()
		_ = os.Remove(sock)
		return err
	}

	serveCtx, cancelServe := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelServe()
	gate := newConnGate(maxControlConns, a.log) // control_conns.go: the limits and why
	srv := &http.Server{
		Handler:           withDeadlines(a.handler()),
		ReadHeaderTimeout: controlHeaderTimeout,
		IdleTimeout:       controlIdleTimeout,
		ConnState:         gate.connState,
		BaseContext:       func(net.Listener) context.Context { return serveCtx },
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	var served sync.WaitGroup
	serve := func(ul *net.UnixListener) {
		ln := gate.listener(&peerListener{Listener: ul, uid: ownUID(), refused: func(err error) {
			a.log.Warn("connection refused", "error", err.Error())
		}})
		served.Go(func() {
			err := srv.Serve(ln)
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				a.log.Error("control socket failed", "error", err.Error())
			}
		})
	}
	serve(ul)

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	go func() { defer close(a.recordEnded); a.recordLoop(runCtx) }()
	a.markDirty()
	a.alerts.start(ctx)
	go a.alerts.run(ctx)
	go a.events.run()
	a.events.emit(Event{Kind: EventAgentStart, Pid: a.pid, Version: a.opts.Version})

	for _, spec := range a.opts.Specs {
		if _, err := a.put(runCtx, spec, true); err != nil {
			a.log.Error("initial spec refused", "daemon", spec.Name, "error", err.Error())
		}
	}
	a.log.Info("agent listening", "socket", sock, "dir", a.dir, "pid", a.pid, "version", a.opts.Version)
	if a.opts.MetricsListen != "" {
		if _, err := a.SetMetricsListen(a.opts.MetricsListen); err != nil {
			a.log.Error("metrics not served", "error", err.Error()) // the daemons are not concerned
		}
	}
	defer a.metricsSrv.close()
	close(a.ready)

	every := a.opts.FolderCheck
	if every <= 0 {
		every = 2 * time.Second
	}
	// The folder is looked at from its own goroutine (watchFolder), which
	// tells this loop only when what it sees is not what the agent made.
	folder := make(chan struct{}, 1)
	sockInfo := &atomic.Pointer[os.FileInfo]{}
	sockInfo.Store(ptrTo(cs.fi))
	folderDone := make(chan struct{})
	go func() {
		defer close(folderDone)
		a.watchFolder(runCtx, every, newFolderIDs(state, stateInfo, cs.path, sockInfo), folder)
	}()
loop:
	for {
		select {
		case op := <-a.ops:
			op(runCtx)
		case <-a.shutdown:
			break loop
		case <-ctx.Done():
			break loop
		case <-folder:
			if st, err := os.Stat(state); errors.Is(err, os.ErrNotExist) || err == nil && !os.SameFile(st, stateInfo) {
				a.log.Warn("project folder removed, shutting down", "dir", a.dir)
				break loop
			}
			if !a.keepSocket(cs, serve) {
				break loop
			}
			sockInfo.Store(ptrTo(cs.fi))
		}
	}
	a.log.Info("agent stopping", "daemons", len(a.snapshot()))
	a.stopAll()
	a.events.emit(Event{Kind: EventAgentStop, Pid: a.pid})
	a.events.stop()
	a.alerts.stop()
	cancelRun()
	<-folderDone
	<-a.recordEnded
	if err := a.writeRecord(); err != nil {
		a.log.Error("agent record not written", "error", err.Error())
	}
	close(a.stopped)
	cancelServe()
	shutCtx, cancelShut := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancelShut()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	served.Wait()
	cs.remove()
	a.log.Info("agent stopped")
	return nil
}

// lock takes .beadsctl/agent.lock and writes our pid in it.
func (a *Agent) lock() (unlock func(), err error) {
	path := filepath.Join(a.dir, StateDir, "agent.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|atomicfile.NoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open agent lock: %w", err)
	}
	ok, err := flock.TryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		b, _ := io.ReadAll(f)
		f.Close()
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return nil, &AgentRunningError{Dir: a.dir, Pid: pid}
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(a.pid)+"\n"), 0)
		_ = f.Sync()
	}
	return func() {
		_ = f.Truncate(0)
		_ = flock.Unlock(f)
		f.Close()
	}, nil
}

// requestShutdown makes Run stop every daemon and return.
func (a *Agent) requestShutdown() { a.shutOnce.Do(func() { close(a.shutdown) }) }

// markDirty asks the record loop to write agent.json.
func (a *Agent) markDirty() {
	select {
	case a.dirty <- struct{}{}:
	default:
	}
}

// onLoop runs fn on Run's goroutine (with the agent's context) and waits for it.
func (a *Agent) onLoop(ctx context.Context, fn func(runCtx context.Context)) error {
	done := make(chan struct{})
	select {
	case a.ops <- func(rc context.Context) { defer close(done); fn(rc) }:
	case <-a.shutdown:
		return errors.New("agent is shutting down")
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// lookup returns the hosted daemon called name.
func (a *Agent) lookup(name string) (*hosted, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h, ok := a.daemons[name]
	return h, ok
}

// snapshot returns the hosted daemons sorted by name.
func (a *Agent) snapshot() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := make([]string, 0, len(a.daemons))
	for n := range a.daemons {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// status is the daemon's status, errored when its loop panicked.
func (a *Agent) status(h *hosted) Status {
	st := h.d.Status()
	a.mu.Lock()
	p := h.panicked
	a.mu.Unlock()
	if p != "" {
		st.State = StateErrored
		st.Reason = "supervisor loop panicked: " + p
	}
	if st.Name == "" {
		st.Name = h.d.Spec().Name
	}
	return st
}

// AgentStatus is what GET /v1/status answers.
func (a *Agent) AgentStatus() AgentStatus {
	out := AgentStatus{Pid: a.pid, StartTime: a.start, Dir: a.dir, Version: a.opts.Version, API: APIVersion, Daemons: []Status{}, Alerts: a.alerts.specList()}
	out.MetricsListen, out.MetricsError = a.metricsSrv.wanted()
	for _, n := range a.snapshot() {
		if h, ok := a.lookup(n); ok {
			out.Daemons = append(out.Daemons, a.status(h))
		}
	}
	return out
}

// errBadSpec marks a spec the agent refuses (400).
var errBadSpec = errors.New("invalid spec")

// put converges the daemon spec.Name to spec. direct is true on Run's own
// goroutine, where ctx is the agent's context; otherwise the work is sent there.
func (a *Agent) put(ctx context.Context, spec Spec, direct bool) (PutResult, error) {
	if spec.Name == "" || strings.ContainsAny(spec.Name, "/\\") {
		return PutResult{}, fmt.Errorf("%w: name %q", errBadSpec, spec.Name)
	}
	if len(spec.Argv) == 0 || spec.Argv[0] == "" {
		return PutResult{}, fmt.Errorf("%w: daemon %q has no command", errBadSpec, spec.Name)
	}
	if !knownCheck(spec.Health.Check) {
		return PutResult{}, fmt.Errorf("%w: daemon %q: unknown health check %q (this agent, beadsctl %s, knows %s)",
			errBadSpec, spec.Name, spec.Health.Check, a.opts.Version, strings.Join(HealthChecks, ", "))
	}
	if spec.Health.Check == CheckHTTP && (spec.Health.HTTP == nil || spec.Health.HTTP.URL == "") {
		return PutResult{}, fmt.Errorf("%w: daemon %q: http health check without a url", errBadSpec, spec.Name)
	}
	var res PutResult
	var h *hosted
	oldPid := 0
	converge := func(runCtx context.Context) {
		var ok bool
		h, ok = a.lookup(spec.Name)
		if ok {
			oldPid = h.d.Status().Pid
			if len(spec.DependsOn) > 0 {
				a.mu.Lock()
				a.withDeps[h] = struct{}{} // told from before the Update on
				a.mu.Unlock()
			}
		}
		switch {
		case !ok:
			h = a.spawn(runCtx, spec)
			res.Action = ActionCreated
		case a.hasPanicked(h):
			a.retire(h)
			h = a.spawn(runCtx, spec)
			res.Action = ActionRestarted
		case reflect.DeepEqual(h.d.Spec(), spec):
			res.Action = ActionUnchanged
		case h.d.Update(spec):
			res.Action = ActionRestarted
		default:
			res.Action = ActionUpdated
		}
		a.mu.Lock()
		a.noteDepsLocked(h, spec)
		a.mu.Unlock()
		if res.Action != ActionUnchanged {
			h.d.emit(Event{Kind: EventApplied, Action: res.Action, SpecHash: spec.Hash})
		}
		res.Status = a.status(h)
	}
	if direct {
		converge(ctx)
	} else if err := a.onLoop(ctx, converge); err != nil {
		return PutResult{}, err
	}
	if res.Action == ActionRestarted && oldPid != 0 {
		// Answer once the old process is on its way out, so that a wait that
		// follows never mistakes it for the new one.
		a.awaitLeave(ctx, h, oldPid)
		res.Status = a.status(h)
	}
	a.log.Info("daemon put", "daemon", spec.Name, "action", res.Action, "spec_hash", spec.Hash)
	a.markDirty()
	return res, nil
}

// awaitLeave returns once the daemon no longer runs pid online (or ctx is done).
func (a *Agent) awaitLeave(ctx context.Context, h *hosted, pid int) {
	for {
		ch := h.d.Changed()
		if st := h.d.Status(); st.Pid != pid || st.State != StateOnline {
			return
		}
		select {
		case <-ch:
		case <-h.done:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (a *Agent) hasPanicked(h *hosted) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return h.panicked != ""
}

// spawn creates the daemon and runs it in its own goroutine; a panic in its loop
// is recovered and recorded, and never reaches the agent or the other daemons.
func (a *Agent) spawn(runCtx context.Context, spec Spec) *hosted {
	var dopts DaemonOptions
	if a.opts.DaemonOptions != nil {
		dopts = a.opts.DaemonOptions(spec)
	}
	if dopts.Logger == nil {
		dopts.Logger = a.log // the daemon adds its name
	}
	if dopts.Sampler == nil {
		dopts.Sampler = a.sampler
	}
	if dopts.Deps == nil {
		dopts.Deps = a.depStatus
	}
	if dopts.Events == nil {
		dopts.Events = a.events.emit
	}
	// Not cancelled with the agent's context: Run's stopAll stops each daemon
	// itself, in reverse dependency order, when the agent stops.
	ctx, cancel := context.WithCancel(context.WithoutCancel(runCtx))
	h := &hosted{d: NewDaemon(spec, dopts), cancel: cancel, done: make(chan struct{})}
	a.mu.Lock()
	a.daemons[spec.Name] = h
	a.noteDepsLocked(h, spec)
	a.mu.Unlock()
	a.kickDependents("") // a daemon waiting for this one finds it now
	// Taken before the daemon runs: its first changes (starting, online) must
	// reach its dependents too.
	first := h.d.Changed()

	go func() {
		defer close(h.done)
		defer func() {
			if r := recover(); r != nil {
				a.mu.Lock()
				h.panicked = fmt.Sprint(r)
				a.mu.Unlock()
				a.log.Error("daemon loop panicked", "daemon", spec.Name, "panic", fmt.Sprint(r))
				// even while the agent shuts down: nothing may be left running
				a.killLeftover(context.WithoutCancel(runCtx), h.d.Status(), spec.Stop)
				a.markDirty()
			}
		}()
		var err error
		if a.runHook != nil {
			err = a.runHook(ctx, h.d)
		} else {
			err = h.d.Run(ctx)
		}
		if err != nil {
			a.log.Error("daemon loop failed", "daemon", spec.Name, "error", err.Error())
		}
	}()
	go func() {
		// Take the next channel before marking dirty: a change that lands
		// between the two is then either in the record written next or wakes
		// us again; none is lost.
		ch := first
		for {
			select {
			case <-ch:
				ch = h.d.Changed()
				a.kickDependents(spec.Name)
				a.markDirty()
			case <-h.done:
				a.kickDependents(spec.Name)
				a.markDirty()
				return
			}
		}
	}()
	return h
}

// killLeftover stops the process group a panicked loop may have left running.
func (a *Agent) killLeftover(ctx context.Context, st Status, stop StopPolicy) {
	if st.Pid <= 0 {
		return
	}
	a.stopOrphan(ctx, st.Name, proc.Handle{Pid: st.Pid, Start: st.StartTime}, stop)
}

// retire removes h from the map, stops it gracefully and waits for its loop.
func (a *Agent) retire(h *hosted) {
	a.mu.Lock()
	for n, x := range a.daemons {
		if x == h {
			delete(a.daemons, n)
		}
	}
	delete(a.withDeps, h)
	a.mu.Unlock()
	h.cancel()
	<-h.done
	a.kickDependents("")
	a.markDirty()
}

// remove stops the daemon name gracefully and forgets it; it returns its last status.
func (a *Agent) remove(name string) (Status, error) {
	h, ok := a.lookup(name)
	if !ok {
		return Status{}, fmt.Errorf("%w: %q", ErrUnknownDaemon, name)
	}
	a.retire(h)
	h.d.emit(Event{Kind: EventRemoved})
	st := a.status(h)
	a.log.Info("daemon removed", "daemon", name)
	return st, nil
}

// stopAll stops every daemon and waits for all of them: in reverse
// dependency order (a daemon once every daemon depending on it has stopped),
// the independent ones in parallel.
func (a *Agent) stopAll() {
	a.mu.Lock()
	hs := make(map[string]*hosted, len(a.daemons))
	for n, h := range a.daemons {
		hs[n] = h
	}
	a.mu.Unlock()
	after := stopAfter(hs)
	var wg sync.WaitGroup
	for name, h := range hs {
		wg.Go(func() {
			for _, dependent := range after[name] {
				<-dependent.done
			}
			h.cancel()
			<-h.done
		})
	}
	wg.Wait()
}

// depStatus is the DepLookup the agent gives its daemons.
func (a *Agent) depStatus(name string) (Status, bool) {
	h, ok := a.lookup(name)
	if !ok {
		return Status{}, false
	}
	return a.status(h), true
}

// kickDependents tells every daemon depending on name that it changed; with
// name "" (a daemon added or removed) every daemon that has dependencies.
func (a *Agent) kickDependents(name string) {
	a.mu.Lock()
	if len(a.withDeps) == 0 {
		a.mu.Unlock()
		return
	}
	hs := make([]*hosted, 0, len(a.withDeps))
	for h := range a.withDeps {
		hs = append(hs, h)
	}
	a.mu.Unlock()
	for _, h := range hs {
		for _, dep := range h.d.Spec().DependsOn {
			if name == "" || dep.Name == name {
				h.d.DepsChanged()
				break
			}
		}
	}
}

// noteDepsLocked records whether h, which runs spec now, has dependencies
// (a.mu held).
func (a *Agent) noteDepsLocked(h *hosted, spec Spec) {
	if len(spec.DependsOn) > 0 {
		a.withDeps[h] = struct{}{}
	} else {
		delete(a.withDeps, h)
	}
}
