package reconcile

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/schema"
)

// Kinds of drift findings.
const (
	KindNeverApplied      = "never-applied"       // no state file: nothing was ever applied
	KindConfigChanged     = "config-changed"      // beads.hcl or the profile changed since apply
	KindAgentDown         = "agent-down"          // no agent runs
	KindAgentNotAnswering = "agent-not-answering" // an agent lives but does not answer: nothing known of its daemons
	KindDaemonMissing     = "daemon-missing"      // applied, but the agent does not run it
	KindDaemonStopped     = "daemon-stopped"      // stopped, not by a user
	KindStoppedOnPurpose  = "stopped-on-purpose"  // stopped by beadsctl stop (informational)
	KindDaemonErrored     = "daemon-errored"
	KindDaemonRestarting  = "daemon-restarting" // exited; the agent restarts it by its restart policy (a crash loop until errored)
	KindSpecChanged       = "spec-changed"      // the agent runs a spec that was not applied from here
	KindArgvChanged       = "argv-changed"      // the process's argv, cwd or environment changed under us
	KindVersionMismatch   = "version-mismatch"
	KindBDVersionUnknown  = "bd-version-unknown" // `bd version` did not answer in time (informational)
	KindAgentVersion      = "agent-version"      // the agent runs another beadsctl version: apply replaces it
	KindUnmanaged         = "unmanaged"
	KindBdWorkspace       = "bd-workspace" // a bd daemon's folder is no workspace bd can run in (bd init)
	KindMemoryOverLimit   = "memory-over-limit"
	KindPM2               = "pm2"            // PM2 still runs or has saved an app that runs a daemon of the file
	KindDaemonWaiting     = "daemon-waiting" // not started: a dependency does not meet its condition
)

