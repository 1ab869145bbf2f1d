package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
)

// TestNPMScripts checks that every daemon:* script of examples/npm/package.json
// runs an existing beadsctl command with flags it accepts.
func TestNPMScripts(t *testing.T) {
	b, err := os.ReadFile("../../examples/npm/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Scripts map[string]string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"start", "stop", "restart", "status", "logs", "monitor", "health", "cleanup"} {
		if _, ok := pkg.Scripts["daemon:"+want]; !ok {
			t.Errorf("no daemon:%s script", want)
		}
	}
	for name, script := range pkg.Scripts {
		args := strings.Fields(script)
		if args[0] != "beadsctl" {
			t.Errorf("%s: %q does not run beadsctl", name, script)
			continue
		}
		cmd, rest, err := New().Find(args[1:])
		if err != nil || cmd.Name() == "beadsctl" {
			t.Errorf("%s: %q: no such command (%v)", name, script, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%s: %q: %v", name, script, err)
		}
	}
}

func TestRenderStatusAgentDownFromState(t *testing.T) {
	st := &reconcile.State{Env: "production", Daemons: map[string]reconcile.DaemonState{"beads": {Pid: 9}}}
	r := report.BuildStatusReport(nil, reconcile.ErrAgentDown, nil, st, time.Now())
	var b strings.Builder
	renderStatus(&b, r, time.Now(), false)
	want := "The agent is not running: showing what the last apply recorded (.beadsctl/state.json).\n" +
		"NAME   ENV         STATUS   PID  UPTIME  RESTARTS  CPU  MEMORY  HEALTH   LAST RESTART\n" +
		"beads  production  unknown  -    -       0 (0)     -    -       unknown  -\n" +
		"beads: agent not running\n" +
		"Profile production (applied last; --env NAME or --no-env to choose another).\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestRenderStatusRestartReason(t *testing.T) {
	live := &agentapi.AgentStatus{Pid: 1, Daemons: []agentapi.Status{{Name: "beads", State: agentapi.StateWaitingRestart,
		Reason: "restarting in 5s", Restarts: 3, UnstableRestarts: 2, LastRestartReason: "crash",
		LastExit: &agentapi.Exit{Code: -1, Signal: "SIGKILL"}}}}
	var b strings.Builder
	renderStatus(&b, report.BuildStatusReport(live, nil, nil, nil, time.Now()), time.Now(), false)
	for _, want := range []string{"waiting-restart", "3 (2)", "crash (SIGKILL)", "beads: restarting in 5s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}

// TestRenderStatusColumnsAlignWithColor: on a terminal the status cells carry
// colour codes; the columns are laid out by the width the user sees, so every
// cell starts under its header (issue 15 item 8: `STATUS        PID` over
// `online  12706`).
func TestRenderStatusColumnsAlignWithColor(t *testing.T) {
	now := time.Now()
	live := &agentapi.AgentStatus{Pid: 1, Version: version, Daemons: []agentapi.Status{
		{Name: "beads", State: agentapi.StateOnline, Pid: 12706, StartTime: now.Add(-time.Minute), MemoryBytes: 1 << 20, Health: agentapi.HealthStatus{Status: "healthy"}},
		{Name: "web", State: agentapi.StateErrored, Reason: "crashed", Restarts: 10, UnstableRestarts: 10},
	}}
	var b strings.Builder
	renderStatus(&b, report.BuildStatusReport(live, nil, nil, nil, now), now, true)
	if !strings.Contains(b.String(), "\x1b[32monline\x1b[0m") {
		t.Fatalf("no coloured status in\n%q", b.String())
	}
	lines := strings.Split(stripANSI(b.String()), "\n")
	header := lines[0]
	cols := strings.Fields(strings.Replace(header, "LAST RESTART", "LAST_RESTART", 1))
	var starts []int
	for _, c := range cols {
		starts = append(starts, strings.Index(strings.Replace(header, "LAST RESTART", "LAST_RESTART", 1), c))
	}
	for _, l := range lines[1:3] {
		for i, s := range starts {
			if s >= len(l) || l[s] == ' ' || (s > 0 && l[s-1] != ' ') {
				t.Errorf("column %s does not start at %d in %q (header %q)", cols[i], s, l, header)
			}
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\x1b' {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestRenderStatusUnknownIsDash: after an agent restart a daemon the state
// records but the agent does not run shows no pid and no figures; an online
// daemon not sampled yet shows "-" for memory, not 0B (issue 15 item 9).
func TestRenderStatusUnknownIsDash(t *testing.T) {
	now := time.Now()
	st := &reconcile.State{Daemons: map[string]reconcile.DaemonState{"gone": {Pid: 4242}}}
	live := &agentapi.AgentStatus{Pid: 1, Version: version, Daemons: []agentapi.Status{
		{Name: "web", State: agentapi.StateOnline, Pid: 12706, StartTime: now.Add(-time.Minute)},
	}}
	var b strings.Builder
	renderStatus(&b, report.BuildStatusReport(live, nil, nil, st, now), now, false)
	want := "NAME  ENV  STATUS   PID    UPTIME  RESTARTS  CPU   MEMORY  HEALTH   LAST RESTART\n" +
		"gone  -    missing  -      -       0 (0)     -     -       unknown  -\n" +
		"web   -    online   12706  1m0s    0 (0)     0.0%  -       none     -\n" +
		"gone: applied but not run by the agent (last pid 4242)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestRenderListColumns: ls is status in pm2 ls's columns (no profile
// column, unstable count, limit-less memory, health or last restart), with the
// same header when the agent is down and status's profile line.
func TestRenderListColumns(t *testing.T) {
	st := &reconcile.State{Env: "production", Daemons: map[string]reconcile.DaemonState{"beads": {Pid: 9}}}
	r := report.BuildStatusReport(nil, reconcile.ErrAgentDown, nil, st, time.Now())
	var b strings.Builder
	renderList(&b, r, time.Now(), false)
	want := "The agent is not running: showing what the last apply recorded (.beadsctl/state.json).\n" +
		"NAME   STATUS   PID  UPTIME  RESTARTS  CPU  MEM\n" +
		"beads  unknown  -    -       0         -    -\n" +
		"beads: agent not running\n" +
		"Profile production (applied last; --env NAME or --no-env to choose another).\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestTerraformFlags: Terraform's single-dash long flags reach pflag in the
// double-dash form when the command has them; shorthands, values and what
// follows "--" are left alone.
func TestTerraformFlags(t *testing.T) {
	tests := map[string]struct{ in, want []string }{
		"target":         {[]string{"plan", "-target", "web", "-target=db"}, []string{"plan", "--target", "web", "--target=db"}},
		"auto-approve":   {[]string{"apply", "-auto-approve", "-y"}, []string{"apply", "--auto-approve", "-y"}},
		"persistent":     {[]string{"plan", "-env", "production", "-f", "x.hcl"}, []string{"plan", "--env", "production", "-f", "x.hcl"}},
		"not a flag":     {[]string{"logs", "-n", "-1", "-nope"}, []string{"logs", "-n", "-1", "-nope"}},
		"after --":       {[]string{"plan", "--", "-target"}, []string{"plan", "--", "-target"}},
		"no such thing":  {[]string{"nope", "-target"}, []string{"nope", "-target"}},
		"not on ls":      {[]string{"ls", "-target"}, []string{"ls", "-target"}},
		"a value kept":   {[]string{"show", "web", "-n", "5"}, []string{"show", "web", "-n", "5"}},
		"double already": {[]string{"apply", "--target", "web"}, []string{"apply", "--target", "web"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := terraformFlags(New(), tc.in)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("terraformFlags(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
