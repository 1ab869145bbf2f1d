package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/internal/logfile"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// HealthReport is `beadsctl health --json` (the shape of DESIGN.md, after the
// PM2 setup's health script). The human checklist is rendered from the same value.
type HealthReport struct {
	Timestamp      time.Time               `json:"timestamp"`
	OverallHealthy bool                    `json:"overall_healthy"`
	Agent          HealthAgent             `json:"agent"`
	Daemons        map[string]DaemonHealth `json:"daemons"`
	// Order is the daemon names in display order (sorted).
	Order            []string         `json:"-"`
	ProjectStructure ProjectStructure `json:"project_structure"`
	// Boot is whether the agent starts at boot (beadsctl startup), from files.
	Boot            *boot.Status `json:"boot,omitempty"`
	BeadsctlVersion string       `json:"beadsctl_version"`
	// LeftRunning: the agent is not running, and the last apply left these
	// daemons running (see StatusReport.LeftRunning).
	LeftRunning *LeftRunning `json:"left_running,omitempty"`
	// Problems lists every reason the report is unhealthy, as "where: why".
	Problems []string `json:"problems"`
	// Warnings do not make the report unhealthy (sync lag, daemon.log errors).
	Warnings []string `json:"warnings,omitempty"`
}

// HealthAgent is the agent's part of the report.
type HealthAgent struct {
	Running bool `json:"running"`
	// NotAnswering: an agent process (Pid) lives but did not answer in time.
	NotAnswering bool   `json:"not_answering,omitempty"`
	Pid          int    `json:"pid,omitempty"`
	Error        string `json:"error,omitempty"`
	// MetricsError is why the metrics listener asked for is not served
	// (a warning: the daemons are not concerned).
	MetricsError string `json:"metrics_error,omitempty"`
}

// DaemonHealth is one daemon's part of the report.
type DaemonHealth struct {
	Healthy bool          `json:"healthy"`
	Process ProcessHealth `json:"process"`
	// BeadsHealth and VersionInfo are set for bd daemons.
	BeadsHealth *BeadsHealth `json:"beads_health,omitempty"`
	// Dolt is set for a dolt_server daemon: bd 1.x's Dolt SQL server.
	Dolt        *DoltHealth  `json:"dolt,omitempty"`
	VersionInfo *VersionInfo `json:"version_info,omitempty"`
	// Check is the agent's last exec/tcp health check, for other daemons that have one.
	Check *agentapi.HealthStatus `json:"check,omitempty"`
	// Sync is the --enhanced view of a bd workspace.
	Sync *SyncHealth `json:"sync,omitempty"`
	// Checks is the checklist, in display order.
	Checks []HealthCheck `json:"checks"`
	// LastEvent is the daemon's last event (beadsctl events has the history).
	LastEvent *agentapi.Event `json:"last_event,omitempty"`
}

// HealthCheck is one line of the checklist.
type HealthCheck struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Warning marks a failed check that does not make the report unhealthy.
	Warning bool   `json:"warning,omitempty"`
	Detail  string `json:"detail"`
}

// ProcessHealth is what the agent knows of the process.
type ProcessHealth struct {
	Running          bool    `json:"running"`
	Pid              int     `json:"pid"`
	Status           string  `json:"status"`
	Reason           string  `json:"reason,omitempty"`
	MemoryBytes      uint64  `json:"memory_bytes"`
	MemoryLimitBytes uint64  `json:"memory_limit_bytes,omitempty"`
	CPUPercent       float64 `json:"cpu_percent"`
	Restarts         int     `json:"restarts"`
	UnstableRestarts int     `json:"unstable_restarts"`
	UptimeSeconds    float64 `json:"uptime_seconds"`
	// LogError is the agent's error writing the daemon's log files, when
	// writing fails now (a full disk, a read-only folder): lines are being lost.
	LogError string `json:"log_error,omitempty"`
}

