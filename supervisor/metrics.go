package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The agent's metrics, in the Prometheus text format (version 0.0.4, which
// OpenMetrics scrapers read too): GET /v1/metrics on the control socket
// (`beadsctl metrics`) and, opted in, a TCP listener for scrapers
// (SetMetricsListen). Each scrape is written afresh from the daemons' Status,
// so nothing is kept between scrapes but the counters below. The agent's own
// process and Go runtime figures (process_resident_memory_bytes,
// go_goroutines, ...) are written in github.com/VictoriaMetrics/metrics's
// names and lines, which the agent used before (metrics_process.go).

// MetricsContentType is the scrape's content type.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// requestCounter counts the control API's requests by route and method.
type requestCounter struct {
	m sync.Map // "METHOD route" -> *atomic.Uint64
}

func (c *requestCounter) inc(method, route string) {
	k := method + " " + route
	v, ok := c.m.Load(k)
	if !ok {
		v, _ = c.m.LoadOrStore(k, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
}

// counted counts each request the mux serves by its route pattern (the
// unknown ones as "other").
func (c *requestCounter) counted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "other"
		}
		c.inc(r.Method, route)
	})
}

// metric families, in the order written.
type family struct {
	name, typ, help string
	samples         []sample
}

type sample struct {
	labels string // `{daemon="x",reason="crash"}`
	value  float64
}

