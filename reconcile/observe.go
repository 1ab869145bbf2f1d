package reconcile

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/schema"
)

// StatusSource is the part of the agent's client that Observe needs.
type StatusSource interface {
	Status(ctx context.Context) (agentapi.AgentStatus, error)
}

// Probes are the bd facts Observe gathers; DefaultProbes gives the real ones.
type Probes struct {
	// InstalledVersion runs `<bd> version` (with BEADS_AUTO_START_DAEMON=false).
	InstalledVersion func(ctx context.Context, bd string) (string, error)
	// Probe asks the daemon answering on <workspace>/.beads/bd.sock.
	Probe func(ctx context.Context, workspace, clientVersion string) (bd.Probe, error)
	// ReadLock reads <workspace>/.beads/daemon.lock and whether a live process holds it.
	ReadLock func(workspace string) (bd.Lock, bool, error)
	// StartTime is the OS start time of a process.
	StartTime func(pid int) (int64, error)
	// FindBeadsDir finds the .beads folder a bd daemon started in dir uses
	// (bd.FindBeadsDir); nil skips the check.
	FindBeadsDir func(dir string, getenv func(string) string) (string, error)
	// Dolt are the probes for bd 1.x Dolt servers (dolt_server daemons).
	Dolt DoltProbes
}

// DefaultProbes are the real probes: bd's (internal/bd) and the OS's (internal/proc).
func DefaultProbes() Probes {
	return Probes{
		InstalledVersion: bd.InstalledVersion,
		Probe:            bd.ProbeDaemon,
		ReadLock:         bd.ReadLock,
		FindBeadsDir:     bd.FindBeadsDir,
		StartTime: func(pid int) (int64, error) {
			t, err := proc.StartTime(pid)
			return t.UnixMilli(), err
		},
		Dolt: DefaultDoltProbes(),
	}
}

// Observe gathers what runs: the agent's answer (an agent that does not answer
// is down, and AgentErr says why), and for every bd daemon the installed and the
// running versions and any bd daemon holding its workspace that is not ours.
// st is the last applied state (ReadState).
func Observe(ctx context.Context, desired *schema.Config, st *State, agent StatusSource, pr Probes) *Live {
	if st != nil {
		PinDoltPorts(desired, st, pr.Dolt)
	}
	live := &Live{State: st, Daemons: map[string]agentapi.Status{}, Beads: map[string]BeadsLive{}}
	if agent != nil {
		as, err := agent.Status(ctx)
		live.At = time.Now()
		if err == nil {
			live.AgentUp, live.Agent = true, as
			for _, s := range as.Daemons {
				live.Daemons[s.Name] = s
			}
		} else {
			live.AgentErr = err
		}
	}
	ours := map[int]bool{}
	for _, s := range live.Daemons {
		if s.Pid > 0 {
			ours[s.Pid] = true
		}
	}
	type installedVersion struct{ v, err string }
	installed := map[string]installedVersion{}
	for i := range desired.Daemons {
		d := &desired.Daemons[i]
		if !d.IsBeads() {
			continue
		}
		var b BeadsLive
		iv, ok := installed[d.Command]
		if !ok && pr.InstalledVersion != nil {
			iv.v, iv.err = installedBD(ctx, pr, d.Command)
			installed[d.Command] = iv
		}
		b.Installed, b.InstalledErr = iv.v, iv.err
		a, running := live.Daemons[d.Name]
		if running && a.Health.Version != "" {
			b.Running = a.Health.Version
		}
		held := false
		if pr.ReadLock != nil {
			var lock bd.Lock
			var err error
			lock, held, err = pr.ReadLock(d.Dir)
			switch {
			case err != nil || !held:
				held = false
			case ours[lock.Pid]:
				if b.Running == "" {
					b.Running = lock.Version
				}
			default:
				b.Unmanaged = &Unmanaged{Pid: lock.Pid, Version: lock.Version, StartedAt: lock.StartedAt,
					Via: "daemon.lock", Workspace: d.Dir}
			}
		}
		if !held && pr.Probe != nil {
			p, err := pr.Probe(ctx, d.Dir, b.Installed)
			switch {
			case err != nil:
			case p.Pid != 0 && ours[p.Pid]:
				if b.Running == "" {
					b.Running = p.Version
				}
			default:
				b.Unmanaged = &Unmanaged{Pid: p.Pid, Version: p.Version, Via: "bd.sock", Workspace: d.Dir}
			}
		}
		if u := b.Unmanaged; u != nil && u.Pid > 0 && pr.StartTime != nil {
			ms, err := pr.StartTime(u.Pid)
			if err != nil {
				u.StartTimeMS, u.StartTimeErr = 0, err.Error()
			} else {
				u.StartTimeMS = ms
			}
		}
		if pr.FindBeadsDir != nil {
			b.Workspace = workspaceProblem(d, pr.FindBeadsDir)
		}
		if b.Unmanaged != nil || b.Installed != "" || b.InstalledErr != "" || b.Running != "" || b.Workspace != "" {
			live.Beads[d.Name] = b
		}
	}
	observeDolt(ctx, desired, live, pr.Dolt)
	return live
}

