package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
	"github.com/beadsctl/beadsctl/schema"
)

// opsAgent is what status, health and monitor need of the agent's client.
type opsAgent interface {
	Status(ctx context.Context) (agentapi.AgentStatus, error)
	Restart(ctx context.Context, name string) (agentapi.Status, error)
	Stop(ctx context.Context, name string) (agentapi.Status, error)
	Start(ctx context.Context, name string) (agentapi.Status, error)
}

var _ opsAgent = (*reconcile.Client)(nil)

// opsDir is the project folder: the folder of --file.
func opsDir(g *globals) string {
	abs, err := filepath.Abs(g.file)
	if err != nil {
		return filepath.Dir(g.file)
	}
	return filepath.Dir(abs)
}

// askAgent returns the live agent status, or nil and why not. The client's
// own deadline (--agent-timeout) bounds it: a wedged agent must not wedge
// status, and is told apart from a dead one. brief asks an agent that can
// answer briefly (reconcile.Client.StatusBrief) for what status shows only.
func askAgent(ctx context.Context, a opsAgent, brief bool) (*agentapi.AgentStatus, error) {
	status := a.Status
	if b, ok := a.(interface {
		StatusBrief(context.Context) (agentapi.AgentStatus, error)
	}); ok && brief {
		status = b.StatusBrief
	}
	st, err := status(ctx)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// statusReport asks the agent and, when it is down, reads what it last recorded.
func statusReport(ctx context.Context, dir string, a opsAgent) (report.StatusReport, error) {
	v, err := readOpsWith(ctx, dir, a, true, reconcile.ReadStateSummary)
	if err != nil {
		return report.StatusReport{}, err
	}
	r := report.BuildStatusReport(v.live, v.agentErr, v.rec, v.st, time.Now())
	report.FillMemory(ctx, &r, proc.GroupMemorySnapshot())
	return r, nil
}

// opsView is what status and show read: the agent's answer (or why there is
// none and, then, its last record) and the state.
type opsView struct {
	live     *agentapi.AgentStatus
	agentErr error
	rec      *agentapi.AgentRecord
	st       *reconcile.State
}

func readOps(ctx context.Context, dir string, a opsAgent) (opsView, error) {
	return readOpsWith(ctx, dir, a, false, reconcile.ReadState)
}

// readOpsWith is readOps reading the state with read, and asking the agent
// for a brief status (status reads only the state's summary,
// reconcile.ReadStateSummary, and what the agent's brief answer has).
//
// The agent is asked while the state is read: its answer (~0.6 ms of the
// agent's for 50 daemons) and the read overlap.
func readOpsWith(ctx context.Context, dir string, a opsAgent, brief bool, read func(string) (*reconcile.State, error)) (opsView, error) {
	var v opsView
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		v.live, v.agentErr = askAgent(ctx, a, brief)
	}()
	st, err := read(reconcile.StatePath(dir))
	<-asked
	if err != nil {
		return v, err
	}
	v.st = st
	if v.live == nil {
		if r, rerr := agentapi.ReadAgentRecord(dir); rerr == nil {
			v.rec = &r
		}
	}
	return v, nil
}

type statusOptions struct {
	json     bool
	watch    bool
	interval time.Duration
	// compact is beadsctl ls's layout.
	compact bool
}

func newStatusCmd(g *globals) *cobra.Command {
	return statusCmd(g, &statusOptions{}, &cobra.Command{
		Use:   "status",
		Short: "Show every daemon: status, pid, uptime, restarts, CPU, memory, health",
		Long: "Show one row per daemon, as the agent sees it. When the agent is down, say so and show\n" +
			"what it last recorded (.beadsctl/agent.json) and what the last apply left (.beadsctl/state.json).\n" +
			"beadsctl ls shows the same, shorter.",
	})
}