// BeadsHealth is what the bd daemon's RPC said.
type BeadsHealth struct {
	Healthy      bool    `json:"healthy"`
	Status       string  `json:"status"`
	Version      string  `json:"version,omitempty"`
	DBResponseMS float64 `json:"db_response_ms"`
	Pid          int     `json:"pid,omitempty"`
	Error        string  `json:"error,omitempty"`
	// Output is the probe's answer as JSON.
	Output string `json:"output,omitempty"`
}

// VersionInfo compares the installed bd CLI with the running daemon.
type VersionInfo struct {
	BDVersion     string `json:"bd_version"`
	DaemonVersion string `json:"daemon_version"`
	Match         bool   `json:"match"`
	// Source of DaemonVersion: "rpc" or "daemon.lock".
	Source string `json:"source,omitempty"`
	Error  string `json:"error,omitempty"`
}

// SyncHealth is the old sync monitor's view of a bd workspace.
type SyncHealth struct {
	LastActivity           time.Time `json:"last_activity,omitzero"`
	LastActivityAgeSeconds float64   `json:"last_activity_age_seconds,omitempty"`
	ExclusiveLock          bool      `json:"exclusive_lock_active"`
	// LockHeld: a live process holds the flock on .beads/daemon.lock; LockPid is its recorded pid.
	LockHeld bool `json:"lock_held"`
	LockPid  int  `json:"lock_pid,omitempty"`
	// Ages of the files in seconds (-1 when missing) and how far issues.jsonl lags beads.db.
	JSONLAgeSeconds    float64 `json:"issues_jsonl_age_seconds"`
	DBAgeSeconds       float64 `json:"beads_db_age_seconds"`
	JSONLBehindSeconds float64 `json:"jsonl_behind_db_seconds"`
	InSync             bool    `json:"in_sync"`
	// LogErrors are the last error lines of .beads/daemon.log.
	LogErrors []string `json:"daemon_log_errors"`
}

// ProjectStructure checks the project's files.
type ProjectStructure struct {
	Valid          bool   `json:"valid"`
	ConfigPath     string `json:"config_path"`
	ConfigExists   bool   `json:"config_exists"`
	ConfigValid    bool   `json:"config_valid"`
	ConfigError    string `json:"config_error,omitempty"`
	BeadsDirExists bool   `json:"beads_dir_exists"`
	// BeadsDirs are the .beads/ folders checked (one per bd workspace);
	// Missing those absent or not set up by bd init (no database).
	BeadsDirs []string `json:"beads_dirs"`
	Missing   []string `json:"missing_beads_dirs,omitempty"`
}

// HealthInput is everything BuildHealthReport needs besides the probes.
type HealthInput struct {
	Dir          string // project folder (of beads.hcl)
	ConfigPath   string
	ConfigExists bool
	ConfigErr    error // why the config does not load, nil when valid
	// Daemons are the declared daemons (from the config, or from the state when
	// the config does not load).
	Daemons []schema.Daemon
	// Agent is the live agent status; nil with AgentErr when it cannot be asked.
	Agent    *agentapi.AgentStatus
	AgentErr error
	// State is the last apply's (nil when unread): what an agent that is
	// not running should be running.
	State    *reconcile.State
	Enhanced bool
	Version  string // beadsctl's
	Now      time.Time
}

// HealthProbes are the report's seams; DefaultHealthProbes gives the real ones.
type HealthProbes struct {
	Beads            func(ctx context.Context, workspace, clientVersion string) (bd.Probe, error)
	InstalledVersion func(ctx context.Context, bd string) (string, error)
	ReadLock         func(workspace string) (bd.Lock, bool, error)
	Tail             func(path string, n int) []string
	Stat             func(path string) (os.FileInfo, error)
	// Initialized tells a .beads/ that bd init set up from one holding only
	// logs (bd.Initialized); nil checks that it exists only.
	Initialized func(beadsDir string) bool
	// Memory reads a running daemon's memory when the agent has no sample
	// yet (an agent before the sample at start); nil leaves it unknown.
	Memory proc.MemoryFunc
}