// BDVersionTimeout bounds `bd version` in Observe: a bd that hangs (a broken
// install, a wrapper waiting for input) must not hang plan and drift.
const BDVersionTimeout = 5 * time.Second

// installedBD runs the InstalledVersion probe under BDVersionTimeout; it
// returns the version, or why it is unknown when bd did not answer in time.
func installedBD(ctx context.Context, pr Probes, bd string) (string, string) {
	vctx, cancel := context.WithTimeout(ctx, BDVersionTimeout)
	defer cancel()
	v, _ := pr.InstalledVersion(vctx, bd)
	if v == "" && ctx.Err() == nil && errors.Is(vctx.Err(), context.DeadlineExceeded) {
		return "", fmt.Sprintf("%s version did not answer in %v", bd, BDVersionTimeout)
	}
	return v, ""
}

// ErrNotApplied is returned by commands that need a state when nothing was ever applied.
var ErrNotApplied = errors.New("nothing was applied here yet (no .beadsctl/state.json); run beadsctl apply")

// AgentDownReason is a short explanation of why the agent is seen as down.
func (l *Live) AgentDownReason() string {
	if l.AgentUp {
		return ""
	}
	if err := l.NotAnswering(); err != nil {
		return err.Error()
	}
	if l.AgentErr == nil {
		return "the agent is not running"
	}
	return fmt.Sprintf("the agent is not running (%v)", l.AgentErr)
}

// NotAnswering returns the agent's error when an agent lives but did not
// answer (ErrAgentNotAnswering), and nil otherwise. Nothing can be known of its
// daemons then: commands that would act refuse rather than guess.
func (l *Live) NotAnswering() error {
	if l == nil || l.AgentUp || !errors.Is(l.AgentErr, ErrAgentNotAnswering) {
		return nil
	}
	return l.AgentErr
}

// AgentAnswers returns nil when acting on what Observe saw is safe, and the
// refusal to show otherwise: with an agent that lives but does not answer,
// starting, stopping or removing anything could run a daemon twice or orphan
// one, and recording anything would record what did not happen.
func (l *Live) AgentAnswers() error {
	err := l.NotAnswering()
	if err == nil {
		return nil
	}
	hint := "wait until it answers, or give it longer (--agent-timeout)"
	var na *NotAnsweringError
	if errors.As(err, &na) && na.Pid > 0 {
		hint = fmt.Sprintf("if it was stopped, kill -CONT %d resumes it; if it is busy, give it longer (--agent-timeout)", na.Pid)
	}
	return fmt.Errorf("%w; nothing was changed: %s", err, hint)
}

// workspaceProblem says why bd cannot run d's daemon in d.Dir as beadsctl
// watches it, or "": bd looks for its database from d.Dir upwards, so a folder
// with no .beads/ set up by bd init (a bd daemon there exits at once, "no
// database path configured") or under another workspace (bd would serve that
// one, beadsctl would probe d.Dir/.beads) is said before anything starts.
func workspaceProblem(d *schema.Daemon, find func(string, func(string) string) (string, error)) string {
	getenv := func(k string) string { return d.Environment[k] }
	beadsDir, err := find(d.Dir, getenv)
	if err != nil {
		return fmt.Sprintf("%v: a bd daemon there exits at once (\"no database path configured\"); run bd init in %s", err, d.Dir)
	}
	if getenv("BEADS_DIR") != "" || getenv("BEADS_DB") != "" {
		return "" // named on purpose
	}
	want := filepath.Join(d.Dir, ".beads")
	if !bd.SameDir(beadsDir, want) {
		if r, err := filepath.EvalSymlinks(want); err == nil && bd.SameDir(beadsDir, r) {
			return ""
		}
		return fmt.Sprintf("%s has no .beads/ set up by bd init: bd started there uses %s (a parent folder's workspace), where beadsctl does not look; set dir = %q in beads.hcl, or run bd init in %s", d.Dir, beadsDir, filepath.Dir(beadsDir), d.Dir)
	}
	return ""
}
