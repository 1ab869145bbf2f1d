package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
)

// The control API, HTTP + JSON over the agent's unix socket. Errors are
// {"error": "..."} with 400 (malformed), 404 (unknown daemon or path), 405,
// 413 (body over MaxBodyBytes) or 500.
//
//	GET    /v1/status[?brief=1]            -> AgentStatus (brief: without what beadsctl status does not show, Brief)
//	PUT    /v1/daemons/{name}              Spec -> PutResult
//	DELETE /v1/daemons/{name}              -> DaemonResult (graceful stop, forgotten)
//	POST   /v1/daemons/{name}/restart      -> DaemonResult
//	POST   /v1/daemons/{name}/stop         -> DaemonResult (returns once stopped)
//	POST   /v1/daemons/{name}/start        -> DaemonResult
//	POST   /v1/daemons/{name}/logs/flush -> FlushResult (empties the log files in place)
//	GET    /v1/daemons/{name}/wait?for=online|stopped&healthy=1&timeout=10s&settle=300ms&not_pid=N -> WaitResult
//	       (not_pid: a run with that pid is not the one awaited: a restart the agent makes itself)
//	GET    /v1/events?daemon=NAME          -> the events from now on, one JSON Event a line, until the agent stops
//	GET    /v1/metrics                     -> the metrics, Prometheus text format (metrics.go)
//	PUT    /v1/metrics/listen              {"listen": "127.0.0.1:9464"} -> MetricsListenResult (serve them on TCP; "" stops)
//	GET    /v1/alerts                      -> AlertsRequest (the alerts the agent runs)
//	PUT    /v1/alerts                      AlertsRequest -> AlertsRequest (replace them; no daemon is touched)
//	POST   /v1/alerts/test                 {"name": "desk"} -> AlertTestResult (a sample through each alert, "" for all)
//	POST   /v1/shutdown                    -> {} once every daemon has stopped; then the agent exits

func (a *Agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/status", methods{http.MethodGet: a.handleStatus})
	mux.Handle("/v1/shutdown", methods{http.MethodPost: a.handleShutdown})
	mux.Handle("/v1/daemons/{name}", methods{http.MethodPut: a.handlePut, http.MethodDelete: a.handleDelete})
	mux.Handle("/v1/daemons/{name}/restart", methods{http.MethodPost: a.handleVerb})
	mux.Handle("/v1/daemons/{name}/stop", methods{http.MethodPost: a.handleVerb})
	mux.Handle("/v1/daemons/{name}/start", methods{http.MethodPost: a.handleVerb})
	mux.Handle("/v1/daemons/{name}/wait", methods{http.MethodGet: a.handleWait})
	mux.Handle("/v1/daemons/{name}/logs/flush", methods{http.MethodPost: a.handleFlush})
	mux.Handle("/v1/events", methods{http.MethodGet: a.handleEvents})
	mux.Handle("/v1/metrics", methods{http.MethodGet: a.handleMetrics})
	mux.Handle("/v1/metrics/listen", methods{http.MethodPut: a.handleMetricsListen})
	mux.Handle("/v1/alerts", methods{http.MethodGet: a.handleAlertsGet, http.MethodPut: a.handleAlertsPut})
	mux.Handle("/v1/alerts/test", methods{http.MethodPost: a.handleAlertsTest})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return a.handshake(a.requests.counted(mux))
}

