package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

func TestFindings(t *testing.T) {
	beads := beadsDaemon("beads")
	st := applied("", beads)
	slower := beadsDaemon("beads", func(d *schema.Daemon) { d.Interval = 10 * time.Second })
	tests := map[string]struct {
		desired    *schema.Config
		live       *Live
		configOnly bool
		want       []Finding
	}{
		"in sync": {config("", beads), agentUp(st, online(st, beads)), false, []Finding{}},
		"never applied": {config("", beads), &Live{State: &State{}}, false, []Finding{{Kind: KindNeverApplied,
			Expected: "a state file written by beadsctl apply", Actual: "nothing was ever applied here (no .beadsctl/state.json)"}}},
		"config changed": {config("", slower), agentUp(st, online(st, beads)), true, []Finding{{Kind: KindConfigChanged, Daemon: "beads",
			Expected: "as applied (hash " + beads.Hash[:12] + ")", Actual: "changed in beads.hcl: interval"}}},
		"profile changed": {config("production", beads), agentUp(st, online(st, beads)), true, []Finding{{Kind: KindConfigChanged,
			Expected: "profile (none) (applied)", Actual: "profile production"}}},
		"agent killed": {config("", beads), &Live{State: st}, false, []Finding{
			{Kind: KindAgentDown, Expected: "the agent runs (.beadsctl/agent.sock answers)", Actual: "the agent is not running"},
			{Kind: KindDaemonMissing, Daemon: "beads", Expected: "online", Actual: "not running (the agent is down)"},
		}},
		"config only ignores the agent": {config("", beads), &Live{State: st}, true, []Finding{}},
		"memory and version": {config("", beads), func() *Live {
			a := online(st, beads)
			a.MemoryBytes, a.MemoryLimitBytes = 300<<20, 200<<20
			l := agentUp(st, a)
			l.Beads = map[string]BeadsLive{"beads": {Installed: "0.28.0", Running: "0.26.0"}}
			return l
		}(), false, []Finding{
			{Kind: KindMemoryOverLimit, Daemon: "beads", Expected: "at most 200M", Actual: "314572800 bytes"},
			{Kind: KindVersionMismatch, Daemon: "beads", Expected: "bd 0.28.0 (installed)", Actual: "daemon runs 0.26.0"},
		}},
		"errored": {config("", beads), func() *Live {
			a := online(st, beads)
			a.State, a.Reason = agentapi.StateErrored, "too many restarts"
			return agentUp(st, a)
		}(), false, []Finding{{Kind: KindDaemonErrored, Daemon: "beads", Expected: "online", Actual: "errored: too many restarts"}}},
		// The agent restarts a daemon that keeps exiting under its restart
		// policy: plan has nothing to change, but plan and drift say it is
		// not online, why, and what to do (was: "No changes."/"No drift.").
		"restarting after a crash": {config("", beads), func() *Live {
			a := online(st, beads)
			a.State, a.Reason, a.Pid = agentapi.StateWaitingRestart, "restart in 5s", 0
			a.Restarts, a.UnstableRestarts = 3, 3
			a.LastExit = &agentapi.Exit{Code: 1, Uptime: 2 * time.Millisecond, LogTail: []string{"starting", "boom"}}
			return agentUp(st, a)
		}(), false, []Finding{{Kind: KindDaemonRestarting, Daemon: "beads", Expected: "online",
			Actual: `exited (exit code 1) 2ms after it started, 3 unstable restarts in a row (errored after 10 unstable runs), last line "boom"; the agent: restart in 5s. ` +
				`The agent restarts it by its restart policy; apply has nothing to change until beads.hcl does: see beadsctl show beads, then fix beads.hcl and apply, or fix the cause outside it and beadsctl restart beads`}}},
		// A run that lives a few seconds is online between its crashes: it is
		// a crash loop as long as it has not outlived min_uptime.
		"online between crashes": {config("", beads), func() *Live {
			a := online(st, beads)
			a.StartTime = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			a.Restarts, a.UnstableRestarts = 4, 4
			a.LastExit = &agentapi.Exit{Code: 1, Uptime: 3 * time.Second}
			l := agentUp(st, a)
			l.At = a.StartTime.Add(2 * time.Second)
			return l
		}(), false, []Finding{{Kind: KindDaemonRestarting, Daemon: "beads", Expected: "online",
			Actual: `online for 2s, but exited (exit code 1) 3s after it started, 4 unstable restarts in a row (errored after 10 unstable runs); it is counted stable once up 10s. ` +
				`The agent restarts it by its restart policy; apply has nothing to change until beads.hcl does: see beadsctl show beads, then fix beads.hcl and apply, or fix the cause outside it and beadsctl restart beads`}}},
		"online past min_uptime after crashes": {config("", beads), func() *Live {
			a := online(st, beads)
			a.StartTime = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			a.Restarts, a.UnstableRestarts = 4, 4
			a.LastExit = &agentapi.Exit{Code: 1, Uptime: 3 * time.Second}
			l := agentUp(st, a)
			l.At = a.StartTime.Add(10 * time.Second)
			return l
		}(), false, []Finding{}},
		"restarting after a kill": {config("", beads), func() *Live {
			a := online(st, beads)
			a.State, a.Reason, a.Pid = agentapi.StateWaitingRestart, "restart in 5s", 0
			a.LastExit = &agentapi.Exit{Code: -1, Signal: "SIGKILL", Uptime: time.Minute}
			return agentUp(st, a)
		}(), false, []Finding{{Kind: KindDaemonRestarting, Daemon: "beads", Expected: "online",
			Actual: `killed by SIGKILL 1m0s after it started; the agent: restart in 5s. ` +
				`The agent restarts it by its restart policy; apply has nothing to change until beads.hcl does: see beadsctl show beads, then fix beads.hcl and apply, or fix the cause outside it and beadsctl restart beads`}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Findings(tc.desired, tc.live, tc.configOnly)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}
