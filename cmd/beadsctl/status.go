package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/supervisor"
)

// opsAgent is what status, health and monitor need of the agent's client.
type opsAgent interface {
	Status(ctx context.Context) (supervisor.AgentStatus, error)
	Restart(ctx context.Context, name string) (supervisor.Status, error)
	Stop(ctx context.Context, name string) (supervisor.Status, error)
	Start(ctx context.Context, name string) (supervisor.Status, error)
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
// status, and is told apart from a dead one.
func askAgent(ctx context.Context, a opsAgent) (*supervisor.AgentStatus, error) {
	st, err := a.Status(ctx)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// statusReport asks the agent and, when it is down, reads what it last recorded.
func statusReport(ctx context.Context, dir string, a opsAgent) (report.StatusReport, error) {
	live, err := askAgent(ctx, a)
	st, serr := reconcile.ReadState(reconcile.StatePath(dir))
	if serr != nil {
		return report.StatusReport{}, serr
	}
	var rec *supervisor.AgentRecord
	if live == nil {
		if r, rerr := supervisor.ReadAgentRecord(dir); rerr == nil {
			rec = &r
		}
	}
	r := report.BuildStatusReport(live, err, rec, st, time.Now())
	report.FillMemory(ctx, &r, supervisor.GroupMemory)
	return r, nil
}

type statusOptions struct {
	json     bool
	watch    bool
	interval time.Duration
}

func newStatusCmd(g *globals) *cobra.Command {
	o := &statusOptions{}
	c := &cobra.Command{
		Use:   "status",
		Short: "Show every daemon: status, pid, uptime, restarts, CPU, memory, health",
		Long: "Show one row per daemon, as the agent sees it. When the agent is down, say so and show\n" +
			"what it last recorded (.beadsctl/agent.json) and what the last apply left (.beadsctl/state.json).",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runStatus(c, g, o) },
	}
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
		if err != nil {
			return err
		}
		if clear {
			fmt.Fprint(out, "\x1b[H\x1b[2J")
		}
		if o.json {
			err = writeJSON(out, r)
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

// renderStatus writes the human table.
func renderStatus(w io.Writer, r report.StatusReport, now time.Time, color bool) {
	pal := palette{on: color}
	a := r.Agent
	switch {
	case a.Source == "agent":
	case r.Destroyed:
		fmt.Fprintf(w, "%s beadsctl destroy stopped every daemon and the agent; beadsctl apply starts them again.\n", pal.yellow("Nothing runs:"))
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
	default:
		if len(r.Daemons) == 0 {
			fmt.Fprintf(w, "%s and nothing was applied here yet.\n", pal.red("The agent is not running"))
			fmt.Fprintln(w, "Run beadsctl plan to see what beadsctl apply would start.")
			return
		}
		fmt.Fprintf(w, "%s showing what the last apply recorded (.beadsctl/state.json).\n", pal.red("The agent is not running:"))
	}
	if a.Source == "agent" && a.Version != version {
		fmt.Fprintf(w, "%s this is beadsctl %s; beadsctl apply replaces it (its daemons restart).\n",
			pal.yellow(fmt.Sprintf("The agent (pid %d) runs beadsctl %s:", a.Pid, a.Version)), version)
	}
	if a.Error != "" && !strings.Contains(a.Error, reconcile.ErrAgentDown.Error()) {
		fmt.Fprintf(w, "(%s)\n", a.Error)
	}
	if len(r.Daemons) == 0 {
		fmt.Fprintln(w, "No daemons. Run beadsctl apply to start the ones beads.hcl declares.")
		return
	}
	var tw table
	tw.row("NAME", "ENV", "STATUS", "PID", "UPTIME", "RESTARTS", "CPU", "MEMORY", "HEALTH", "LAST RESTART")
	for _, d := range r.Daemons {
		running := d.Pid > 0 && !a.NotAnswering // a pid last seen has no live figures
		cell := func(ok bool, s string) string {
			if !ok {
				return "-"
			}
			return s
		}
		mem := cell(running && d.MemoryBytes > 0, report.FormatBytes(d.MemoryBytes)) // 0 is not sampled yet
		if d.MemoryLimitBytes > 0 {
			mem += " / " + report.FormatBytes(d.MemoryLimitBytes)
		}
		last := cell(d.LastRestartReason != "", d.LastRestartReason)
		if d.LastExit != nil && d.LastRestartReason != "" {
			last += " (" + exitText(d.LastExit) + ")"
		}
		tw.row(d.Name, cell(d.Env != "", d.Env), statusCell(pal, d.Status), cell(d.Pid > 0, fmt.Sprint(d.Pid)),
			cell(running, report.FormatDuration(time.Duration(d.UptimeSeconds*float64(time.Second)))),
			fmt.Sprintf("%d (%d)", d.Restarts, d.UnstableRestarts), cell(running, fmt.Sprintf("%.1f%%", d.CPUPercent)), mem, d.Health, last)
	}
	tw.write(w)
	for _, d := range r.Daemons {
		if d.Reason != "" && d.Status != string(supervisor.StateOnline) && !r.Destroyed {
			fmt.Fprintf(w, "%s: %s\n", d.Name, d.Reason)
		}
	}
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

func exitText(e *supervisor.Exit) string {
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
	c, _, diags := schema.Load(g.file, g.profile(), os.Environ())
	if diags.HasErrors() {
		return nil, fromState, diags
	}
	return c.Daemons, fromState, nil
}