// DefaultHealthProbes are the real probes.
func DefaultHealthProbes() HealthProbes {
	return HealthProbes{
		Beads:            bd.ProbeDaemon,
		InstalledVersion: bd.InstalledVersion,
		ReadLock:         bd.ReadLock,
		Tail:             logfile.Tail,
		Stat:             os.Stat,
		Initialized:      bd.Initialized,
		Memory:           proc.GroupMemory,
	}
}

// Health thresholds.
const (
	// healthSyncTolerance is how far issues.jsonl may lag beads.db before --enhanced warns.
	healthSyncTolerance = time.Minute
	// healthLogScan is how many lines of daemon.log --enhanced scans for errors; healthLogErrors how many it keeps.
	healthLogScan   = 200
	healthLogErrors = 5
)

// BuildHealthReport checks every declared daemon (concurrently) and the project.
func BuildHealthReport(ctx context.Context, in HealthInput, p HealthProbes) *HealthReport {
	r := &HealthReport{
		Timestamp:       in.Now.UTC().Truncate(time.Second),
		Daemons:         map[string]DaemonHealth{},
		BeadsctlVersion: in.Version,
		Problems:        []string{},
	}
	r.Agent.Running = in.Agent != nil
	if in.Agent != nil {
		r.Agent.Pid = in.Agent.Pid
		if r.Agent.MetricsError = in.Agent.MetricsError; r.Agent.MetricsError != "" {
			r.Warnings = append(r.Warnings, r.Agent.MetricsError)
		}
	} else if in.AgentErr != nil {
		r.Agent.Error = in.AgentErr.Error()
		var na *reconcile.NotAnsweringError
		if errors.As(in.AgentErr, &na) {
			r.Agent.NotAnswering, r.Agent.Pid = true, na.Pid
		}
	}
	live := map[string]agentapi.Status{}
	if in.Agent != nil {
		for _, s := range in.Agent.Daemons {
			live[s.Name] = s
		}
	}

	// The installed bd version, once per command.
	versions := map[string]versionResult{}
	for _, d := range in.Daemons {
		if d.IsBeads() {
			if _, ok := versions[d.Command]; !ok {
				v, err := p.InstalledVersion(ctx, d.Command)
				versions[d.Command] = versionResult{v, err}
			}
		}
	}

	results := make([]DaemonHealth, len(in.Daemons))
	var wg sync.WaitGroup
	for i, d := range in.Daemons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, ok := live[d.Name]
			results[i] = daemonHealth(ctx, d, s, ok, in, versions[d.Command], p)
		}()
	}
	wg.Wait()

	for i, d := range in.Daemons {
		dh := results[i]
		r.Daemons[d.Name] = dh
		r.Order = append(r.Order, d.Name)
		for _, c := range dh.Checks {
			switch {
			case c.OK:
			case c.Warning:
				r.Warnings = append(r.Warnings, d.Name+": "+c.Detail)
			default:
				r.Problems = append(r.Problems, d.Name+": "+c.Detail)
			}
		}
	}
	sort.Strings(r.Order)

	r.ProjectStructure = projectStructure(in, p)
	ps := r.ProjectStructure
	var structural []string
	switch {
	case !ps.ConfigExists:
		structural = append(structural, "config: "+ps.ConfigPath+" not found")
	case !ps.ConfigValid:
		structural = append(structural, "config: "+ps.ConfigError)
	}
	if len(ps.Missing) > 0 {
		structural = append(structural, "workspace: no "+strings.Join(ps.Missing, ", ")+" set up by bd init (run bd init)")
	}
	if len(in.Daemons) > 0 && in.Agent == nil {
		msg := "agent: not running"
		if errors.Is(in.AgentErr, reconcile.ErrAgentNotAnswering) {
			msg = "agent: " + in.AgentErr.Error()
		} else {
			if in.AgentErr != nil && !errors.Is(in.AgentErr, reconcile.ErrAgentDown) {
				msg += " (" + in.AgentErr.Error() + ")"
			}
			if r.LeftRunning = LeftRunningOf(in.State); r.LeftRunning != nil {
				them := "them"
				if len(r.LeftRunning.Daemons) == 1 {
					them = "it"
				}
				msg += fmt.Sprintf("; the last apply left %s running (%s): %s brings %s back",
					plural.Count(len(r.LeftRunning.Daemons), "daemon"), strings.Join(r.LeftRunning.Daemons, ", "), r.LeftRunning.Command, them)
			}
		}
		structural = append(structural, msg)
	}
	if len(in.Daemons) == 0 && ps.ConfigValid {
		structural = append(structural, "config: declares no daemon")
	}
	r.Problems = append(append([]string{}, structural...), r.Problems...)
	r.OverallHealthy = len(r.Problems) == 0
	return r
}

