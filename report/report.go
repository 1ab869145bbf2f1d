package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/reconcile"
)

// StatusReport is what `beadsctl status` shows. Its exported fields and json tags
// are the `status --json` format; the human table is rendered from the same value.
type StatusReport struct {
	// Agent says where the rows came from: the live agent, or its last snapshot
	// and the state file when it is down.
	Agent AgentReport `json:"agent"`
	Env   string      `json:"env"`
	// Destroyed is set when beadsctl destroy stopped every daemon and the
	// agent, and nothing was started since: nothing runs.
	Destroyed bool        `json:"destroyed,omitempty"`
	Daemons   []DaemonRow `json:"daemons"`
	// Boot is whether the agent starts at boot (beadsctl startup), from files.
	Boot *boot.Status `json:"boot,omitempty"`
	// Hint is the next step when nothing was applied and there is no
	// configuration to plan: where beadsctl looked, what the folder suggests.
	Hint string `json:"hint,omitempty"`
	// LeftRunning is set when the agent is not running (not one that does
	// not answer) while the last apply left daemons running: nothing runs them.
	LeftRunning *LeftRunning `json:"left_running,omitempty"`
}

// LeftRunning is what the last apply left running that no agent runs now
// (the agent died, or was killed, without a reboot).
type LeftRunning struct {
	// Daemons the last apply left running (state.json): not stopped on
	// purpose, destroyed, or one-shots that completed.
	Daemons []string `json:"daemons"`
	// Stopped are the daemons stopped on purpose, which stay stopped.
	Stopped []string `json:"stopped,omitempty"`
	// Command brings Daemons back as the last apply left them (its profile,
	// alerts and metrics listener), and no other.
	Command string `json:"command"`
}

// LeftRunningOf is what st (the last apply) left running, for an agent that
// is not running; nil when it left nothing running.
func LeftRunningOf(st *reconcile.State) *LeftRunning {
	if st == nil || !st.Applied() {
		return nil
	}
	var l LeftRunning
	for _, n := range st.Names() {
		d := st.Daemons[n]
		switch {
		case d.Stopped && !d.Destroyed:
			l.Stopped = append(l.Stopped, n)
		case d.Stopped || !d.CompletedAt.IsZero(): // destroyed, or a one-shot done
		default:
			l.Daemons = append(l.Daemons, n)
		}
	}
	if len(l.Daemons) == 0 {
		return nil
	}
	// Named: a bare start would start those stopped on purpose too, and
	// what beads.hcl declares since.
	l.Command = "beadsctl start " + strings.Join(l.Daemons, " ")
	return &l
}

// AgentReport describes the agent behind a report.
type AgentReport struct {
	Running bool `json:"running"`
	// NotAnswering is set when an agent process lives (Pid) but did not
	// answer in time: its daemons may run, the rows are its last record.
	NotAnswering bool `json:"not_answering,omitempty"`
	Pid          int  `json:"pid,omitempty"`
	// Source is "agent" (answered live), "snapshot" (its last agent.json) or
	// "state" (only what the last apply recorded).
	Source  string    `json:"source"`
	Started time.Time `json:"start_time,omitzero"`
	Version string    `json:"version,omitempty"`
	// SnapshotAt is when agent.json was last written, for the "snapshot" source.
	SnapshotAt time.Time `json:"snapshot_at,omitzero"`
	// Error is why the agent could not be asked, when it could not.
	Error string `json:"error,omitempty"`
}

// DaemonRow is one daemon in a StatusReport.
type DaemonRow struct {
	Name string `json:"name"`
	Env  string `json:"env"`
	// Status is the supervisor state ("online", "errored", ...), "unknown" when
	// the agent is down and "stopped" for a daemon stopped on purpose.
	Status            string         `json:"status"`
	Reason            string         `json:"reason,omitempty"`
	Pid               int            `json:"pid"`
	UptimeSeconds     float64        `json:"uptime_seconds"`
	Restarts          int            `json:"restarts"`
	UnstableRestarts  int            `json:"unstable_restarts"`
	MemoryBytes       uint64         `json:"memory_bytes"`
	MemoryLimitBytes  uint64         `json:"memory_limit_bytes"`
	CPUPercent        float64        `json:"cpu_percent"`
	Health            string         `json:"health"`
	HealthMessage     string         `json:"health_message,omitempty"`
	LastExit          *agentapi.Exit `json:"last_exit"`
	LastRestartReason string         `json:"last_restart_reason"`
	Stopped           bool           `json:"stopped,omitempty"`
	// Destroyed: beadsctl destroy stopped it (see StatusReport.Destroyed).
	Destroyed bool `json:"destroyed,omitempty"`
	// LogError is the agent's last error writing this daemon's log files, while writing fails.
	LogError string `json:"log_error,omitempty"`
	// Dolt is what the agent did for a bd 1.x Dolt server: its port, bd's
	// files and the last flush before a stop.
	Dolt *agentapi.DoltStatus `json:"dolt,omitempty"`
	// LastEvent is the daemon's last event (beadsctl events has the history).
	LastEvent *agentapi.Event `json:"last_event,omitempty"`
}

