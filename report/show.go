package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// DaemonReport is `beadsctl show DAEMON`: everything known of one daemon. Its
// exported fields and json tags are `show --json`; the human view is rendered
// from the same value.
type DaemonReport struct {
	Name string `json:"name"`
	// Agent says where the live facts come from, as in status: the agent, its
	// last record (agent.json) when it is down, or only the state.
	Agent AgentReport `json:"agent"`
	// Env is the profile of the last apply.
	Env string `json:"env"`
	// Process is the daemon's row of status (nil when it was never applied and
	// the agent does not run it); StartTime the OS start time of its process.
	Process   *DaemonRow `json:"process"`
	StartTime time.Time  `json:"start_time,omitzero"`
	// Spec is the daemon as beads.hcl declares it (SpecSource "beads.hcl"),
	// sensitive values masked; when beads.hcl does not load or no longer
	// declares it, as the last apply recorded it (SpecSource "state":
	// environment values are keyed hashes there).
	Spec       *schema.Daemon `json:"spec"`
	SpecSource string         `json:"spec_source"`
	// Attributes are Spec's attributes with a value, as plan shows a start.
	Attributes []reconcile.Attribute `json:"attributes"`
	// ConfigError is why beads.hcl does not load, when it does not.
	ConfigError string `json:"config_error,omitempty"`
	// Applied is what the last apply recorded of it; nil when never applied.
	Applied *AppliedDaemon `json:"applied"`
	// Pending are the attributes beads.hcl changes since that apply (what
	// plan would change).
	Pending []reconcile.Attribute `json:"pending,omitempty"`
	// Restarts and HealthChecks are the short histories the agent keeps
	// (agentapi.MaxRecentRestarts and MaxRecentHealth), oldest first.
	Restarts     []agentapi.RestartEvent `json:"restarts"`
	Health       *agentapi.HealthStatus  `json:"health,omitempty"`
	HealthChecks []agentapi.HealthEvent  `json:"health_checks"`
	// Logs are its log files; LogTail their last lines, merged in time order.
	Logs    []LogFileInfo `json:"logs"`
	LogTail []LogLine     `json:"log_tail"`
	// Events are its last events from the history (ShowEvents), oldest first.
	Events []agentapi.Event `json:"events"`
}

// AppliedDaemon is what state.json records of one daemon.
type AppliedDaemon struct {
	AppliedAt time.Time `json:"applied_at"`
	Hash      string    `json:"hash"`
	// Pid and StartTime are the process the apply left running.
	Pid       int       `json:"pid,omitempty"`
	StartTime time.Time `json:"start_time,omitzero"`
	Stopped   bool      `json:"stopped,omitempty"`
	Destroyed bool      `json:"destroyed,omitempty"`
}

// LogFileInfo is one log file of a daemon.
type LogFileInfo struct {
	Stream string `json:"stream"`
	Path   string `json:"path"`
	// Exists is false for a file not written yet; SizeBytes is its size.
	Exists    bool  `json:"exists"`
	SizeBytes int64 `json:"size_bytes"`
}

// DaemonInput is what BuildDaemonReport combines: what status reads (the
// agent's answer or its record, the state) and beads.hcl's daemons.
type DaemonInput struct {
	Name     string
	Live     *agentapi.AgentStatus
	AgentErr error
	Snapshot *agentapi.AgentRecord
	State    *reconcile.State
	// Declared are the daemons of the configuration at ConfigPath (nil with
	// ConfigErr when it does not load).
	ConfigPath string
	Declared   []schema.Daemon
	ConfigErr  error
	// LogLines is how many log lines to read (none when 0).
	LogLines int
	// Memory reads a running daemon's memory when the agent has not sampled it
	// yet (nil: not read).
	Memory proc.MemoryFunc
	Now    time.Time
}

// ErrUnknownDaemon is wrapped when no daemon has the name asked for.
var ErrUnknownDaemon = errors.New("no such daemon")