type versionResult struct {
	v   string
	err error
}

func daemonHealth(ctx context.Context, d schema.Daemon, s agentapi.Status, known bool, in HealthInput, bd versionResult, p HealthProbes) DaemonHealth {
	var h DaemonHealth
	h.Process = ProcessHealth{
		Status:           "unknown",
		MemoryLimitBytes: d.Limits.Memory,
	}
	if known {
		h.LastEvent = s.LastEvent
		h.Process = ProcessHealth{
			Running:          s.State == agentapi.StateOnline && s.Pid > 0,
			Pid:              s.Pid,
			Status:           string(s.State),
			Reason:           s.Reason,
			MemoryBytes:      s.MemoryBytes,
			MemoryLimitBytes: s.MemoryLimitBytes,
			CPUPercent:       s.CPUPercent,
			Restarts:         s.Restarts,
			UnstableRestarts: s.UnstableRestarts,
			LogError:         s.LogError,
		}
		if h.Process.MemoryLimitBytes == 0 {
			h.Process.MemoryLimitBytes = d.Limits.Memory
		}
		if h.Process.Running && h.Process.MemoryBytes == 0 && p.Memory != nil {
			if b, err := p.Memory(ctx, s.Pid); err == nil {
				h.Process.MemoryBytes = b
			}
		}
		if h.Process.Running && !s.StartTime.IsZero() && in.Now.After(s.StartTime) {
			h.Process.UptimeSeconds = in.Now.Sub(s.StartTime).Round(time.Second).Seconds()
		}
	}
	c := processCheck(h.Process, s, known, in.Agent != nil, errors.Is(in.AgentErr, reconcile.ErrAgentNotAnswering))
	if in.Agent == nil && in.State != nil && !errors.Is(in.AgentErr, reconcile.ErrAgentNotAnswering) {
		// The agent is down: the last apply says whether it should run.
		switch ds, ok := in.State.Daemons[d.Name]; {
		case ok && ds.Destroyed:
		case ok && ds.Stopped:
			c.Detail = "not running: stopped by user (beadsctl start " + d.Name + ")"
		case ok && ds.CompletedAt.IsZero():
			c.Detail = "not running: the agent is down (beadsctl start " + d.Name + " brings it back)"
		}
	}
	h.Checks = append(h.Checks, c)
	if h.Process.LogError != "" {
		h.Checks = append(h.Checks, HealthCheck{Name: "logs", Detail: "log files not written: " + h.Process.LogError})
	}

	if d.IsBeads() {
		probe, perr := p.Beads(ctx, d.Dir, bd.v)
		h.BeadsHealth, h.VersionInfo = beadsChecks(d, h.Process, probe, perr, bd, p, &h.Checks)
		if in.Enhanced {
			h.Sync = syncHealth(d, probe, perr, in.Now, p, &h.Checks)
		}
	} else if known && s.Health.Status != "" && !h.Process.Running {
		// The last check was of a process that is not online now: the
		// process check says why; its old result is not shown as today's.
		h.Check = &agentapi.HealthStatus{Status: "unknown"}
	} else if known && s.Health.Status != "" {
		hs := s.Health
		h.Check = &hs
		c := HealthCheck{Name: "health", OK: hs.Status == "healthy", Detail: "health check " + hs.Status}
		if hs.Status == "unknown" {
			c.OK, c.Detail = true, "health check not run yet"
		}
		if hs.Message != "" {
			c.Detail += ": " + hs.Message
		}
		h.Checks = append(h.Checks, c)
	}
	if d.Dolt != nil {
		h.Dolt = doltHealth(ctx, d, s, known, &h.Checks)
	}
	h.Healthy = true
	for _, c := range h.Checks {
		if !c.OK && !c.Warning {
			h.Healthy = false
		}
	}
	return h
}