// BuildStatusReport combines what the agent said (live, or nil when it could not
// be asked) with its last record (agent.json, nil when none) and the state file. agentErr is why the agent
// could not be asked. now is the reference for uptimes.
func BuildStatusReport(live *agentapi.AgentStatus, agentErr error, snap *agentapi.AgentRecord, st *reconcile.State, now time.Time) StatusReport {
	var r StatusReport
	if st != nil {
		r.Env = st.Env
	}
	var daemons []agentapi.Status
	switch {
	case live != nil:
		r.Agent = AgentReport{Running: true, Pid: live.Pid, Source: "agent", Started: live.StartTime, Version: live.Version}
		daemons = live.Daemons
	case snap != nil:
		r.Agent = AgentReport{Pid: snap.Pid, Source: "snapshot", Started: snap.StartTime, Version: snap.Version, SnapshotAt: snap.UpdatedAt}
		daemons = snap.Daemons
	default:
		r.Agent = AgentReport{Source: "state"}
	}
	if live == nil && agentErr != nil {
		r.Agent.Error = agentErr.Error()
	}
	var na *reconcile.NotAnsweringError
	stuck := live == nil && errors.As(agentErr, &na)
	if stuck {
		r.Agent.NotAnswering = true
		if na.Pid > 0 {
			r.Agent.Pid = na.Pid
		}
	}
	seen := map[string]bool{}
	for _, s := range daemons {
		seen[s.Name] = true
		row := rowOf(s, now)
		row.Env = r.Env
		if stuck {
			// The agent lives but does not answer: its daemons may run; show
			// what it last recorded, as unknown now.
			if !s.Stopped {
				row.Status, row.Health = "unknown", "unknown"
				row.Reason = "the agent does not answer; last seen " + string(s.State)
				if s.Pid > 0 {
					row.Reason += fmt.Sprintf(" (pid %d)", s.Pid)
				}
			}
			row.UptimeSeconds, row.CPUPercent, row.MemoryBytes = 0, 0, 0
		} else if live == nil {
			// The agent is down: its daemons died with it (process group and
			// parent-death signal). Show what it last recorded, but not as running.
			row.LastRestartReason = s.LastRestartReason
			if !s.Stopped {
				row.Status, row.Health = "unknown", "unknown"
				row.Reason = "agent not running; last seen " + string(s.State)
				if s.Pid > 0 {
					row.Reason += fmt.Sprintf(" (pid %d)", s.Pid)
				}
			}
			row.Pid, row.UptimeSeconds, row.CPUPercent, row.MemoryBytes = 0, 0, 0, 0
		}
		if st != nil {
			ds, ok := st.Daemons[s.Name]
			if ok && row.MemoryLimitBytes == 0 {
				row.MemoryLimitBytes = ds.Spec.Limits.Memory
			}
			switch {
			case ok && ds.Destroyed && live == nil && !stuck:
				// The agent's last record says "stopped by user" of the
				// stops destroy asked for; the state knows why.
				row.Status, row.Reason, row.Destroyed, row.Stopped = string(agentapi.StateStopped), destroyedReason, true, true
			case ok && ds.Stopped && !s.Stopped && live == nil && !stuck:
				// Stopped on purpose, and the agent died before it recorded
				// the stop (agent.json is written a few ms after a change).
				row.Status, row.Reason, row.Stopped, row.Health = string(agentapi.StateStopped), "stopped by user", true, "unknown"
			}
		}
		r.Daemons = append(r.Daemons, row)
	}
	if st != nil {
		for _, name := range st.Names() {
			if seen[name] {
				continue
			}
			ds := st.Daemons[name]
			row := DaemonRow{Name: name, Env: r.Env, Status: "unknown", Health: "unknown", Pid: ds.Pid, MemoryLimitBytes: ds.Spec.Limits.Memory, Stopped: ds.Stopped}
			switch {
			case ds.Destroyed && !stuck: // a later apply -target may have started others
				row.Status, row.Reason, row.Destroyed = string(agentapi.StateStopped), destroyedReason, true
			case ds.Stopped:
				row.Status, row.Reason = string(agentapi.StateStopped), "stopped by user"
			case live != nil:
				// The agent runs without it (restarted since the apply): the
				// pid recorded is of a process that is gone.
				row.Status, row.Reason = "missing", "applied but not run by the agent"
				if ds.Pid > 0 {
					row.Reason += fmt.Sprintf(" (last pid %d)", ds.Pid)
				}
			case stuck:
				row.Reason = "the agent does not answer"
			default:
				row.Reason = "agent not running"
			}
			if !stuck {
				// Only an agent that does not answer may still run it; else
				// the pid recorded is of a process that is gone.
				row.Pid = 0
			}
			r.Daemons = append(r.Daemons, row)
		}
	}
	sort.SliceStable(r.Daemons, func(i, j int) bool { return r.Daemons[i].Name < r.Daemons[j].Name })
	r.Destroyed = len(r.Daemons) > 0 && !slices.ContainsFunc(r.Daemons, func(d DaemonRow) bool { return !d.Destroyed })
	if live == nil && !stuck && !r.Destroyed {
		r.LeftRunning = LeftRunningOf(st)
	}
	if r.Daemons == nil {
		r.Daemons = []DaemonRow{}
	}
	return r
}