// newListCmd is beadsctl ls: status in pm2 ls's columns.
func newListCmd(g *globals) *cobra.Command {
	return statusCmd(g, &statusOptions{compact: true}, &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the daemons, one line each: name, status, pid, uptime, restarts, CPU, memory (pm2 ls)",
		Long: "List the daemons as pm2 ls does, one line each, and the profile applied. It is beadsctl\n" +
			"status in fewer columns (status adds each daemon's profile, unstable restarts, the memory limit,\n" +
			"health and the last restart's reason); --json is status --json. When the agent is down, say so\n" +
			"and show what it last recorded.",
	})
}

func statusCmd(g *globals, o *statusOptions, c *cobra.Command) *cobra.Command {
	c.Args = cobra.NoArgs
	c.RunE = func(c *cobra.Command, _ []string) error { return runStatus(c, g, o) }
	c.Flags().BoolVar(&o.json, "json", false, "print JSON")
	c.Flags().BoolVarP(&o.watch, "watch", "w", false, "refresh until Ctrl-C")
	c.Flags().DurationVar(&o.interval, "interval", 2*time.Second, "refresh interval with --watch")
	return c
}

func runStatus(c *cobra.Command, g *globals, o *statusOptions) error {
	ctx, out, dir := c.Context(), c.OutOrStdout(), opsDir(g)
	agent := g.dial(dir)
	defer agent.Close()
	clear := o.watch && !o.json && isTerminal(out)
	for {
		r, err := statusReport(ctx, dir, agent)
		boot := bootStatus(dir) // a few stats: no goroutine (its stack and thread cost as much)
		if err != nil {
			return err
		}
		r.Boot = &boot
		if len(r.Daemons) == 0 && !r.Agent.Running {
			if _, err := os.Stat(g.file); errors.Is(err, fs.ErrNotExist) {
				r.Hint = missingConfig(g.file)
			}
		}
		if clear {
			fmt.Fprint(out, "\x1b[H\x1b[2J")
		}
		if o.json {
			err = writeStatusJSON(out, &r)
		} else if o.compact {
			renderList(out, r, time.Now(), g.color(out))
		} else {
			renderStatus(out, r, time.Now(), g.color(out))
		}
		if err != nil {
			return err
		}
		if !o.watch {
			if r.Agent.NotAnswering {
				return exitError{1} // what it shows may no longer be true
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.interval):
		}
		if !clear && !o.json {
			fmt.Fprintln(out)
		}
	}
}