// handshake names the agent's API and version on every answer, and refuses a
// request that names another API (a request without the header is served),
// but for GET /v1/status and POST /v1/shutdown: they keep their meaning across
// APIs, so that a CLI of any API sees this agent and can replace it.
func (a *Agent) handshake(next http.Handler) http.Handler {
	api := strconv.Itoa(APIVersion)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderAPI, api)
		w.Header().Set(HeaderVersion, a.opts.Version)
		anyAPI := r.Method == http.MethodGet && r.URL.Path == "/v1/status" || r.Method == http.MethodPost && r.URL.Path == "/v1/shutdown"
		if want := r.Header.Get(HeaderAPI); want != "" && want != api && !anyAPI {
			writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("this agent (beadsctl %s) speaks control API %s, the request is for API %s (beadsctl %s): run that beadsctl's apply to replace the agent",
				a.opts.Version, api, want, r.Header.Get(HeaderVersion)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// methods dispatches on the request method and answers 405 (JSON) otherwise.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeAPIError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
}

func writeJSONBody(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody decodes a JSON request body of at most MaxBodyBytes into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeAPIError(w http.ResponseWriter, code int, msg string) {
	writeJSONBody(w, code, APIError{Error: msg})
}

func (a *Agent) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := a.AgentStatus()
	if r.URL.Query().Get("brief") == "1" {
		st.Brief()
	}
	b, err := agentapi.AppendAgentStatus(nil, &st)
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, "status: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Its length, not chunks: the client reads it into one buffer of that size.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// handleShutdown answers once every daemon has stopped.
func (a *Agent) handleShutdown(w http.ResponseWriter, r *http.Request) {
	a.log.Info("shutdown requested")
	a.requestShutdown()
	select {
	case <-a.stopped:
	case <-r.Context().Done():
		select {
		case <-a.stopped: // the serving context ends just after the daemons stopped
		default:
			return
		}
	}
	writeJSONBody(w, http.StatusOK, struct{}{})
}

func (a *Agent) handlePut(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var spec Spec
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields() // a field this agent does not know is a spec it cannot carry out
	if err := dec.Decode(&spec); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeAPIError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", MaxBodyBytes))
			return
		}
		writeAPIError(w, http.StatusBadRequest, "malformed spec: "+err.Error())
		return
	}
	if spec.Name == "" {
		spec.Name = name
	}
	if spec.Name != name {
		writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("spec name %q does not match the path's %q", spec.Name, name))
		return
	}
	res, err := a.put(r.Context(), spec, false)
	switch {
	case errors.Is(err, errBadSpec):
		writeAPIError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeAPIError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSONBody(w, http.StatusOK, res)
	}
}