func processCheck(ph ProcessHealth, s agentapi.Status, known, agentUp, notAnswering bool) HealthCheck {
	c := HealthCheck{Name: "process"}
	switch {
	case notAnswering:
		c.Detail = "unknown: the agent does not answer"
	case !agentUp:
		c.Detail = "not running: the agent is down (run beadsctl apply)"
	case !known:
		c.Detail = "not supervised: declared but not applied (run beadsctl apply)"
	case s.Stopped:
		c.Detail = "stopped by user (beadsctl start " + s.Name + ")"
	case s.State == agentapi.StateCompleted:
		c.OK = true // a one-shot that did its job
		c.Detail = "completed successfully"
		if !s.CompletedAt.IsZero() {
			c.Detail += " at " + s.CompletedAt.Local().Format(time.DateTime)
		}
	case !ph.Running:
		c.Detail = string(s.State)
		if s.Reason != "" {
			c.Detail += ": " + s.Reason
		}
		if s.LastExit != nil && len(s.LastExit.LogTail) > 0 {
			c.Detail += " (last log: " + s.LastExit.LogTail[len(s.LastExit.LogTail)-1] + ")"
		}
	case ph.MemoryLimitBytes > 0 && ph.MemoryBytes > ph.MemoryLimitBytes:
		c.Detail = fmt.Sprintf("memory %s over the limit %s", FormatBytes(ph.MemoryBytes), FormatBytes(ph.MemoryLimitBytes))
	default:
		c.OK = true
		mem := "not sampled yet" // a live process has resident memory: 0 is no figure
		if ph.MemoryBytes > 0 {
			mem = FormatBytes(ph.MemoryBytes)
		}
		c.Detail = fmt.Sprintf("online, pid %d, up %s, memory %s", ph.Pid, FormatDuration(time.Duration(ph.UptimeSeconds)*time.Second), mem)
		if ph.MemoryLimitBytes > 0 {
			c.Detail += " / " + FormatBytes(ph.MemoryLimitBytes)
		}
		if ph.Restarts > 0 {
			c.Detail += ", " + plural.Count(ph.Restarts, "restart")
		}
	}
	return c
}