func (f *family) add(value float64, kv ...string) {
	var b strings.Builder
	if len(kv) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(kv); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(kv[i])
			b.WriteString(`="`)
			b.WriteString(escapeLabel(kv[i+1]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	f.samples = append(f.samples, sample{labels: b.String(), value: value})
}

func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// allStates are the states beadsctl_daemon_state reports, one series each.
var allStates = []State{StateStarting, StateOnline, StateStopping, StateStopped, StateWaitingRestart,
	StateErrored, StateWaiting, StateCompleted}

// allHealth are the verdicts beadsctl_daemon_health reports.
var allHealth = []string{"unknown", "healthy", "degraded", "unhealthy"}

// allReasons are the restart reasons the counter always reports (0 until one happens).
var allReasons = []string{ReasonCrash, ReasonMemory, ReasonHealth, ReasonManual, ReasonConfig, ReasonDependency}

// WriteMetrics writes the agent's metrics to w.
func (a *Agent) WriteMetrics(w io.Writer) error {
	now := time.Now()
	st := a.AgentStatus()
	fams := []*family{
		{name: "beadsctl_daemon_up", typ: "gauge", help: "1 when the daemon's process is online."},
		{name: "beadsctl_daemon_state", typ: "gauge", help: "1 for the daemon's current state, 0 for the others."},
		{name: "beadsctl_daemon_restarts_total", typ: "counter", help: "Restarts since the agent started, by reason."},
		{name: "beadsctl_daemon_uptime_seconds", typ: "gauge", help: "Seconds since the current run started (0 when not running)."},
		{name: "beadsctl_daemon_last_exit_code", typ: "gauge", help: "Exit code of the last run that ended (-1: killed by a signal)."},
		{name: "beadsctl_daemon_memory_rss_bytes", typ: "gauge", help: "Resident memory of the daemon's process group."},
		{name: "beadsctl_daemon_cpu_seconds_total", typ: "counter", help: "User+system CPU seconds of the current run's process group."},
		{name: "beadsctl_daemon_memory_limit_bytes", typ: "gauge", help: "The daemon's memory limit (limits.memory)."},
		{name: "beadsctl_daemon_health", typ: "gauge", help: "1 for the last health check's verdict, 0 for the others (daemons with a check)."},
		{name: "beadsctl_daemon_health_check_latency_seconds", typ: "gauge", help: "How long the last counted health check took."},
		{name: "beadsctl_agent_control_requests_total", typ: "counter", help: "Requests served on the control socket, by route."},
		{name: "beadsctl_agent_events_dropped_total", typ: "counter", help: "Events not recorded because the writer fell behind."},
		{name: "beadsctl_agent_daemons", typ: "gauge", help: "Daemons the agent hosts."},
	}
	var mem MemoryFunc
	up, state, restarts, uptime, exit, rss, cpu, limit, health, latency, reqs, dropped, daemons :=
		fams[0], fams[1], fams[2], fams[3], fams[4], fams[5], fams[6], fams[7], fams[8], fams[9], fams[10], fams[11], fams[12]
	for _, s := range st.Daemons {
		n := s.Name
		online := s.State == StateOnline && s.Pid > 0
		up.add(boolf(online), "daemon", n)
		for _, x := range allStates {
			state.add(boolf(s.State == x), "daemon", n, "state", string(x))
		}
		for _, r := range allReasons {
			restarts.add(float64(s.RestartsByReason[r]), "daemon", n, "reason", r)
		}
		var up float64
		if online {
			start := s.StartTime
			if start.IsZero() {
				start = s.LastChange
			}
			up = max(now.Sub(start).Seconds(), 0)
		}
		uptime.add(up, "daemon", n)
		if s.LastExit != nil {
			exit.add(float64(s.LastExit.Code), "daemon", n)
		}
		if s.Pid > 0 && s.MemoryBytes == 0 {
			// Not sampled yet (a daemon without a limit is read on the next
			// whole second after its start): read now, every such group from
			// one reading of the process table, rather than report 0.
			if mem == nil {
				mem = GroupMemorySnapshot()
			}
			if v, err := mem(context.Background(), s.Pid); err == nil {
				s.MemoryBytes = v
			}
		}
		rss.add(float64(s.MemoryBytes), "daemon", n)
		cpu.add(s.CPUSeconds, "daemon", n)
		if s.MemoryLimitBytes > 0 {
			limit.add(float64(s.MemoryLimitBytes), "daemon", n)
		}
		if s.Health.Status != "" {
			for _, h := range allHealth {
				health.add(boolf(s.Health.Status == h), "daemon", n, "status", h)
			}
		}
		if k := len(s.RecentHealth); k > 0 {
			latency.add(s.RecentHealth[k-1].LatencyMS/1000, "daemon", n)
		}
	}
	var routes []string
	counts := map[string]uint64{}
	a.requests.m.Range(func(k, v any) bool {
		routes = append(routes, k.(string))
		counts[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	slices.Sort(routes)
	for _, k := range routes {
		method, route, _ := strings.Cut(k, " ")
		reqs.add(float64(counts[k]), "method", method, "route", route)
	}
	dropped.add(float64(a.events.droppedTotal.Load()))
	daemons.add(float64(len(st.Daemons)))

	var b bytes.Buffer
	for _, f := range fams {
		if len(f.samples) == 0 {
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
		for _, s := range f.samples {
			b.WriteString(f.name)
			b.WriteString(s.labels)
			b.WriteByte(' ')
			b.WriteString(strconv.FormatFloat(s.value, 'f', -1, 64))
			b.WriteByte('\n')
		}
	}
	writeProcessMetrics(&b) // the agent's own: process_resident_memory_bytes, go_goroutines, ... (metrics_process.go)
	_, err := w.Write(b.Bytes())
	return err
}

func (a *Agent) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", MetricsContentType)
	_ = a.WriteMetrics(w)
}

// metricsServer is the opt-in TCP listener for scrapers.
type metricsServer struct {
	mu   sync.Mutex
	addr string
	srv  *http.Server
	ln   net.Listener
	// want is the address last asked for, served or not (taken): what
	// agent.json records, for `agent --restore` to ask for it again.
	want string
	// failed is why want is not served ("" when it is, or none is asked).
	failed string
}

// wanted is the address the listener was last asked to serve ("" for none),
// and why it is not served ("" when it is).
func (m *metricsServer) wanted() (addr, failed string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.want, m.failed
}

// SetMetricsListen serves the metrics on addr (host:port; "" stops serving).
// The address was checked by the caller (beads.hcl: loopback unless
// allow_remote). An address that cannot be bound is an error, and changes
// nothing else: the daemons and the control socket are not concerned.
func (a *Agent) SetMetricsListen(addr string) (string, error) {
	m := &a.metricsSrv
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.want != addr {
		m.want = addr
		a.markDirty() // agent.json records it for agent --restore
	}
	if addr == m.addr && (addr == "" || m.srv != nil) {
		return m.bound(), nil
	}
	if m.srv != nil {
		_ = m.srv.Close()
		m.srv, m.ln, m.addr = nil, nil, ""
	}
	m.failed = ""
	if addr == "" {
		a.log.Info("metrics listener stopped")
		return "", nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.log.Warn("metrics listener not started", "listen", addr, "error", err.Error())
		var oe *net.OpError
		if errors.As(err, &oe) && strings.Contains(err.Error(), "address already in use") {
			err = fmt.Errorf("metrics: %s is taken by another process (metrics.listen): %w", addr, err)
		} else {
			err = fmt.Errorf("metrics: cannot listen on %s: %w", addr, err)
		}
		m.failed = err.Error()
		a.markDirty()
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", a.handleMetrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: controlHeaderTimeout, WriteTimeout: controlWriteTimeout,
		IdleTimeout: controlIdleTimeout}
	m.srv, m.ln, m.addr = srv, ln, addr
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener failed", "listen", addr, "error", err.Error())
		}
	}()
	a.log.Info("metrics listening", "listen", ln.Addr().String())
	return m.bound(), nil
}

func (m *metricsServer) bound() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

func (m *metricsServer) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.srv != nil {
		_ = m.srv.Close()
		m.srv, m.ln, m.addr = nil, nil, ""
	}
}

// handleMetricsListen serves PUT /v1/metrics/listen {"listen": "host:port"}.
func (a *Agent) handleMetricsListen(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Listen string `json:"listen"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "malformed request: "+err.Error())
		return
	}
	bound, err := a.SetMetricsListen(req.Listen)
	if ferr := a.flushRecord(r.Context()); ferr != nil { // agent --restore reads it there
		a.log.Warn("metrics address set but not recorded", "error", ferr.Error())
	}
	res := MetricsListenResult{Listen: bound}
	if err != nil {
		res.Error = err.Error()
	}
	writeJSONBody(w, http.StatusOK, res)
}
