package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beadsctl/beadsctl/internal/alerton"
	"github.com/beadsctl/beadsctl/internal/tailbuf"
)

// Alerts: beads.hcl's alert blocks, run by the agent. The alerter is fed by
// the events' writer goroutine (after an event is recorded, never from a
// daemon's loop) through a queue that drops, counted, rather than wait. It
// derives the triggers (internal/alerton) from the events, limits them per
// alert and daemon (the first at once, the ones that follow within the
// alert's window as one summary at its end), and runs each alert's command in
// its own process group with the payload as JSON on its standard input,
// killed with its group on timeout. What the command did (exit, output's
// tail) goes to the agent's log and to the history as an "alerted" or
// "alert-failed" event: an alert never touches a daemon.

// alertFires reports whether the alert s fires on trigger for daemon.
func alertFires(s *AlertSpec, trigger, daemon string) bool {
	if len(s.Daemons) > 0 && !slices.Contains(s.Daemons, daemon) {
		return false
	}
	return slices.Contains(s.On, trigger)
}

// AlertPayload is what an alert's command reads on its standard input.
type AlertPayload struct {
	Alert   string    `json:"alert"`
	Trigger string    `json:"trigger"`
	Daemon  string    `json:"daemon,omitempty"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
	// Summary: the alerts of the window that were held back (Suppressed, by
	// trigger in SuppressedBy); Event is the last of them.
	Summary       bool           `json:"summary,omitempty"`
	Suppressed    int            `json:"suppressed,omitempty"`
	SuppressedBy  map[string]int `json:"suppressed_by,omitempty"`
	WindowSeconds float64        `json:"window_seconds,omitempty"`
	// Test: a sample sent by `beadsctl alert test`.
	Test  bool   `json:"test,omitempty"`
	Event *Event `json:"event,omitempty"`
}

// alertOutputMax is how much of a command's output is kept (its tail).
const alertOutputMax = 4 << 10

// alertQueue is how many events may wait for the alerter before new ones are dropped.
const alertQueue = 1024

// alertRunsMax is how many runs of one alert's command may be under way at
// once; a run beyond that is not made (alert-failed says so).
const alertRunsMax = 4

// alertStopGrace is how long the agent's stop waits for commands under way
// before their groups are killed.
const alertStopGrace = 3 * time.Second

// limKey names a rate limit's window: per alert and daemon, and apart for
// recovery (a "recovered" is never held back behind the window of the alert
// it follows: it is sent at once, rate-limited only by other recoveries).
type limKey struct {
	alert, daemon string
	recovery      bool
}

// alertLimit is the window of one alert and daemon.
type alertLimit struct {
	until  time.Time
	n      int
	counts map[string]int
	last   Event
	armed  bool
}

type alerter struct {
	log  *slog.Logger
	emit func(Event)
	env  []string

	in      chan *Event
	ops     chan func()
	dropped atomic.Int64
	quit    chan struct{}
	done    chan struct{}
	// ctx is the commands' (set by start, cancelled by stop).
	ctx    context.Context
	cancel context.CancelFunc
	runs   sync.WaitGroup
	// runCmd runs an alert's command (runAlert; a fake in synctest tests).
	runCmd func(ctx context.Context, s AlertSpec, p AlertPayload, env []string) AlertResult

	mu      sync.Mutex // specs and running
	specs   []AlertSpec
	running map[string]int

	// owned by run's goroutine
	lims      map[limKey]*alertLimit
	crashes   map[string][]time.Time
	trouble   map[string]bool
	unhealthy map[string]time.Time // since when the daemon is unhealthy
	stable    map[string]*time.Timer
}

func newAlerter(log *slog.Logger, emit func(Event)) *alerter {
	return &alerter{log: log, emit: emit, env: os.Environ(), in: make(chan *Event, alertQueue), ops: make(chan func(), 64),
		quit: make(chan struct{}), done: make(chan struct{}), running: map[string]int{}, runCmd: runAlert,
		lims: map[limKey]*alertLimit{}, crashes: map[string][]time.Time{}, trouble: map[string]bool{},
		unhealthy: map[string]time.Time{}, stable: map[string]*time.Timer{}}
}

// feed hands ev to the alerter without waiting; a full queue drops it, counted.
func (a *alerter) feed(ev Event) {
	if ev.Daemon == "" || ev.Kind == EventAlerted || ev.Kind == EventAlertFailed {
		return
	}
	select {
	case a.in <- &ev:
	default:
		a.dropped.Add(1)
	}
}

// setSpecs replaces the alerts; windows of the alerts kept are kept.
func (a *alerter) setSpecs(specs []AlertSpec) {
	specs = append([]AlertSpec(nil), specs...)
	for i := range specs {
		if specs[i].Window <= 0 {
			specs[i].Window = alerton.DefaultWindow
		}
		if specs[i].UnhealthyFor <= 0 {
			specs[i].UnhealthyFor = alerton.DefaultUnhealthyFor
		}
	}
	a.mu.Lock()
	a.specs = specs
	a.mu.Unlock()
	a.post(func() {
		for k := range a.lims {
			if a.spec(k.alert) == nil {
				delete(a.lims, k)
			}
		}
	})
}

func (a *alerter) specList() []AlertSpec {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AlertSpec(nil), a.specs...)
}

func (a *alerter) spec(name string) *AlertSpec {
	for _, s := range a.specList() {
		if s.Name == name {
			return &s
		}
	}
	return nil
}

// post runs f on the alerter's goroutine (nothing once it stopped).
func (a *alerter) post(f func()) {
	select {
	case a.ops <- f:
	case <-a.quit:
	}
}

// after runs f on the alerter's goroutine after d.
func (a *alerter) after(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() { a.post(f) })
}

// run derives and sends the alerts until stop; the commands run under ctx
// (without its cancellation: stop kills them).
func (a *alerter) run(ctx context.Context) {
	defer close(a.done)
	for {
		select {
		case ev := <-a.in:
			if n := a.dropped.Swap(0); n > 0 {
				a.log.Warn("events not considered for alerts", "dropped", n)
				a.emit(Event{Kind: EventAlertFailed, Reason: fmt.Sprintf("%d events were not considered for alerts: the alert queue was full", n)})
			}
			a.handle(*ev)
		case f := <-a.ops:
			f()
		case <-a.quit:
			return
		}
	}
}

// start readies the alerter's commands' context; run follows.
func (a *alerter) start(ctx context.Context) {
	a.ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
}

// stop ends the alerter: commands under way get alertStopGrace to finish,
// then their groups are killed.
func (a *alerter) stop() {
	close(a.quit)
	<-a.done
	waited := make(chan struct{})
	go func() { a.runs.Wait(); close(waited) }()
	t := time.NewTimer(alertStopGrace)
	defer t.Stop()
	select {
	case <-waited:
	case <-t.C:
	}
	a.cancel()
	<-waited
}

func (a *alerter) handle(ev Event) {
	d := ev.Daemon
	switch ev.Kind {
	case EventErrored:
		delete(a.unhealthy, d) // given up: the errored alert says so, not a later unhealthy one
		a.fire(alerton.Errored, ev, fmt.Sprintf("%s errored: %s", d, orDash(ev.Reason)))
	case EventMemory:
		a.fire(alerton.Memory, ev, fmt.Sprintf("%s went over its memory limit (%s)", d, orDash(ev.Message)))
	case EventRestarted:
		a.stopStable(d)
		if ev.Reason != ReasonCrash {
			return
		}
		cut := ev.At.Add(-alerton.CrashLoopWindow)
		ts := a.crashes[d][:0]
		for _, t := range a.crashes[d] {
			if t.After(cut) {
				ts = append(ts, t)
			}
		}
		ts = append(ts, ev.At)
		a.crashes[d] = ts
		if len(ts) >= alerton.CrashLoopRestarts {
			msg := fmt.Sprintf("%s is crash-looping: restarted %d times after a crash within %s", d, len(ts), alerton.CrashLoopWindow)
			if ev.Detail != "" {
				msg += " (" + ev.Detail + ")"
			}
			a.fire(alerton.CrashLoop, ev, msg)
		}
	case EventHealth:
		switch ev.Health {
		case "unhealthy":
			if _, open := a.unhealthy[d]; open {
				// The spell goes on: the first check after a restart by the
				// health check (its start reset the verdict to unknown), or
				// another reason. It started when the check first failed, or
				// a check restarting the daemon faster than unhealthy_for
				// would never be alerted on.
				return
			}
			since := ev.At
			a.unhealthy[d] = since
			for _, s := range a.specList() {
				if !alertFires(&s, alerton.Unhealthy, d) {
					continue
				}
				name, wait := s.Name, s.UnhealthyFor
				a.after(wait, func() {
					if a.unhealthy[d] != since {
						return // healthy again, or a later spell
					}
					if s := a.spec(name); s != nil {
						a.trouble[d] = true
						a.limited(*s, alerton.Unhealthy, ev, fmt.Sprintf("%s has been unhealthy for %s: %s", d, wait, orDash(ev.Message)))
					}
				})
			}
		case "healthy", "degraded": // degraded passes (with a warning)
			delete(a.unhealthy, d)
			msg := fmt.Sprintf("%s is healthy again", d)
			if ev.Health == "degraded" {
				msg = fmt.Sprintf("%s passes its health check again (degraded: %s)", d, orDash(ev.Message))
			}
			a.recovered(ev, msg)
		}
	case EventStarted:
		if a.trouble[d] {
			a.stopStable(d)
			a.stable[d] = a.after(alerton.CrashLoopWindow, func() {
				delete(a.stable, d)
				a.recovered(ev, fmt.Sprintf("%s has run %s without exiting (pid %d)", d, alerton.CrashLoopWindow, ev.Pid))
			})
		}
	case EventExited:
		a.stopStable(d)
	case EventStopped, EventCompleted:
		a.stopStable(d)
		delete(a.unhealthy, d) // not running: no longer unhealthy
	case EventRemoved:
		a.stopStable(d)
		delete(a.crashes, d)
		delete(a.trouble, d)
		delete(a.unhealthy, d)
	}
}

func (a *alerter) stopStable(d string) {
	if t := a.stable[d]; t != nil {
		t.Stop()
		delete(a.stable, d)
	}
}

func (a *alerter) recovered(ev Event, msg string) {
	if !a.trouble[ev.Daemon] {
		return
	}
	delete(a.trouble, ev.Daemon)
	a.fire(alerton.Recovered, ev, msg)
}

// fire sends trigger to every alert that wants it for ev's daemon.
func (a *alerter) fire(trigger string, ev Event, msg string) {
	if trigger != alerton.Recovered {
		a.trouble[ev.Daemon] = true
	}
	for _, s := range a.specList() {
		if alertFires(&s, trigger, ev.Daemon) {
			a.limited(s, trigger, ev, msg)
		}
	}
}

// limited sends at once when the window of s and the daemon is over, and
// counts otherwise: the window's end sends one summary of what it counted.
func (a *alerter) limited(s AlertSpec, trigger string, ev Event, msg string) {
	k := limKey{s.Name, ev.Daemon, trigger == alerton.Recovered}
	now := time.Now()
	l := a.lims[k]
	if l != nil && now.Before(l.until) {
		l.n++
		l.counts[trigger]++
		l.last = ev
		if !l.armed {
			l.armed = true
			a.after(l.until.Sub(now), func() { a.summary(k) })
		}
		return
	}
	a.lims[k] = &alertLimit{until: now.Add(s.Window), counts: map[string]int{}}
	e := ev
	a.send(s, AlertPayload{Alert: s.Name, Trigger: trigger, Daemon: ev.Daemon, At: now, Message: msg, Event: &e})
}

func (a *alerter) summary(k limKey) {
	l := a.lims[k]
	if l == nil {
		return
	}
	l.armed = false
	s := a.spec(k.alert)
	if l.n == 0 || s == nil {
		delete(a.lims, k)
		return
	}
	var kinds []string
	for t, n := range l.counts {
		kinds = append(kinds, fmt.Sprintf("%s %d", t, n))
	}
	sort.Strings(kinds)
	now := time.Now()
	e := l.last
	p := AlertPayload{Alert: s.Name, Trigger: e.Kind, Daemon: k.daemon, At: now, Summary: true, Suppressed: l.n,
		SuppressedBy: l.counts, WindowSeconds: s.Window.Seconds(), Event: &e,
		Message: fmt.Sprintf("%s: %d more alerts in the last %s (%s)", k.daemon, l.n, s.Window, strings.Join(kinds, ", "))}
	for t := range l.counts {
		p.Trigger = t // the one trigger, or any of them
		break
	}
	if len(l.counts) > 1 {
		p.Trigger = "summary"
	}
	a.lims[k] = &alertLimit{until: now.Add(s.Window), counts: map[string]int{}}
	a.send(*s, p)
}

// send runs s's command with p in a goroutine of its own, and records what it did.
func (a *alerter) send(s AlertSpec, p AlertPayload) {
	a.mu.Lock()
	if a.running[s.Name] >= alertRunsMax {
		a.mu.Unlock()
		a.log.Warn("alert not sent", "alert", s.Name, "daemon", p.Daemon, "trigger", p.Trigger, "reason", "runs under way")
		a.emit(Event{Kind: EventAlertFailed, Daemon: p.Daemon, Alert: s.Name, Detail: p.Trigger,
			Reason: fmt.Sprintf("not sent: %d runs of the command are still under way", alertRunsMax)})
		return
	}
	a.running[s.Name]++
	a.mu.Unlock()
	a.runs.Go(func() {
		defer func() {
			a.mu.Lock()
			a.running[s.Name]--
			a.mu.Unlock()
		}()
		r := a.runCmd(a.ctx, s, p, a.env)
		a.record(s, p, r)
	})
}

func (a *alerter) record(s AlertSpec, p AlertPayload, r AlertResult) {
	out := r.Output
	if len(out) > 200 {
		out = "..." + strings.ToValidUTF8(out[len(out)-200:], "")
	}
	if r.OK() {
		a.log.Info("alert sent", "alert", s.Name, "daemon", p.Daemon, "trigger", p.Trigger, "summary", p.Summary,
			"duration_ms", r.DurationMS, "output", out)
		a.emit(Event{Kind: EventAlerted, Daemon: p.Daemon, Alert: s.Name, Detail: p.Trigger, Message: p.Message})
		return
	}
	a.log.Warn("alert failed", "alert", s.Name, "daemon", p.Daemon, "trigger", p.Trigger, "error", r.Error,
		"duration_ms", r.DurationMS, "output", out)
	a.emit(Event{Kind: EventAlertFailed, Daemon: p.Daemon, Alert: s.Name, Detail: p.Trigger, Reason: r.Error, Message: out})
}

// runAlert runs s's command with p as JSON on its standard input, in its own
// process group, in s.Dir with env and BEADSCTL_ALERT* set; on s.Timeout (or
// ctx done) the group gets SIGKILL. Only the tail of its output is kept.
func runAlert(ctx context.Context, s AlertSpec, p AlertPayload, env []string) (r AlertResult) {
	r = AlertResult{Alert: s.Name, Command: s.Command, Trigger: p.Trigger}
	start := time.Now()
	defer func() { r.DurationMS = float64(time.Since(start).Microseconds()) / 1000 }()
	in, err := json.Marshal(p)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	in = append(in, '\n')
	for _, kv := range [][2]string{{"BEADSCTL_ALERT", s.Name}, {"BEADSCTL_ALERT_TRIGGER", p.Trigger},
		{"BEADSCTL_ALERT_DAEMON", p.Daemon}, {"BEADSCTL_ALERT_MESSAGE", p.Message}} {
		env = withEnv(env, kv[0], kv[1])
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = alerton.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := tailbuf.New(alertOutputMax)
	proc, err := ExecRunner{}.Start(ctx, Command{Argv: s.Command, Dir: s.Dir, Env: env, Stdin: bytes.NewReader(in), Stdout: out, Stderr: out})
	if err != nil {
		r.Error = "cannot start " + quoteArgv(s.Command) + ": " + err.Error()
		return r
	}
	if !waitOrKill(ctx, proc) {
		r.Error = fmt.Sprintf("pid %d survived SIGKILL", proc.Pid())
		return r
	}
	r.Output = strings.TrimSpace(out.String())
	err = proc.Err()
	var ee *ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.Error = fmt.Sprintf("timed out after %s: its process group was killed", timeout)
	case ctx.Err() != nil:
		r.Error = "cancelled: the agent is stopping; its process group was killed"
	case errors.As(err, &ee):
		code := ee.Code
		r.ExitCode = &code
		r.Error = ee.Error()
	case err != nil:
		r.Error = err.Error()
	default:
		code := 0
		r.ExitCode = &code
	}
	return r
}

func quoteArgv(argv []string) string {
	if len(argv) == 0 {
		return "(no command)"
	}
	return fmt.Sprintf("%q", argv[0])
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// SampleAlert is the payload `beadsctl alert test` sends through s: its first
// trigger, for its first daemon (or "example").
func SampleAlert(s AlertSpec) AlertPayload {
	d := "example"
	if len(s.Daemons) > 0 {
		d = s.Daemons[0]
	}
	t := alerton.Errored
	if len(s.On) > 0 {
		t = s.On[0]
	}
	now := time.Now()
	ev := Event{At: now, Kind: EventErrored, Daemon: d, Reason: "a sample event sent by beadsctl alert test"}
	switch t { // the event that fires t
	case alerton.CrashLoop:
		ev.Kind, ev.Reason = EventRestarted, ReasonCrash
	case alerton.Memory:
		ev.Kind, ev.Message = EventMemory, "a sample event sent by beadsctl alert test"
	case alerton.Unhealthy, alerton.Recovered:
		ev.Kind, ev.Health, ev.From, ev.Message = EventHealth, "unhealthy", "healthy", "a sample event sent by beadsctl alert test"
		if t == alerton.Recovered {
			ev.Health, ev.From = "healthy", "unhealthy"
		}
	}
	return AlertPayload{Alert: s.Name, Trigger: t, Daemon: d, At: now, Test: true, Event: &ev,
		Message: fmt.Sprintf("beadsctl alert test: a sample %s alert for %s", t, d)}
}

// TestAlerts sends SampleAlert through the alert called name (every alert
// when name is "") and waits for the commands (in parallel), with env as
// their environment. An unknown name is an error.
func TestAlerts(ctx context.Context, specs []AlertSpec, name string, env []string) ([]AlertResult, error) {
	var pick []AlertSpec
	for _, s := range specs {
		if name == "" || s.Name == name {
			pick = append(pick, s)
		}
	}
	if name != "" && len(pick) == 0 {
		var names []string
		for _, s := range specs {
			names = append(names, s.Name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no alert %q: no alert is configured", name)
		}
		return nil, fmt.Errorf("no alert %q (the alerts are %s)", name, strings.Join(names, ", "))
	}
	out := make([]AlertResult, len(pick))
	var wg sync.WaitGroup
	for i, s := range pick {
		wg.Go(func() { out[i] = runAlert(ctx, s, SampleAlert(s), env) })
	}
	wg.Wait()
	return out, nil
}

// SetAlerts replaces the agent's alerts (no daemon is touched).
func (a *Agent) SetAlerts(specs []AlertSpec) {
	a.alerts.setSpecs(specs)
	a.markDirty() // agent.json records them for agent --restore
	a.log.Info("alerts set", "alerts", len(specs))
}

// handleAlerts serves GET /v1/alerts (the alerts the agent runs) and PUT
// /v1/alerts {"alerts": [...]} (replace them).
func (a *Agent) handleAlertsGet(w http.ResponseWriter, r *http.Request) {
	writeJSONBody(w, http.StatusOK, AlertsRequest{Alerts: a.alerts.specList()})
}

func (a *Agent) handleAlertsPut(w http.ResponseWriter, r *http.Request) {
	var req AlertsRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "malformed request: "+err.Error())
		return
	}
	for _, s := range req.Alerts {
		if s.Name == "" || len(s.Command) == 0 {
			writeAPIError(w, http.StatusBadRequest, "an alert needs a name and a command")
			return
		}
	}
	a.SetAlerts(req.Alerts)
	if err := a.flushRecord(r.Context()); err != nil { // agent --restore reads them there
		a.log.Warn("alerts set but not recorded", "error", err.Error())
	}
	writeJSONBody(w, http.StatusOK, AlertsRequest{Alerts: a.alerts.specList()})
}

// handleAlertsTest serves POST /v1/alerts/test {"name": "desk"}: the sample
// sent through the agent's alerts, from the agent's environment.
func (a *Agent) handleAlertsTest(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "malformed request: "+err.Error())
		return
	}
	res, err := TestAlerts(r.Context(), a.alerts.specList(), req.Name, a.alerts.env)
	if err != nil {
		writeAPIError(w, http.StatusNotFound, err.Error())
		return
	}
	for _, x := range res {
		a.log.Info("alert test", "alert", x.Alert, "ok", x.OK(), "error", x.Error, "duration_ms", x.DurationMS)
	}
	writeJSONBody(w, http.StatusOK, AlertTestResult{Results: res})
}
