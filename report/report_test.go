package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/logfile"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

var t0 = time.Date(2026, 11, 26, 13, 55, 40, 0, time.UTC)

func TestBuildStatusReportLive(t *testing.T) {
	st := applied("production", beadsDaemon("beads"), beadsDaemon("web"), beadsDaemon("old"))
	old := st.Daemons["old"]
	old.Stopped = true
	st.Daemons["old"] = old
	live := &agentapi.AgentStatus{Pid: 7, StartTime: t0.Add(-time.Hour), Version: "v", Daemons: []agentapi.Status{
		{Name: "web", State: agentapi.StateErrored, Reason: "exited 1 before min_uptime 10 times", Restarts: 10, UnstableRestarts: 10,
			LastRestartReason: agentapi.ReasonCrash, LastExit: &agentapi.Exit{Code: 1, At: t0}, MemoryBytes: 99, CPUPercent: 3},
		{Name: "beads", State: agentapi.StateOnline, Pid: 42, StartTime: t0.Add(-90 * time.Second), Restarts: 1,
			MemoryBytes: 33 << 20, MemoryLimitBytes: 200 << 20, CPUPercent: 0.5, Health: agentapi.HealthStatus{Status: "healthy"}},
	}}
	got := BuildStatusReport(live, nil, nil, st, t0)
	want := StatusReport{
		Agent: AgentReport{Running: true, Pid: 7, Source: "agent", Started: t0.Add(-time.Hour), Version: "v"},
		Env:   "production",
		Daemons: []DaemonRow{
			{Name: "beads", Env: "production", Status: "online", Pid: 42, UptimeSeconds: 90, Restarts: 1,
				MemoryBytes: 33 << 20, MemoryLimitBytes: 200 << 20, CPUPercent: 0.5, Health: "healthy"},
			{Name: "old", Env: "production", Status: "stopped", Reason: "stopped by user", MemoryLimitBytes: 200 << 20, Health: "unknown", Stopped: true},
			{Name: "web", Env: "production", Status: "errored", Reason: "exited 1 before min_uptime 10 times", Restarts: 10, UnstableRestarts: 10,
				MemoryLimitBytes: 200 << 20, Health: "none", LastExit: &agentapi.Exit{Code: 1, At: t0}, LastRestartReason: "crash"},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

// TestBuildStatusReportNoStaleFigures: what is not known now is not shown as
// measured (issue 15 item 9): a daemon the state records but a restarted
// agent does not run has no pid (the recorded one is gone); the last health
// result of a stopped, waiting or errored daemon is unknown now.
func TestBuildStatusReportNoStaleFigures(t *testing.T) {
	st := applied("", beadsDaemon("gone"), beadsDaemon("stopped"), beadsDaemon("waiting"))
	healthy := agentapi.HealthStatus{Status: "healthy", Message: "ok"}
	live := &agentapi.AgentStatus{Pid: 7, Daemons: []agentapi.Status{
		{Name: "stopped", State: agentapi.StateStopped, Reason: "stopped by user", Stopped: true, Health: healthy},
		{Name: "waiting", State: agentapi.StateWaitingRestart, Reason: "restarting in 5s", Restarts: 1, Health: healthy},
	}}
	got := BuildStatusReport(live, nil, nil, st, t0)
	want := []DaemonRow{
		{Name: "gone", Status: "missing", Reason: "applied but not run by the agent (last pid 100)", MemoryLimitBytes: 200 << 20, Health: "unknown"},
		{Name: "stopped", Status: "stopped", Reason: "stopped by user", Stopped: true, MemoryLimitBytes: 200 << 20, Health: "unknown"},
		{Name: "waiting", Status: "waiting-restart", Reason: "restarting in 5s", Restarts: 1, MemoryLimitBytes: 200 << 20, Health: "unknown"},
	}
	if d := cmp.Diff(want, got.Daemons); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestBuildStatusReportAgentDown(t *testing.T) {
	st := applied("", beadsDaemon("beads"), beadsDaemon("never-run"))
	rec := &agentapi.AgentRecord{UpdatedAt: t0.Add(-time.Minute), AgentStatus: agentapi.AgentStatus{Pid: 7, Daemons: []agentapi.Status{
		{Name: "beads", State: agentapi.StateOnline, Pid: 42, StartTime: t0.Add(-time.Hour), Restarts: 2, MemoryBytes: 1 << 20, LastRestartReason: "memory"},
	}}}
	got := BuildStatusReport(nil, reconcile.ErrAgentDown, rec, st, t0)
	if got.Agent.Running || got.Agent.Source != "snapshot" || got.Agent.Error != reconcile.ErrAgentDown.Error() || !got.Agent.SnapshotAt.Equal(t0.Add(-time.Minute)) {
		t.Errorf("agent = %+v", got.Agent)
	}
	want := []DaemonRow{
		{Name: "beads", Status: "unknown", Reason: "agent not running; last seen online (pid 42)", Restarts: 2, MemoryLimitBytes: 200 << 20, Health: "unknown", LastRestartReason: "memory"},
		{Name: "never-run", Status: "unknown", Health: "unknown", Reason: "agent not running", MemoryLimitBytes: 200 << 20},
	}
	if d := cmp.Diff(want, got.Daemons); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}

	// No record at all: the state alone.
	got = BuildStatusReport(nil, reconcile.ErrAgentDown, nil, nil, t0)
	if got.Agent.Source != "state" || got.Daemons == nil || len(got.Daemons) != 0 {
		t.Errorf("empty report = %+v", got)
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[uint64]string{0: "0B", 512: "512B", 1536: "1.5K", 33 << 20: "33M", 47395635: "45.2M", 3 << 30: "3G"} {
		if got := FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{-time.Second: "0s", 42 * time.Second: "42s", 312 * time.Second: "5m12s", 2*time.Hour + 5*time.Minute: "2h5m", 76 * time.Hour: "3d4h"} {
		if got := FormatDuration(in); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", in, got, want)
		}
	}
}

// fakeProbes answer as a healthy bd v0.28.0 daemon with pid 42 unless changed.
func fakeProbes(mod ...func(*HealthProbes)) HealthProbes {
	p := HealthProbes{
		Beads: func(_ context.Context, ws, cv string) (bd.Probe, error) {
			return bd.Probe{Status: "healthy", Version: "0.28.0", Compatible: true, Pid: 42, DBResponseMS: 0.45,
				LastActivity: t0.Add(-30 * time.Second)}, nil
		},
		InstalledVersion: func(context.Context, string) (string, error) { return "0.28.0", nil },
		ReadLock: func(string) (bd.Lock, bool, error) {
			return bd.Lock{Pid: 42, Version: "0.28.0"}, true, nil
		},
		Tail: logfile.Tail,
		Stat: os.Stat,
	}
	for _, m := range mod {
		m(&p)
	}
	return p
}

// workspace makes a project folder with .beads/ and a config file.
func workspace(t *testing.T) (dir string, d schema.Daemon) {
	dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "beads.hcl"), []byte("daemon \"beads\" {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, beadsDaemon("beads", func(d *schema.Daemon) { d.Dir = dir })
}

func onlineAgent(mod ...func(*agentapi.Status)) *agentapi.AgentStatus {
	s := agentapi.Status{Name: "beads", State: agentapi.StateOnline, Pid: 42, StartTime: t0.Add(-time.Hour),
		MemoryBytes: 47395635, MemoryLimitBytes: 200 << 20, CPUPercent: 0.1}
	for _, m := range mod {
		m(&s)
	}
	return &agentapi.AgentStatus{Pid: 7, Daemons: []agentapi.Status{s}}
}

func TestBuildHealthReport(t *testing.T) {
	tests := map[string]struct {
		agent    *agentapi.AgentStatus
		agentErr error
		probes   HealthProbes
		noBeads  bool
		cfgErr   error
		problems []string
	}{
		"healthy": {agent: onlineAgent(), probes: fakeProbes()},
		"agent down": {agentErr: reconcile.ErrAgentDown, probes: fakeProbes(func(p *HealthProbes) {
			p.Beads = func(context.Context, string, string) (bd.Probe, error) {
				return bd.Probe{}, bd.ErrNotRunning
			}
			p.ReadLock = func(string) (bd.Lock, bool, error) { return bd.Lock{}, false, nil }
		}), problems: []string{
			"agent: not running",
			"beads: not running: the agent is down (run beadsctl apply)",
			"beads: bd RPC: no bd daemon answers on DIR/.beads/bd.sock",
		}},
		"version mismatch from the lock": {agent: onlineAgent(), probes: fakeProbes(func(p *HealthProbes) {
			p.InstalledVersion = func(context.Context, string) (string, error) { return "0.29.0", nil }
			p.Beads = func(context.Context, string, string) (bd.Probe, error) {
				return bd.Probe{}, errors.New("version mismatch: client v0.29.0 requires daemon upgrade")
			}
		}), problems: []string{
			"beads: bd RPC: DIR/.beads/bd.sock: version mismatch: client v0.29.0 requires daemon upgrade",
			"beads: version mismatch: bd 0.29.0 installed, daemon runs 0.28.0 (beadsctl restart beads)",
		}},
		"unmanaged daemon answers": {agent: onlineAgent(func(s *agentapi.Status) { s.Pid = 43 }), probes: fakeProbes(), problems: []string{
			"beads: bd RPC answered by pid 42, not the supervised pid 43 (an unmanaged bd daemon holds the workspace)",
		}},
		"degraded and over memory": {agent: onlineAgent(func(s *agentapi.Status) { s.MemoryBytes = 201 << 20 }), probes: fakeProbes(func(p *HealthProbes) {
			p.Beads = func(context.Context, string, string) (bd.Probe, error) {
				return bd.Probe{Status: "degraded", Version: "0.28.0", Pid: 42, DBResponseMS: 612}, nil
			}
		}), problems: []string{
			"beads: memory 201M over the limit 200M",
			"beads: bd RPC degraded: database answered in 612 ms (over 500 ms)",
		}},
		"errored with bd's reason": {agent: onlineAgent(func(s *agentapi.Status) {
			s.State, s.Pid, s.Reason = agentapi.StateErrored, 0, "exited 0 before min_uptime 10 times"
			s.LastExit = &agentapi.Exit{LogTail: []string{"Error: database locked"}}
		}), probes: fakeProbes(func(p *HealthProbes) {
			p.Beads = func(context.Context, string, string) (bd.Probe, error) {
				return bd.Probe{}, bd.ErrNotRunning
			}
			p.ReadLock = func(string) (bd.Lock, bool, error) { return bd.Lock{}, false, nil }
		}), problems: []string{
			"beads: errored: exited 0 before min_uptime 10 times (last log: Error: database locked)",
			"beads: bd RPC: no bd daemon answers on DIR/.beads/bd.sock",
		}},
		// bd auto-started its own daemon after beadsctl stop, and ours errored
		// beside it: the healthy RPC answer is not ours, and says so (was:
		// "✓ bd RPC healthy" under "✗ errored").
		"errored beside an unmanaged daemon that answers": {agent: onlineAgent(func(s *agentapi.Status) {
			s.State, s.Pid, s.Reason = agentapi.StateErrored, 0, "not started: an unmanaged bd daemon, pid 42, holds DIR"
		}), probes: fakeProbes(), problems: []string{
			"beads: errored: not started: an unmanaged bd daemon, pid 42, holds DIR",
			"beads: bd RPC answered by an unmanaged bd daemon, pid 42 (version 0.28.0), not by beadsctl's, which is not running: beadsctl start --replace-unmanaged takes over from it",
		}},
		"no .beads and invalid config": {agent: onlineAgent(), probes: fakeProbes(), noBeads: true, cfgErr: errors.New("beads.hcl:1,1: bad"), problems: []string{
			"config: beads.hcl:1,1: bad",
			"workspace: no DIR/.beads set up by bd init (run bd init)",
		}},
		"bd not installed": {agent: onlineAgent(), probes: fakeProbes(func(p *HealthProbes) {
			p.InstalledVersion = func(context.Context, string) (string, error) {
				return "", errors.New(`exec: "bd": executable file not found in $PATH`)
			}
		}), problems: []string{
			`beads: installed bd version unknown: exec: "bd": executable file not found in $PATH`,
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir, d := workspace(t)
			if tc.noBeads {
				os.Remove(filepath.Join(dir, ".beads"))
			}
			in := HealthInput{Dir: dir, ConfigPath: filepath.Join(dir, "beads.hcl"), ConfigExists: true, ConfigErr: tc.cfgErr,
				Daemons: []schema.Daemon{d}, Agent: tc.agent, AgentErr: tc.agentErr, Version: "test", Now: t0}
			r := BuildHealthReport(t.Context(), in, tc.probes)
			var got []string
			for _, p := range r.Problems {
				got = append(got, strings.ReplaceAll(p, dir, "DIR"))
			}
			if d := cmp.Diff(tc.problems, got); d != "" {
				t.Errorf("problems (-want +got)\n%s", d)
			}
			if r.OverallHealthy != (len(tc.problems) == 0) {
				t.Errorf("overall_healthy = %v with problems %q", r.OverallHealthy, got)
			}
		})
	}
}

func TestBuildHealthReportShape(t *testing.T) {
	dir, d := workspace(t)
	in := HealthInput{Dir: dir, ConfigPath: filepath.Join(dir, "beads.hcl"), ConfigExists: true,
		Daemons: []schema.Daemon{d}, Agent: onlineAgent(), Version: "test", Now: t0}
	r := BuildHealthReport(t.Context(), in, fakeProbes())
	want := DaemonHealth{
		Healthy: true,
		Process: ProcessHealth{Running: true, Pid: 42, Status: "online", MemoryBytes: 47395635, MemoryLimitBytes: 200 << 20,
			CPUPercent: 0.1, UptimeSeconds: 3600},
		BeadsHealth: &BeadsHealth{Healthy: true, Status: "healthy", Version: "0.28.0", DBResponseMS: 0.45, Pid: 42,
			Output: `{"status":"healthy","version":"0.28.0","compatible":true,"pid":42,"db_response_ms":0.45,"uptime_seconds":0,"last_activity_time":"2026-11-26T13:55:10Z","exclusive_lock_active":false}`},
		VersionInfo: &VersionInfo{BDVersion: "0.28.0", DaemonVersion: "0.28.0", Match: true, Source: "rpc"},
		Checks: []HealthCheck{
			{Name: "process", OK: true, Detail: "online, pid 42, up 1h0m, memory 45.2M / 200M"},
			{Name: "beads-rpc", OK: true, Detail: "bd RPC healthy, version 0.28.0, db 0.45 ms"},
			{Name: "version", OK: true, Detail: "bd 0.28.0 installed = daemon 0.28.0"},
		},
	}
	if diff := cmp.Diff(want, r.Daemons["beads"]); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	ps := ProjectStructure{Valid: true, ConfigPath: filepath.Join(dir, "beads.hcl"), ConfigExists: true, ConfigValid: true,
		BeadsDirExists: true, BeadsDirs: []string{filepath.Join(dir, ".beads")}}
	if diff := cmp.Diff(ps, r.ProjectStructure); diff != "" {
		t.Errorf("project_structure (-want +got)\n%s", diff)
	}
	if !r.OverallHealthy || !r.Timestamp.Equal(t0) || r.BeadsctlVersion != "test" || !r.Agent.Running {
		t.Errorf("report = %+v", r)
	}
}

func TestBuildHealthReportEnhanced(t *testing.T) {
	dir, d := workspace(t)
	beads := filepath.Join(dir, ".beads")
	var log strings.Builder
	for i := range 300 {
		fmt.Fprintf(&log, "2026-11-26T13:%02d:00Z sync ok %d\n", i%60, i)
		if i == 100 || i == 290 {
			log.WriteString("2026-11-26T13:50:00Z Error: export failed: disk full\n")
		}
	}
	for name, content := range map[string]string{"daemon.log": log.String(), "issues.jsonl": "{}\n", "beads.db": "x"} {
		if err := os.WriteFile(filepath.Join(beads, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// beads.db written 10 minutes after issues.jsonl: the export is behind.
	must(t, os.Chtimes(filepath.Join(beads, "issues.jsonl"), t0.Add(-15*time.Minute), t0.Add(-15*time.Minute)))
	must(t, os.Chtimes(filepath.Join(beads, "beads.db"), t0.Add(-5*time.Minute), t0.Add(-5*time.Minute)))

	in := HealthInput{Dir: dir, ConfigPath: filepath.Join(dir, "beads.hcl"), ConfigExists: true,
		Daemons: []schema.Daemon{d}, Agent: onlineAgent(), Enhanced: true, Version: "test", Now: t0}
	r := BuildHealthReport(t.Context(), in, fakeProbes())
	want := &SyncHealth{
		LastActivity: t0.Add(-30 * time.Second), LastActivityAgeSeconds: 30, LockHeld: true, LockPid: 42,
		JSONLAgeSeconds: 900, DBAgeSeconds: 300, JSONLBehindSeconds: 600, InSync: false,
		LogErrors: []string{"2026-11-26T13:50:00Z Error: export failed: disk full"},
	}
	if diff := cmp.Diff(want, r.Daemons["beads"].Sync); diff != "" {
		t.Errorf("sync (-want +got)\n%s", diff)
	}
	// Sync lag and daemon.log errors warn; they do not fail the report.
	wantWarn := []string{
		"beads: sync: issues.jsonl is 10m0s older than beads.db (export pending?); last activity 30s ago",
		"beads: daemon.log: 2026-11-26T13:50:00Z Error: export failed: disk full",
	}
	if diff := cmp.Diff(wantWarn, r.Warnings); diff != "" {
		t.Errorf("warnings (-want +got)\n%s", diff)
	}
	if !r.OverallHealthy {
		t.Errorf("problems = %q", r.Problems)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuildHealthReportNoStaleFigures: a stopped daemon's last health result
// is not shown as today's, and an online daemon the agent has not sampled yet
// shows the memory read now, or "not sampled yet", never 0B (issue 15 item 9).
func TestBuildHealthReportNoStaleFigures(t *testing.T) {
	dir := t.TempDir()
	web := beadsDaemon("web", func(d *schema.Daemon) {
		d.Command, d.Args, d.Dir = "sh", []string{"-c", "sleep 1000"}, dir
		d.Health = schema.Health{Check: "exec", Command: []string{"true"}, Interval: time.Second, Timeout: 500 * time.Millisecond, Failures: 3}
	})
	healthy := agentapi.HealthStatus{Status: "healthy"}
	checks := func(s agentapi.Status, mem proc.MemoryFunc) []string {
		in := HealthInput{Dir: dir, ConfigPath: filepath.Join(dir, "beads.hcl"), ConfigExists: true,
			Daemons: []schema.Daemon{web}, Agent: &agentapi.AgentStatus{Pid: 7, Daemons: []agentapi.Status{s}}, Version: "test", Now: t0}
		r := BuildHealthReport(t.Context(), in, fakeProbes(func(p *HealthProbes) { p.Memory = mem }))
		var out []string
		for _, c := range r.Daemons["web"].Checks {
			out = append(out, c.Detail)
		}
		return out
	}
	stopped := agentapi.Status{Name: "web", State: agentapi.StateStopped, Stopped: true, Health: healthy}
	if d := cmp.Diff([]string{"stopped by user (beadsctl start web)"}, checks(stopped, nil)); d != "" {
		t.Errorf("stopped (-want +got)\n%s", d)
	}
	online := agentapi.Status{Name: "web", State: agentapi.StateOnline, Pid: 42, StartTime: t0.Add(-time.Second), MemoryLimitBytes: 2 << 30, Health: healthy}
	if d := cmp.Diff([]string{"online, pid 42, up 1s, memory not sampled yet / 2G", "health check healthy"}, checks(online, nil)); d != "" {
		t.Errorf("online, no sample (-want +got)\n%s", d)
	}
	mem := func(_ context.Context, pid int) (uint64, error) { return 31 << 20, nil }
	if d := cmp.Diff([]string{"online, pid 42, up 1s, memory 31M / 2G", "health check healthy"}, checks(online, mem)); d != "" {
		t.Errorf("online, read now (-want +got)\n%s", d)
	}
}

// TestLeftRunningOf: what an agent that is not running should run is what the
// last apply left running: not the daemons stopped on purpose (named, so that
// the command leaves them stopped), destroyed, or one-shots that completed.
func TestLeftRunningOf(t *testing.T) {
	done := time.Date(2026, 12, 4, 4, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		daemons map[string]reconcile.DaemonState
		want    *LeftRunning
	}{
		"all running": {map[string]reconcile.DaemonState{"b": {}, "a": {}},
			&LeftRunning{Daemons: []string{"a", "b"}, Command: "beadsctl start a b"}},
		"one stopped, a one-shot done": {map[string]reconcile.DaemonState{"web": {}, "worker": {Stopped: true}, "migrate": {CompletedAt: done}},
			&LeftRunning{Daemons: []string{"web"}, Stopped: []string{"worker"}, Command: "beadsctl start web"}},
		"destroyed":    {map[string]reconcile.DaemonState{"web": {Stopped: true, Destroyed: true}}, nil},
		"all stopped":  {map[string]reconcile.DaemonState{"web": {Stopped: true}}, nil},
		"none applied": {nil, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := &reconcile.State{Lineage: "l", Daemons: tc.daemons}
			if tc.daemons == nil {
				st.Lineage = ""
			}
			if diff := cmp.Diff(tc.want, LeftRunningOf(st)); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}