func beadsChecks(d schema.Daemon, ph ProcessHealth, probe bd.Probe, err error, inst versionResult, p HealthProbes, checks *[]HealthCheck) (*BeadsHealth, *VersionInfo) {
	bh := &BeadsHealth{Status: "unreachable"}
	rpc := HealthCheck{Name: "beads-rpc"}
	if err != nil {
		bh.Error = err.Error()
		sock := filepath.Join(d.Dir, ".beads", "bd.sock")
		if errors.Is(err, bd.ErrNotRunning) {
			rpc.Detail = "bd RPC: no bd daemon answers on " + sock
		} else {
			rpc.Detail = "bd RPC: " + sock + ": " + err.Error()
		}
	} else {
		bh.Status, bh.Version, bh.DBResponseMS, bh.Pid = probe.Status, probe.Version, probe.DBResponseMS, probe.Pid
		if b, err := json.Marshal(probe); err == nil {
			bh.Output = string(b)
		}
		bh.Healthy = probe.Status == "healthy"
		switch {
		case probe.Status == "degraded":
			rpc.Detail = fmt.Sprintf("bd RPC degraded: database answered in %.0f ms (over 500 ms)", probe.DBResponseMS)
		case !bh.Healthy:
			rpc.Detail = "bd RPC " + probe.Status
		case ph.Running && probe.Pid != 0 && probe.Pid != ph.Pid:
			bh.Healthy = false
			rpc.Detail = fmt.Sprintf("bd RPC answered by pid %d, not the supervised pid %d (an unmanaged bd daemon holds the workspace)", probe.Pid, ph.Pid)
		case !ph.Running:
			// Not ours: beadsctl runs no daemon here, so a healthy answer
			// beside "errored" or "stopped" would read as a contradiction.
			bh.Healthy = false
			rpc.Detail = fmt.Sprintf("bd RPC answered by an unmanaged bd daemon, pid %d (version %s), not by beadsctl's, which is not running: beadsctl start --replace-unmanaged takes over from it", probe.Pid, probe.Version)
		default:
			rpc.OK = true
			rpc.Detail = fmt.Sprintf("bd RPC %s, version %s, db %s ms", probe.Status, probe.Version, trimFloat(probe.DBResponseMS))
		}
	}
	*checks = append(*checks, rpc)

	vi := &VersionInfo{BDVersion: inst.v}
	vc := HealthCheck{Name: "version"}
	if err == nil && probe.Version != "" {
		vi.DaemonVersion, vi.Source = probe.Version, "rpc"
	} else if lock, held, lerr := p.ReadLock(d.Dir); lerr == nil && held && lock.Version != "" {
		vi.DaemonVersion, vi.Source = lock.Version, "daemon.lock"
	}
	switch {
	case inst.err != nil:
		vi.Error = inst.err.Error()
		vc.Detail = fmt.Sprintf("installed %s version unknown: %v", d.Command, inst.err)
	case vi.DaemonVersion == "":
		// Nothing runs to compare with: the process check already says why.
		vc.OK, vc.Warning = false, true
		vc.Detail = "bd " + inst.v + " installed; no running daemon to compare"
	case vi.DaemonVersion != inst.v:
		vc.Detail = fmt.Sprintf("version mismatch: bd %s installed, daemon runs %s (beadsctl restart %s)", inst.v, vi.DaemonVersion, d.Name)
	default:
		vi.Match = true
		vc.OK = true
		vc.Detail = "bd " + inst.v + " installed = daemon " + vi.DaemonVersion
	}
	*checks = append(*checks, vc)
	return bh, vi
}