// BuildDaemonReport gathers everything known of in.Name. A name that neither
// beads.hcl, the state nor the agent knows is an error wrapping
// ErrUnknownDaemon that lists the known ones.
func BuildDaemonReport(ctx context.Context, in DaemonInput) (*DaemonReport, error) {
	var declared *schema.Daemon
	for i := range in.Declared {
		if in.Declared[i].Name == in.Name {
			declared = &in.Declared[i]
		}
	}
	sr := BuildStatusReport(in.Live, in.AgentErr, in.Snapshot, in.State, in.Now)
	if in.Memory != nil {
		FillMemory(ctx, &sr, in.Memory)
	}
	r := &DaemonReport{Name: in.Name, Agent: sr.Agent, Env: sr.Env, Restarts: []agentapi.RestartEvent{},
		HealthChecks: []agentapi.HealthEvent{}, Logs: []LogFileInfo{}, LogTail: []LogLine{}}
	for i := range sr.Daemons {
		if sr.Daemons[i].Name == in.Name {
			r.Process = &sr.Daemons[i]
		}
	}
	var applied *reconcile.DaemonState
	if in.State != nil {
		if ds, ok := in.State.Daemons[in.Name]; ok {
			applied = &ds
			r.Applied = &AppliedDaemon{AppliedAt: ds.AppliedAt, Hash: ds.Hash, Pid: ds.Pid, StartTime: ds.StartTime,
				Stopped: ds.Stopped, Destroyed: ds.Destroyed}
		}
	}
	if declared == nil && applied == nil && r.Process == nil {
		return nil, unknownDaemon(in, sr)
	}
	if in.ConfigErr != nil {
		r.ConfigError = in.ConfigErr.Error()
	}
	switch {
	case declared != nil:
		r.Spec, r.SpecSource = reconcile.Masked(declared), "beads.hcl"
		if applied != nil && !in.State.SameDigest(applied.Hash, declared.Hash) {
			r.Pending = in.State.DiffDaemons(applied, declared)
		}
	case applied != nil:
		spec := in.State.Shown(*applied)
		r.Spec, r.SpecSource = &spec, "state"
	}
	if r.Spec != nil {
		r.Attributes = reconcile.Attributes(r.Spec, r.SpecSource == "state" && !applied.EnvPlain)
	}
	if s := agentStatusOf(in, sr.Agent); s != nil {
		if r.Process != nil && r.Process.Pid > 0 {
			r.StartTime = s.StartTime
		}
		r.Restarts = append(r.Restarts, s.RecentRestarts...)
		r.HealthChecks = append(r.HealthChecks, s.RecentHealth...)
		if s.Health.Status != "" {
			h := s.Health
			r.Health = &h
		}
	}
	if r.Spec != nil {
		r.readLogs(*r.Spec, in.LogLines)
	}
	return r, nil
}

// agentStatusOf is what the agent said (or last recorded) of the daemon.
func agentStatusOf(in DaemonInput, a AgentReport) *agentapi.Status {
	var daemons []agentapi.Status
	switch {
	case in.Live != nil:
		daemons = in.Live.Daemons
	case in.Snapshot != nil && a.Source == "snapshot":
		daemons = in.Snapshot.Daemons
	}
	for i := range daemons {
		if daemons[i].Name == in.Name {
			return &daemons[i]
		}
	}
	return nil
}

// readLogs lists the daemon's log files and reads their last n lines.
func (r *DaemonReport) readLogs(d schema.Daemon, n int) {
	var files []LogFile
	for _, s := range []string{StreamOut, StreamErr, StreamCombined} {
		files = append(files, LogFilesFor(d, s)...)
	}
	for _, f := range files {
		info := LogFileInfo{Stream: f.Stream, Path: f.Path}
		if fi, err := os.Stat(f.Path); err == nil {
			info.Exists, info.SizeBytes = true, fi.Size()
		}
		r.Logs = append(r.Logs, info)
	}
	if n == 0 {
		return
	}
	lines, _, err := ReadLogs(LogFilesFor(d, ""), n, time.Time{})
	if err != nil {
		r.LogTail = append(r.LogTail, LogLine{Daemon: d.Name, Text: "(" + err.Error() + ")"})
		return
	}
	r.LogTail = append(r.LogTail, lines...)
}

// unknownDaemon is the error for a name nobody knows, listing those known.
func unknownDaemon(in DaemonInput, sr StatusReport) error {
	var known []string
	for _, d := range in.Declared {
		known = append(known, d.Name)
	}
	for _, d := range sr.Daemons {
		known = append(known, d.Name)
	}
	sort.Strings(known)
	known = slices.Compact(known)
	switch {
	case len(known) > 0:
		return fmt.Errorf("%w %q (known: %s)", ErrUnknownDaemon, in.Name, strings.Join(known, ", "))
	case in.ConfigErr != nil:
		return fmt.Errorf("%w %q: nothing was applied here, and %s does not load: %v", ErrUnknownDaemon, in.Name, in.ConfigPath, in.ConfigErr)
	}
	return fmt.Errorf("%w %q: %s declares none and nothing was applied here", ErrUnknownDaemon, in.Name, in.ConfigPath)
}