// destroyedReason is a destroyed daemon's reason in status.
const destroyedReason = "destroyed (beadsctl destroy)"

func rowOf(s agentapi.Status, now time.Time) DaemonRow {
	row := DaemonRow{
		Name:              s.Name,
		Status:            string(s.State),
		Reason:            s.Reason,
		Pid:               s.Pid,
		Restarts:          s.Restarts,
		UnstableRestarts:  s.UnstableRestarts,
		MemoryBytes:       s.MemoryBytes,
		MemoryLimitBytes:  s.MemoryLimitBytes,
		CPUPercent:        s.CPUPercent,
		Health:            s.Health.Status,
		HealthMessage:     s.Health.Message,
		LastExit:          s.LastExit,
		LastRestartReason: s.LastRestartReason,
		Stopped:           s.Stopped,
		LogError:          s.LogError,
		Dolt:              s.Dolt,
		LastEvent:         s.LastEvent,
	}
	if row.Health == "" {
		row.Health = "none"
	}
	if row.Health != "none" && (s.State != agentapi.StateOnline || s.Pid == 0) {
		// The last check was of a process that is not online now (stopped,
		// waiting to restart, errored): its result says nothing of today.
		row.Health, row.HealthMessage = "unknown", ""
	}
	if s.State == agentapi.StateOnline && s.Pid > 0 {
		start := s.StartTime
		if start.IsZero() {
			start = s.LastChange
		}
		if !start.IsZero() && now.After(start) {
			row.UptimeSeconds = now.Sub(start).Round(time.Millisecond).Seconds()
		}
	}
	if s.Pid == 0 {
		row.MemoryBytes, row.CPUPercent = 0, 0
	}
	return row
}

// FormatBytes formats a size with binary units as beads.hcl writes them: 512K, 47.4M, 1.2G.
func FormatBytes(b uint64) string {
	const k = 1024
	switch {
	case b < k:
		return fmt.Sprintf("%dB", b)
	case b < k*k:
		return trimFloat(float64(b)/k) + "K"
	case b < k*k*k:
		return trimFloat(float64(b)/(k*k)) + "M"
	}
	return trimFloat(float64(b)/(k*k*k)) + "G"
}

// trimFloat formats f with one decimal, dropping ".0"; two decimals under 1.
func trimFloat(f float64) string {
	prec := 1
	if f != 0 && f < 1 {
		prec = 2
	}
	s := strconv.FormatFloat(f, 'f', prec, 64)
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".00"), ".0")
	return s
}

// FormatDuration formats an uptime compactly: 42s, 5m12s, 2h5m, 3d4h.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
}

// FillMemory reads the memory of running daemons the agent has not sampled yet
// (right after a start it reports 0) with mem, such as proc.GroupMemory.
func FillMemory(ctx context.Context, r *StatusReport, mem proc.MemoryFunc) {
	if !r.Agent.Running {
		return
	}
	for i := range r.Daemons {
		d := &r.Daemons[i]
		if d.Pid > 0 && d.MemoryBytes == 0 {
			if b, err := mem(ctx, d.Pid); err == nil {
				d.MemoryBytes = b
			}
		}
	}
}