func syncHealth(d schema.Daemon, probe bd.Probe, perr error, now time.Time, p HealthProbes, checks *[]HealthCheck) *SyncHealth {
	sh := &SyncHealth{JSONLAgeSeconds: -1, DBAgeSeconds: -1, LogErrors: []string{}}
	beads := filepath.Join(d.Dir, ".beads")
	if perr == nil {
		sh.LastActivity, sh.ExclusiveLock = probe.LastActivity, probe.ExclusiveLock
		if !probe.LastActivity.IsZero() && now.After(probe.LastActivity) {
			sh.LastActivityAgeSeconds = now.Sub(probe.LastActivity).Round(time.Second).Seconds()
		}
	}
	if lock, held, err := p.ReadLock(d.Dir); err == nil {
		sh.LockHeld, sh.LockPid = held, lock.Pid
	}
	var jsonl, db time.Time
	if fi, err := p.Stat(filepath.Join(beads, "issues.jsonl")); err == nil {
		jsonl = fi.ModTime()
		sh.JSONLAgeSeconds = now.Sub(jsonl).Round(time.Second).Seconds()
	}
	if fi, err := p.Stat(filepath.Join(beads, "beads.db")); err == nil {
		db = fi.ModTime()
		sh.DBAgeSeconds = now.Sub(db).Round(time.Second).Seconds()
	}
	c := HealthCheck{Name: "sync", Warning: true}
	switch {
	case db.IsZero():
		c.Detail = "sync: no .beads/beads.db"
	case jsonl.IsZero():
		c.Detail = "sync: no .beads/issues.jsonl"
	default:
		behind := db.Sub(jsonl)
		if behind > 0 {
			sh.JSONLBehindSeconds = behind.Round(time.Second).Seconds()
		}
		tolerance := max(healthSyncTolerance, 2*d.Interval)
		sh.InSync = behind <= tolerance
		if sh.InSync {
			c.OK = true
			c.Detail = "sync: issues.jsonl up to date with beads.db"
		} else {
			c.Detail = fmt.Sprintf("sync: issues.jsonl is %s older than beads.db (export pending?)", FormatDuration(behind))
		}
	}
	if !sh.LastActivity.IsZero() {
		c.Detail += fmt.Sprintf("; last activity %s ago", FormatDuration(time.Duration(sh.LastActivityAgeSeconds)*time.Second))
	}
	c.Warning = !c.OK
	*checks = append(*checks, c)

	for _, line := range p.Tail(filepath.Join(beads, "daemon.log"), healthLogScan) {
		l := strings.ToLower(line)
		if strings.Contains(l, "error") || strings.Contains(l, "panic") || strings.Contains(l, "fatal") {
			sh.LogErrors = append(sh.LogErrors, line)
		}
	}
	if n := len(sh.LogErrors); n > healthLogErrors {
		sh.LogErrors = sh.LogErrors[n-healthLogErrors:]
	}
	lc := HealthCheck{Name: "daemon-log", OK: len(sh.LogErrors) == 0, Warning: len(sh.LogErrors) > 0, Detail: "daemon.log: no recent errors"}
	if !lc.OK {
		lc.Detail = "daemon.log: " + sh.LogErrors[len(sh.LogErrors)-1]
	}
	*checks = append(*checks, lc)
	return sh
}

func projectStructure(in HealthInput, p HealthProbes) ProjectStructure {
	ps := ProjectStructure{ConfigPath: in.ConfigPath, ConfigExists: in.ConfigExists, ConfigValid: in.ConfigExists && in.ConfigErr == nil, BeadsDirs: []string{}}
	if in.ConfigErr != nil {
		ps.ConfigError = in.ConfigErr.Error()
	}
	seen := map[string]bool{}
	for _, d := range in.Daemons {
		if d.IsBeads() && !seen[d.Dir] {
			seen[d.Dir] = true
			ps.BeadsDirs = append(ps.BeadsDirs, filepath.Join(d.Dir, ".beads"))
		}
	}
	if len(ps.BeadsDirs) == 0 && !ps.ConfigValid {
		// Nothing declared to go by: a Beads project has .beads/ beside its config.
		ps.BeadsDirs = append(ps.BeadsDirs, filepath.Join(in.Dir, ".beads"))
	}
	if len(ps.BeadsDirs) == 0 {
		// No bd daemon: .beads/ is reported but not required.
		fi, err := p.Stat(filepath.Join(in.Dir, ".beads"))
		ps.BeadsDirExists = err == nil && fi.IsDir()
		ps.Valid = ps.ConfigValid
		return ps
	}
	for _, dir := range ps.BeadsDirs {
		if fi, err := p.Stat(dir); err != nil || !fi.IsDir() || p.Initialized != nil && !p.Initialized(dir) {
			ps.Missing = append(ps.Missing, dir)
		}
	}
	ps.BeadsDirExists = len(ps.Missing) == 0
	ps.Valid = ps.ConfigValid && ps.BeadsDirExists
	return ps
}
