package agentapi

import (
	"encoding/json"
	"math"
	"time"

	"github.com/beadsctl/beadsctl/internal/bd"
)

// State is where a daemon is in its life cycle.
type State string

// The states of a daemon.
const (
	StateStarting       State = "starting"
	StateOnline         State = "online"
	StateStopping       State = "stopping"
	StateStopped        State = "stopped"
	StateWaitingRestart State = "waiting-restart"
	StateErrored        State = "errored"
	// StateWaiting: not started, because a dependency does not meet its
	// condition yet (Status.Reason says which; Status.Blocked when it will
	// not by itself).
	StateWaiting State = "waiting"
	// StateCompleted: a one-shot (restart policy once) exited 0.
	StateCompleted State = "completed"
)

// Reasons for a restart, recorded in Status.LastRestartReason.
const (
	ReasonCrash  = "crash"
	ReasonMemory = "memory"
	ReasonHealth = "health"
	ReasonManual = "manual"
	ReasonConfig = "config"
	// ReasonDependency: a dependency with on_restart = "restart" restarted.
	ReasonDependency = "dependency"
)

// Exit describes how a process ended.
type Exit struct {
	Code   int       `json:"code"`             // -1 when killed by a signal
	Signal string    `json:"signal,omitempty"` // e.g. "SIGKILL"
	At     time.Time `json:"at"`
	// Uptime of the run that ended; in JSON uptime_seconds, as the status
	// rows beside it (see MarshalJSON).
	Uptime time.Duration `json:"-"`
	// LogTail is the last lines of .beads/daemon.log for bd daemons (bd exits 0
	// on many failures), or of the daemon's stderr otherwise.
	LogTail []string `json:"log_tail,omitempty"`
}

// exitJSON is Exit's JSON: uptime in seconds; "uptime" in nanoseconds is what
// agents (and agent.json records) before uptime_seconds wrote, still read.
type exitJSON struct {
	Code          int       `json:"code"`
	Signal        string    `json:"signal,omitempty"`
	At            time.Time `json:"at"`
	UptimeSeconds *float64  `json:"uptime_seconds,omitempty"`
	UptimeNanos   *int64    `json:"uptime,omitempty"`
	LogTail       []string  `json:"log_tail,omitempty"`
}

// MarshalJSON writes the uptime as uptime_seconds.
func (e Exit) MarshalJSON() ([]byte, error) {
	secs := e.Uptime.Seconds()
	return json.Marshal(exitJSON{Code: e.Code, Signal: e.Signal, At: e.At, UptimeSeconds: &secs, LogTail: e.LogTail})
}

// UnmarshalJSON reads uptime_seconds, or the nanoseconds of an older writer.
func (e *Exit) UnmarshalJSON(b []byte) error {
	var j exitJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Exit{Code: j.Code, Signal: j.Signal, At: j.At, LogTail: j.LogTail}
	switch {
	case j.UptimeSeconds != nil:
		e.Uptime = time.Duration(math.Round(*j.UptimeSeconds * float64(time.Second)))
	case j.UptimeNanos != nil:
		e.Uptime = time.Duration(*j.UptimeNanos)
	}
	return nil
}

// RestartEvent is one restart of a daemon, as the agent keeps the last few
// (Status.RecentRestarts, at most MaxRecentRestarts): when, why, and how the
// run before it ended.
type RestartEvent struct {
	At time.Time `json:"at"`
	// Reason is ReasonCrash, ReasonMemory, ReasonHealth, ReasonManual or ReasonConfig.
	Reason string `json:"reason"`
	// Detail says more where the reason alone does not: the memory over the
	// limit, the failing health check's message.
	Detail string `json:"detail,omitempty"`
	// Exit is how the run before ended (without its log tail); nil when
	// there was none.
	Exit *Exit `json:"exit,omitempty"`
}

// HealthEvent is one counted health check (Status.RecentHealth, at most
// MaxRecentHealth): when, its verdict and how long it took.
type HealthEvent struct {
	At      time.Time `json:"at"`
	Status  string    `json:"status"`
	Message string    `json:"message,omitempty"`
	// LatencyMS is how long the check took, in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
}

// How many restarts and health checks a daemon's Status keeps: a short,
// bounded history for `beadsctl show`, not an event log.
const (
	MaxRecentRestarts = 10
	MaxRecentHealth   = 10
)

// HealthStatus is the result of the last health check.
type HealthStatus struct {
	// Status is "unknown", "healthy", "degraded" or "unhealthy"; "" when no check is configured.
	Status              string    `json:"status,omitempty"`
	Message             string    `json:"message,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures,omitempty"`
	CheckedAt           time.Time `json:"checked_at,omitzero"`
	// Version is what a beads-rpc check learned of the running daemon's version.
	Version string `json:"version,omitempty"`
	// DBResponseMS is bd's db_response_ms from the health RPC (or the time of the SQL check's SHOW DATABASES).
	DBResponseMS float64 `json:"db_response_ms,omitempty"`
	// SQL is what a sql check learned of the server (dolt version, databases, connections).
	SQL *bd.SQLReport `json:"sql,omitempty"`
}