// Finding is one difference between what should run and what runs.
type Finding struct {
	Kind     string `json:"kind"`
	Daemon   string `json:"daemon,omitempty"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	// Info findings are reported but are not drift (a daemon stopped on purpose).
	Info bool `json:"info,omitempty"`
}

// HasDrift reports whether any finding is more than informational.
func HasDrift(fs []Finding) bool {
	for _, f := range fs {
		if !f.Info {
			return true
		}
	}
	return false
}

// Findings compares what beads.hcl declares and the last applied state with
// what runs. With configOnly it compares only the file with the state. It does
// no I/O; its result is sorted by daemon, then kind.
func Findings(desired *schema.Config, live *Live, configOnly bool) []Finding {
	st := live.State
	if st == nil {
		st = &State{}
	}
	out := []Finding{}
	if !st.Applied() {
		out = append(out, Finding{Kind: KindNeverApplied, Expected: "a state file written by beadsctl apply",
			Actual: "nothing was ever applied here (no .beadsctl/state.json)"})
	} else {
		if st.Env != desired.Env {
			out = append(out, Finding{Kind: KindConfigChanged, Expected: "profile " + profileName(st.Env) + " (applied)",
				Actual: "profile " + profileName(desired.Env)})
		}
		declared := map[string]bool{}
		for i := range desired.Daemons {
			d := &desired.Daemons[i]
			declared[d.Name] = true
			s, ok := st.Daemons[d.Name]
			switch {
			case !ok:
				out = append(out, Finding{Kind: KindConfigChanged, Daemon: d.Name, Expected: "not applied",
					Actual: "declared in beads.hcl"})
			case !st.SameDigest(s.Hash, d.Hash):
				var paths []string
				for _, a := range st.DiffDaemons(&s, d) {
					paths = append(paths, a.Path)
				}
				out = append(out, Finding{Kind: KindConfigChanged, Daemon: d.Name, Expected: "as applied (hash " + ShortHash(s.Hash) + ")",
					Actual: "changed in beads.hcl: " + orNone(strings.Join(paths, ", "))})
			}
		}
		for _, name := range st.Names() {
			if !declared[name] {
				out = append(out, Finding{Kind: KindConfigChanged, Daemon: name, Expected: "applied",
					Actual: "removed from beads.hcl"})
			}
		}
	}
	if !configOnly {
		out = append(out, liveFindings(desired, live, st)...)
		out = append(out, pm2Findings(live.PM2)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Daemon != out[j].Daemon {
			return out[i].Daemon < out[j].Daemon
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

func liveFindings(desired *schema.Config, live *Live, st *State) []Finding {
	if err := live.NotAnswering(); err != nil {
		return []Finding{{Kind: KindAgentNotAnswering, Expected: "the agent answers (.beadsctl/agent.sock)", Actual: err.Error()}}
	}
	var out []Finding
	if a := live.AgentOutdated(); a != nil {
		out = append(out, Finding{Kind: KindAgentVersion, Expected: fmt.Sprintf("an agent of beadsctl %s (control API %d)", a.WantVersion, a.WantAPI),
			Actual: fmt.Sprintf("agent pid %d runs beadsctl %s (control API %d); apply replaces it, restarting its %s", a.Pid, a.Version, a.API, plural.Count(len(a.Daemons), "daemon"))})
	}
	anyRunning := false
	for _, s := range st.Daemons {
		anyRunning = anyRunning || !s.Stopped
	}
	if !live.AgentUp && anyRunning {
		out = append(out, Finding{Kind: KindAgentDown, Expected: "the agent runs (.beadsctl/agent.sock answers)",
			Actual: "the agent is not running"})
	}
	for i := range desired.Daemons {
		d := &desired.Daemons[i]
		if e := live.Beads[d.Name].InstalledErr; e != "" {
			out = append(out, Finding{Kind: KindBDVersionUnknown, Daemon: d.Name, Expected: "bd version answers", Actual: e, Info: true})
		}
		s, applied := st.Daemons[d.Name]
		a, running := live.Daemons[d.Name]
		running = running && live.AgentUp
		_, completed := completedOneShot(d, st)
		switch {
		case completed && (!running || a.State == agentapi.StateCompleted):
			// A one-shot that completed with this spec: nothing should run.
		case running && a.State == agentapi.StateWaiting:
			out = append(out, Finding{Kind: KindDaemonWaiting, Daemon: d.Name, Expected: "online", Actual: "waiting" + suffix(a.Reason)})
		case applied && s.Stopped, running && a.Stopped:
			by := "stopped (beadsctl stop)"
			if applied && s.Destroyed && !running {
				by = "stopped (beadsctl destroy)"
			}
			out = append(out, Finding{Kind: KindStoppedOnPurpose, Daemon: d.Name, Expected: by,
				Actual: stateOf(running, a), Info: true})
		case !applied:
		case !running:
			if live.AgentUp {
				out = append(out, Finding{Kind: KindDaemonMissing, Daemon: d.Name, Expected: "online", Actual: "not run by the agent"})
			} else {
				out = append(out, Finding{Kind: KindDaemonMissing, Daemon: d.Name, Expected: "online", Actual: "not running (the agent is down)"})
			}
		case a.State == agentapi.StateWaitingRestart:
			out = append(out, Finding{Kind: KindDaemonRestarting, Daemon: d.Name, Expected: "online", Actual: restarting(d, a, 0)})
		case a.State == agentapi.StateOnline && a.UnstableRestarts > 0 && a.LastExit != nil && a.LastExit.Uptime < d.Restart.MinUptime &&
			!live.At.IsZero() && !a.StartTime.IsZero() && live.At.Sub(a.StartTime) < d.Restart.MinUptime:
			// Online between crashes: not stable until it outlives min_uptime.
			out = append(out, Finding{Kind: KindDaemonRestarting, Daemon: d.Name, Expected: "online", Actual: restarting(d, a, live.At.Sub(a.StartTime))})
		case a.State == agentapi.StateErrored:
			out = append(out, Finding{Kind: KindDaemonErrored, Daemon: d.Name, Expected: "online", Actual: "errored" + suffix(a.Reason)})
		case a.State == agentapi.StateStopped:
			out = append(out, Finding{Kind: KindDaemonStopped, Daemon: d.Name, Expected: "online", Actual: "stopped" + suffix(a.Reason)})
		}
		if running && applied {
			if a.SpecHash != "" && !st.SameDigest(a.SpecHash, s.Hash) {
				out = append(out, Finding{Kind: KindSpecChanged, Daemon: d.Name, Expected: "spec " + ShortHash(s.Hash) + " (applied)",
					Actual: "spec " + ShortHash(a.SpecHash)})
			} else if a.Pid != 0 {
				switch {
				case len(s.Argv) > 0 && len(a.Argv) > 0 && !slices.Equal(s.Argv, a.Argv):
					out = append(out, Finding{Kind: KindArgvChanged, Daemon: d.Name, Expected: fmt.Sprintf("argv %q", s.Argv), Actual: fmt.Sprintf("argv %q", a.Argv)})
				case s.Dir != "" && a.Dir != "" && s.Dir != a.Dir:
					out = append(out, Finding{Kind: KindArgvChanged, Daemon: d.Name, Expected: "cwd " + s.Dir, Actual: "cwd " + a.Dir})
				case s.EnvHash != "" && a.EnvHash != "" && !st.SameDigest(s.EnvHash, a.EnvHash):
					out = append(out, Finding{Kind: KindArgvChanged, Daemon: d.Name, Expected: "environment " + ShortHash(s.EnvHash), Actual: "environment " + ShortHash(a.EnvHash)})
				}
			}
		}
		if running && a.MemoryLimitBytes > 0 && a.MemoryBytes > a.MemoryLimitBytes {
			out = append(out, Finding{Kind: KindMemoryOverLimit, Daemon: d.Name, Expected: "at most " + unquote(size(a.MemoryLimitBytes)),
				Actual: fmt.Sprintf("%d bytes", a.MemoryBytes)})
		}
		if b, ok := live.Beads[d.Name]; ok {
			if b.Installed != "" && b.Running != "" && b.Installed != b.Running {
				out = append(out, Finding{Kind: KindVersionMismatch, Daemon: d.Name, Expected: "bd " + b.Installed + " (installed)",
					Actual: "daemon runs " + b.Running})
			}
			if b.Workspace != "" {
				out = append(out, Finding{Kind: KindBdWorkspace, Daemon: d.Name, Expected: "a Beads workspace in " + d.Dir + " (.beads/ set up by bd init)",
					Actual: b.Workspace})
			}
			if u := b.Unmanaged; u != nil {
				out = append(out, Finding{Kind: KindUnmanaged, Daemon: d.Name, Expected: "no bd daemon but ours in " + u.Workspace,
					Actual: u.String()})
			}
		}
	}
	out = append(out, doltFindings(desired, live)...)
	return out
}

// restarting says why a daemon waiting to be restarted, or online for up
// (> 0) between crashes, is not online for good (its last exit, its unstable
// restarts, its last line) and what to do: the agent restarts it by its
// restart policy, so apply has nothing to change for it.
func restarting(d *schema.Daemon, a agentapi.Status, up time.Duration) string {
	var b strings.Builder
	if up > 0 {
		b.WriteString("online for " + up.Round(time.Second).String() + ", but ")
	}
	if e := a.LastExit; e != nil {
		how, when := exitHow(e)
		if e.Signal == "" {
			how = "exited (" + how + ")"
		}
		b.WriteString(how + " " + when)
		if n := a.UnstableRestarts; n > 0 {
			fmt.Fprintf(&b, ", %s in a row", plural.Count(n, "unstable restart"))
			if d.Restart.MaxRestarts > 0 {
				fmt.Fprintf(&b, " (errored after %d unstable runs)", d.Restart.MaxRestarts)
			}
		}
		if n := len(e.LogTail); n > 0 {
			fmt.Fprintf(&b, ", last line %q", e.LogTail[n-1])
		}
		b.WriteString("; ")
	}
	if up > 0 {
		b.WriteString("it is counted stable once up " + d.Restart.MinUptime.String() + ". ")
	} else if a.Reason != "" {
		b.WriteString("the agent: " + a.Reason + ". ")
	}
	b.WriteString("The agent restarts it by its restart policy; apply has nothing to change until beads.hcl does: ")
	fmt.Fprintf(&b, "see beadsctl show %s, then fix beads.hcl and apply, or fix the cause outside it and beadsctl restart %s", d.Name, d.Name)
	return b.String()
}

func (u *Unmanaged) String() string {
	v := u.Version
	if v == "" {
		v = "unknown"
	}
	return fmt.Sprintf("unmanaged bd daemon pid %d, version %s, socket %s (seen via %s)", u.Pid, v, filepath.Join(u.Workspace, ".beads", "bd.sock"), u.Via)
}

func stateOf(running bool, a agentapi.Status) string {
	if !running {
		return "not running"
	}
	return string(a.State)
}

// DescribeProfile names a profile in a sentence: "profile production", or
// "no profile (the base blocks)".
func DescribeProfile(env string) string {
	if env == "" {
		return "no profile (the base blocks)"
	}
	return "profile " + env
}

func profileName(env string) string {
	if env == "" {
		return "(none)"
	}
	return env
}

// ShortHash is h as plans, drift and reports show it: its first 12 hex
// digits, without the hmac-sha256: or sha256: of a recorded hash.
func ShortHash(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, keyedPrefix), unkeyedPrefix)
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func orNone(s string) string {
	if s == "" {
		return "no attribute (hash only)"
	}
	return s
}

func unquote(s string) string { return strings.Trim(s, `"`) }