func (a *Agent) handleDelete(w http.ResponseWriter, r *http.Request) {
	st, err := a.remove(r.PathValue("name"))
	if err != nil {
		writeAPIError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSONBody(w, http.StatusOK, DaemonResult{Status: st})
}

// handleVerb serves restart, stop and start.
func (a *Agent) handleVerb(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h, ok := a.lookup(name)
	if !ok {
		writeAPIError(w, http.StatusNotFound, fmt.Sprintf("%v: %q", ErrUnknownDaemon, name))
		return
	}
	verb := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	switch verb {
	case "restart", "start":
		if a.hasPanicked(h) {
			// A loop that panicked is replaced by a fresh one with the same spec.
			if _, err := a.respawn(r, h); err != nil {
				writeAPIError(w, http.StatusServiceUnavailable, err.Error())
				return
			}
			h, _ = a.lookup(name)
		} else if verb == "restart" {
			old := h.d.Status().Pid
			h.d.Restart(ReasonManual)
			if old != 0 {
				a.awaitLeave(r.Context(), h, old)
			}
		} else {
			h.d.Start()
		}
	case "stop":
		if err := h.d.Stop(r.Context()); err != nil {
			writeAPIError(w, http.StatusInternalServerError, "stop: "+err.Error())
			return
		}
	}
	a.log.Info("daemon verb", "daemon", name, "verb", verb)
	a.markDirty()
	writeJSONBody(w, http.StatusOK, DaemonResult{Status: a.status(h)})
}

// handleFlush empties a daemon's log files through its log writer.
func (a *Agent) handleFlush(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h, ok := a.lookup(name)
	if !ok {
		writeAPIError(w, http.StatusNotFound, fmt.Sprintf("%v: %q", ErrUnknownDaemon, name))
		return
	}
	paths, err := h.d.FlushLogs()
	res := FlushResult{Flushed: paths}
	if err != nil {
		res.Error = err.Error()
	}
	a.log.Info("daemon logs flushed", "daemon", name, "files", len(paths))
	writeJSONBody(w, http.StatusOK, res)
}

// respawn replaces a panicked daemon by a new one running the same spec.
func (a *Agent) respawn(r *http.Request, h *hosted) (PutResult, error) {
	return a.put(r.Context(), h.d.Spec(), false)
}

func (a *Agent) handleWait(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	q := r.URL.Query()
	want := q.Get("for")
	if want == "" {
		want = string(StateOnline)
	}
	if want != string(StateOnline) && want != string(StateStopped) {
		writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("for=%q: want online or stopped", want))
		return
	}
	healthy, _ := strconv.ParseBool(q.Get("healthy"))
	notPid, _ := strconv.Atoi(q.Get("not_pid"))
	var since time.Time // when the caller asked for the run it waits for
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("since=%q: not an RFC 3339 time", s))
			return
		}
		since = t
	}
	timeout := 10 * time.Second
	if s := q.Get("timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("timeout=%q: not a duration", s))
			return
		}
		timeout = min(d, MaxWait)
	}
	h, ok := a.lookup(name)
	if !ok {
		writeAPIError(w, http.StatusNotFound, fmt.Sprintf("%v: %q", ErrUnknownDaemon, name))
		return
	}
	// A process that is online only for an instant before it crashes is not
	// "online". By default it is online once its program runs (the exec
	// succeeded: Runner.Start returned) and it has not exited within the
	// early-exit window, earlyExitWindow of its own time (min_uptime when
	// shorter): long enough for a bad flag, a missing file or a taken port
	// to show in a program that fails as it starts, without making every
	// apply wait for the slowest failure there could be. settle asks for a
	// longer window of wall time (health.online_after). A daemon with a
	// health check is proven up by its first healthy answer.
	window := min(h.d.Spec().Restart.MinUptime, earlyExitWindow)
	var settle time.Duration
	if s := q.Get("settle"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			writeAPIError(w, http.StatusBadRequest, fmt.Sprintf("settle=%q: not a duration", s))
			return
		}
		settle = min(d, MaxWait)
	}
	extendDeadlines(w, timeout+max(settle, earlyExitMaxWait)) // the answer comes at the latest after both
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	settleT := time.NewTimer(0)
	var clock ownClock
	defer settleT.Stop()
	for {
		h, ok := a.lookup(name)
		if !ok {
			writeAPIError(w, http.StatusNotFound, fmt.Sprintf("daemon %q was removed while waiting", name))
			return
		}
		changed := h.d.Changed()
		st := a.status(h)
		res := waitOutcome(st, h.d.Spec(), want, healthy, since)
		if notPid > 0 && st.Pid == notPid && want == string(StateOnline) {
			res = "" // the old run, on its way out
		}
		var settled <-chan time.Time
		// A healthy answer from the daemon proves it is up: no need to settle.
		provenHealthy := healthy && (st.Health.Status == "healthy" || st.Health.Status == "degraded")
		if res == WaitReached && want == string(StateOnline) && !provenHealthy && st.State != StateCompleted {
			left := settle - time.Since(st.LastChange)
			if settle == 0 {
				left = earlyExitLeft(h.d, st, window, &clock)
			}
			if left > 0 {
				res = ""
				settleT.Reset(left)
				settled = settleT.C
			}
		}
		if res != "" {
			writeJSONBody(w, http.StatusOK, WaitResult{Status: st, Result: res})
			return
		}
		select {
		case <-changed:
		case <-h.done:
		case <-settled:
		case <-deadline.C:
			writeJSONBody(w, http.StatusOK, WaitResult{Status: a.status(h), Result: WaitTimeout})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// The early-exit window: a run is online once it has run earlyExitWindow of
// its own time without exiting. Its own time is the wall time since it was
// started less the time it spent waiting for a CPU (the kernel's run delay,
// /proc/<pid>/schedstat, and the wait under way, ownClock): on a loaded
// machine a program that fails at once still gets the time to fail, instead
// of being called online before it ran. A run starved for earlyExitMaxWait
// of wall time is called online anyway.
const (
	earlyExitWindow  = 20 * time.Millisecond
	earlyExitMaxWait = time.Second
	// earlyExitRecheck is how soon a wait looks again at a run whose process
	// has exited while its daemon's loop has not recorded it yet, or that is
	// not asleep (ownClock).
	earlyExitRecheck = 2 * time.Millisecond
)

// ownClock measures a run's own time over the readings of one wait. The
// kernel adds a wait for a CPU to the run delay only when it ends (as the
// task gets a CPU), so a run waiting now reads as if it ran all along, and
// a run blocked in the kernel (state D: paging its program in from a busy
// disk) is not waiting for a CPU at all: at load 10 an `sh -c 'exit 3'` was
// called online at 21 ms, 0.8 ms of it on a CPU, in state D. Between two
// readings where its CPU time did not move, a run read runnable (R) may
// have waited for a CPU all that time (until the kernel accounts it) and a
// run read blocked (D) was: neither is its own time. And a run is called
// online only when it is read asleep (S: waiting on its own work, as a
// daemon at rest does), never while it runs, is blocked or stopped: the
// wait reads it again.
type ownClock struct {
	pid     int
	last    schedReading
	at      time.Time
	pending time.Duration // runnable, maybe waiting, not yet in last.delay
	blocked time.Duration // blocked in the kernel
}

// own returns the own time of the run of pid, up since its start, read as r
// at now; sure is false when it cannot be told yet (read it again soon).
func (c *ownClock) own(pid int, up time.Duration, now time.Time, r schedReading) (own time.Duration, sure bool) {
	if !r.known {
		return up, true
	}
	if c.pid != pid {
		*c = ownClock{pid: pid}
	} else if still := r.cpu == c.last.cpu; still && r.state == 'R' && r.delay == c.last.delay {
		c.pending += now.Sub(c.at)
	} else if still && r.state == 'D' && c.last.state == 'D' {
		c.blocked += now.Sub(c.at)
	}
	if r.delay != c.last.delay {
		c.pending = 0 // the wait was accounted
	}
	c.last, c.at = r, now
	return up - r.delay - c.pending - c.blocked, r.state == 'S'
}

// earlyExitLeft is how much longer a wait for st's run to be online must go
// on (0: it is online). A process found exited (a zombie, or a run the
// runner saw end) is never online: the wait goes on until the daemon
// records the exit.
func earlyExitLeft(d *Daemon, st Status, window time.Duration, c *ownClock) time.Duration {
	up := time.Since(st.LastChange)
	// The schedule is read first: the process is then known to have run at
	// least until that reading when the checks after it say it still runs
	// (a process reaped in between reads as unknown). st may be stale: read
	// before the loop recorded an exit the runner has seen (runEnded; a
	// program that failed as it started was called online at 64 ms, its
	// exit under way, when only /proc was asked).
	r := readSched(st.Pid)
	if r.state == 'Z' || r.state == 'X' || d.runEnded(st.Pid) {
		return earlyExitRecheck
	}
	if up >= earlyExitMaxWait {
		return 0
	}
	own, sure := c.own(st.Pid, up, time.Now(), r)
	if own >= window {
		if sure {
			return 0
		}
		return earlyExitRecheck
	}
	left := min(window-own, earlyExitMaxWait-up)
	if !sure {
		left = min(left, earlyExitRecheck)
	}
	return left
}

// waitOutcome says whether a wait is over and how ("" when it goes on). since
// (zero: not asked) is when the caller asked for the run it waits for: a run
// that started after it and ended, the daemon not online again, is WaitExited.
func waitOutcome(st Status, spec Spec, want string, healthy bool, since time.Time) string {
	if want == string(StateStopped) {
		switch st.State {
		case StateStopped:
			return WaitReached
		case StateErrored:
			return WaitErrored
		}
		return ""
	}
	if spec.Restart.Policy == PolicyOnce {
		// A one-shot is there when it completed, not while it runs.
		switch st.State {
		case StateCompleted:
			return WaitReached
		case StateErrored:
			return WaitErrored
		case StateWaiting:
			if st.Blocked {
				return WaitBlocked
			}
		case StateStopped:
			if st.Stopped {
				return WaitStopped
			}
		}
		return ""
	}
	switch st.State {
	case StateWaiting:
		if st.Blocked {
			return WaitBlocked
		}
	case StateOnline:
		check := spec.Health.Check
		if !healthy || check == "" || check == "none" || st.Health.Status == "healthy" || st.Health.Status == "degraded" {
			return WaitReached
		}
	case StateErrored:
		return WaitErrored
	case StateStopped:
		// A daemon not started yet may report stopped too: only a stop on
		// purpose or a run that ended is final.
		if st.Stopped || st.LastExit != nil {
			return WaitStopped
		}
	default:
		// Only a run started since counts: the run a restart stopped ended
		// after since too, but it is not the one waited for.
		if e := st.LastExit; e != nil && !since.IsZero() && !e.At.Add(-e.Uptime).Before(since) {
			return WaitExited
		}
	}
	return ""
}