// DoltStatus is what the supervisor did for a bd 1.x Dolt server.
type DoltStatus struct {
	Port      int    `json:"port"`
	ServerDir string `json:"server_dir"`
	// FilesError is set while dolt-server.pid/.port could not be written:
	// bd commands then do not find the server and may start a rival.
	FilesError string `json:"files_error,omitempty"`
	// LastFlush is the flush before the last stop signal.
	LastFlush *Flush `json:"last_flush,omitempty"`
}

// Flush is the outcome of one flush of the working set before a stop.
type Flush struct {
	At        time.Time `json:"at"`
	Committed []string  `json:"committed,omitempty"`
	Error     string    `json:"error,omitempty"`
	MS        float64   `json:"ms"`
}

// Status is what the supervisor knows of one daemon. It is the JSON the agent serves.
type Status struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Reason explains the state: why it is errored or stopped.
	Reason string `json:"reason,omitempty"`
	// Pid and StartTime identify the running process (0 / zero when none).
	// StartTime is the OS process creation time (ms precision), used to check a pid
	// was not recycled before any signal is sent.
	Pid       int       `json:"pid,omitempty"`
	StartTime time.Time `json:"start_time,omitzero"`
	// Argv, Dir and EnvHash are what the running process was started with
	// (EnvHash is the spec's, as the client hashed its environment).
	Argv    []string `json:"argv,omitempty"`
	Dir     string   `json:"dir,omitempty"`
	EnvHash string   `json:"env_hash,omitempty"`
	// SpecHash is Spec.Hash of the spec this daemon runs.
	SpecHash string `json:"spec_hash,omitempty"`

	Restarts          int       `json:"restarts"`
	UnstableRestarts  int       `json:"unstable_restarts"`
	LastRestartReason string    `json:"last_restart_reason,omitempty"`
	LastExit          *Exit     `json:"last_exit,omitempty"`
	LastChange        time.Time `json:"last_change"`
	// RecentRestarts are the last restarts, oldest first (MaxRecentRestarts).
	RecentRestarts []RestartEvent `json:"recent_restarts,omitempty"`
	// RestartsByReason counts Restarts by reason (ReasonCrash...), since the
	// agent started: the metrics' restarts counter.
	RestartsByReason map[string]int `json:"restarts_by_reason,omitempty"`

	MemoryBytes      uint64  `json:"memory_bytes"`
	MemoryLimitBytes uint64  `json:"memory_limit_bytes,omitempty"`
	CPUPercent       float64 `json:"cpu_percent"`
	// CPUSeconds is the user+system CPU time of the run's group members alive
	// at the last sample (0 with a custom MemoryFunc).
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`

	Health HealthStatus `json:"health"`
	// RecentHealth are the last counted health checks, oldest first
	// (MaxRecentHealth); the fast probes while a daemon starts are not counted.
	RecentHealth []HealthEvent `json:"recent_health,omitempty"`
	// LogError is the last error writing the daemon's log files, if writing is failing now.
	LogError string `json:"log_error,omitempty"`
	// Stopped is true when a user stopped the daemon on purpose (stop verb).
	Stopped bool `json:"stopped,omitempty"`
	// Blocked is set while the daemon waits (StateWaiting) on a dependency
	// that failed (errored, or exited for good): it will not start by itself
	// until that dependency recovers. Reason says which and why.
	Blocked bool `json:"blocked,omitempty"`
	// CompletedAt is when a one-shot last completed (StateCompleted).
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// Dolt is set for a bd 1.x Dolt server (Spec.Dolt).
	Dolt *DoltStatus `json:"dolt,omitempty"`
	// LastEvent is the last event of the daemon (events.go), nil before any.
	LastEvent *Event `json:"last_event,omitempty"`
}

// Brief drops from st what beadsctl status does not show: each daemon's
// argv, folder, hashes, recent restarts and health checks and restart counts
// by reason, and the alerts. 50 daemons' status is 33 KB, brief 19 KB: the
// JSON the command decodes and the agent encodes. An agent older than this
// ignores ?brief=1 and answers all of it.
func (st *AgentStatus) Brief() {
	st.Alerts = nil
	for i := range st.Daemons {
		d := &st.Daemons[i]
		d.Argv, d.Dir, d.EnvHash, d.SpecHash = nil, "", "", ""
		d.RecentRestarts, d.RestartsByReason, d.RecentHealth = nil, nil, nil
	}
}

// AgentStatus is the whole agent's answer to GET /v1/status.
type AgentStatus struct {
	Pid       int       `json:"pid"`
	StartTime time.Time `json:"start_time"`
	Dir       string    `json:"dir"`
	Version   string    `json:"version"`
	// API is the control API the agent speaks (APIVersion); 0 from an agent
	// older than the handshake.
	API     int      `json:"api"`
	Daemons []Status `json:"daemons"`
	// Alerts are the alerts the agent runs (beads.hcl's, as last applied).
	Alerts []AlertSpec `json:"alerts,omitempty"`
	// MetricsListen is the address the agent was last asked to serve its
	// metrics on (beads.hcl's metrics.listen, as last applied), served or
	// not; "" for none. agent.json records it with Alerts, which `agent
	// --restore` sets again at boot.
	MetricsListen string `json:"metrics_listen,omitempty"`
	// MetricsError is why MetricsListen is not served (taken by another
	// process, say: at boot, where no apply reports it); "" when it is.
	MetricsError string `json:"metrics_error,omitempty"`
}