// writeStatusJSON writes status --json: writeJSON's bytes, without
// reflection (report.AppendStatusJSON).
func writeStatusJSON(w io.Writer, r *report.StatusReport) error {
	b, err := report.AppendStatusJSON(make([]byte, 0, 1024+800*len(r.Daemons)), r)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// renderStatus writes the human table, then the boot persistence.
func renderStatus(w io.Writer, r report.StatusReport, now time.Time, color bool) {
	renderStatusTable(w, r, now, color)
	if r.Boot != nil {
		fmt.Fprintf(w, "Boot: %s\n", bootLine(*r.Boot))
	}
}

// bootLine is the boot persistence in one line, with what to do about it.
func bootLine(b boot.Status) string {
	switch {
	case !b.Installed:
		return "off (run beadsctl startup to start the agent at boot)"
	case b.On && b.Hint != "":
		return b.Summary + "; to start at boot: " + b.Hint
	case !b.On:
		return b.Summary + "; " + b.Hint + " fixes it"
	}
	return b.Summary
}

func renderStatusTable(w io.Writer, r report.StatusReport, now time.Time, color bool) {
	renderRows(w, r, now, color, false)
}

// renderList writes `beadsctl ls`: the same report as status, a short line per
// daemon with the columns of pm2 ls (name, status, pid, uptime, restarts, CPU,
// memory).
func renderList(w io.Writer, r report.StatusReport, now time.Time, color bool) {
	renderRows(w, r, now, color, true)
}

func renderRows(w io.Writer, r report.StatusReport, now time.Time, color, compact bool) {
	pal := palette{on: color}
	if !renderAgentHeader(w, r, now, pal) {
		return
	}
	if len(r.Daemons) == 0 {
		fmt.Fprintln(w, "No daemons. Run beadsctl apply to start the ones beads.hcl declares.")
		return
	}
	var tw table
	if compact {
		tw.row("NAME", "STATUS", "PID", "UPTIME", "RESTARTS", "CPU", "MEM")
	} else {
		tw.row("NAME", "ENV", "STATUS", "PID", "UPTIME", "RESTARTS", "CPU", "MEMORY", "HEALTH", "LAST RESTART")
	}
	for _, d := range r.Daemons {
		c := rowCells(d, r.Agent)
		if compact {
			tw.row(d.Name, statusCell(pal, d.Status), c.pid, c.uptime, fmt.Sprint(d.Restarts), c.cpu, c.mem)
			continue
		}
		tw.row(d.Name, c.env, statusCell(pal, d.Status), c.pid, c.uptime,
			fmt.Sprintf("%d (%d)", d.Restarts, d.UnstableRestarts), c.cpu, c.mem, d.Health, c.last)
	}
	tw.write(w)
	for _, d := range r.Daemons {
		if d.Reason != "" && d.Status != string(agentapi.StateOnline) && !r.Destroyed {
			fmt.Fprintf(w, "%s: %s\n", d.Name, d.Reason)
		}
	}
	if r.Env != "" { // ls too: which profile runs, in status's words
		fmt.Fprintln(w, profileChoice{name: r.Env, source: fromApplied}.note(nil))
	}
}

// renderAgentHeader says where the figures come from when not from a live
// agent (and of an agent of another version); false when there is nothing
// more to show.
func renderAgentHeader(w io.Writer, r report.StatusReport, now time.Time, pal palette) bool {
	a := r.Agent
	switch {
	case a.Source == "agent":
	case r.Destroyed && agentapi.FindsEscaped:
		fmt.Fprintf(w, "%s beadsctl destroy stopped every daemon and the agent; beadsctl apply starts them again.\n", pal.yellow("Nothing runs:"))
	case r.Destroyed:
		fmt.Fprintf(w, "%s beadsctl destroy stopped every daemon and the agent; %s; beadsctl apply starts them again.\n", pal.yellow("Destroyed:"), mayStillRun(runtime.GOOS))
	case a.NotAnswering:
		who := "The agent"
		if a.Pid > 0 {
			who = fmt.Sprintf("The agent (pid %d)", a.Pid)
		}
		fmt.Fprintln(w, pal.red(who+" does not answer (stopped? overloaded?)."))
		if a.Source == "snapshot" {
			fmt.Fprintf(w, "Showing what it recorded %s ago (.beadsctl/agent.json); its daemons may still run.\n",
				report.FormatDuration(now.Sub(a.SnapshotAt)))
		} else {
			fmt.Fprintln(w, "Showing what the last apply recorded (.beadsctl/state.json); its daemons may still run.")
		}
	case a.Source == "snapshot":
		fmt.Fprintf(w, "%s showing what it recorded %s ago (.beadsctl/agent.json).\n",
			pal.red("The agent is not running:"), report.FormatDuration(now.Sub(a.SnapshotAt)))
		printLeftRunning(w, r)
	default:
		if len(r.Daemons) == 0 {
			fmt.Fprintf(w, "%s and nothing was applied here yet.\n", pal.red("The agent is not running"))
			if r.Hint != "" {
				fmt.Fprintln(w, r.Hint)
			} else {
				fmt.Fprintln(w, "Run beadsctl plan to see what beadsctl apply would start.")
			}
			return false
		}
		fmt.Fprintf(w, "%s showing what the last apply recorded (.beadsctl/state.json).\n", pal.red("The agent is not running:"))
		printLeftRunning(w, r)
	}
	if a.Source == "agent" && a.Version != version {
		fmt.Fprintf(w, "%s this is beadsctl %s; beadsctl apply replaces it (its daemons restart).\n",
			pal.yellow(fmt.Sprintf("The agent (pid %d) runs beadsctl %s:", a.Pid, a.Version)), version)
	}
	if a.Error != "" && !strings.Contains(a.Error, reconcile.ErrAgentDown.Error()) {
		fmt.Fprintf(w, "(%s)\n", a.Error)
	}
	return true
}

// printLeftRunning says, when the agent is not running, what the last apply
// left running that nothing runs now, and what brings it back.
func printLeftRunning(w io.Writer, r report.StatusReport) {
	if r.LeftRunning != nil {
		fmt.Fprintln(w, leftRunningLine(r.LeftRunning, r.Boot))
	}
}

// leftRunningLine is status's and health's sentence about the daemons the
// last apply left running while no agent runs them.
func leftRunningLine(l *report.LeftRunning, boot *boot.Status) string {
	them := "them"
	if len(l.Daemons) == 1 {
		them = "it"
	}
	line := fmt.Sprintf("The last apply left %s running (%s) and nothing runs %s now: %s brings %s back as applied",
		plural.Count(len(l.Daemons), "daemon"), strings.Join(l.Daemons, ", "), them, l.Command, them)
	if len(l.Stopped) > 0 {
		line += fmt.Sprintf(" (%s stays stopped)", strings.Join(l.Stopped, ", "))
	}
	if boot != nil && boot.On && boot.Engine == "systemd" {
		sys := "--user "
		if boot.System {
			sys = ""
		}
		return line + fmt.Sprintf("; or systemctl %sstart %s, whose agent systemd restarts if it dies.", sys, boot.Unit)
	}
	return line + "; or beadsctl agent --foreground --restore, attached (what beadsctl startup's unit runs)."
}

// cells are the figures of a status row as shown: "-" for what is not known
// now (a pid last seen has no live figures, memory 0 is not sampled yet).
type cells struct{ env, pid, uptime, cpu, mem, last string }

func rowCells(d report.DaemonRow, a report.AgentReport) cells {
	running := d.Pid > 0 && !a.NotAnswering
	cell := func(ok bool, s string) string {
		if !ok {
			return "-"
		}
		return s
	}
	c := cells{
		env:    cell(d.Env != "", d.Env),
		pid:    cell(d.Pid > 0, fmt.Sprint(d.Pid)),
		uptime: cell(running, report.FormatDuration(time.Duration(d.UptimeSeconds*float64(time.Second)))),
		cpu:    cell(running, fmt.Sprintf("%.1f%%", d.CPUPercent)),
		mem:    cell(running && d.MemoryBytes > 0, report.FormatBytes(d.MemoryBytes)),
		last:   cell(d.LastRestartReason != "", d.LastRestartReason),
	}
	if d.MemoryLimitBytes > 0 {
		c.mem += " / " + report.FormatBytes(d.MemoryLimitBytes)
	}
	if d.LastExit != nil && d.LastRestartReason != "" {
		c.last += " (" + exitText(d.LastExit) + ")"
	}
	return c
}

func statusCell(pal palette, s string) string {
	switch s {
	case "online":
		return pal.green(s)
	case "errored", "missing":
		return pal.red(s)
	}
	return pal.yellow(s)
}

func exitText(e *agentapi.Exit) string {
	if e.Signal != "" {
		return e.Signal
	}
	return fmt.Sprintf("exit %d", e.Code)
}

// opsDaemons are the daemons the last apply recorded, completed with those
// beads.hcl declares (when it loads; silently otherwise): logs and health work
// from either.
func opsDaemons(g *globals, dir string) (cfg []schema.Daemon, fromState []schema.Daemon, cfgErr error) {
	st, err := reconcile.ReadState(reconcile.StatePath(dir))
	if err == nil {
		for _, name := range st.Names() {
			fromState = append(fromState, st.Daemons[name].Spec)
		}
	}
	c, _, diags := loadSchema(g, g.profile().name, os.Environ())
	if diags.HasErrors() {
		return nil, fromState, schema.Error(diags)
	}
	return c.Daemons, fromState, nil
}
