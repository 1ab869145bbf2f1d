package clitools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/beadsctl/beadsctl/internal/monitor"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/supervisor"
)

type monitorOptions struct {
	interval time.Duration
}

func newMonitorCmd(g *cli.Globals) *cobra.Command {
	o := &monitorOptions{}
	c := &cobra.Command{
		Use: "monitor",
		Long: "A live terminal dashboard of the daemons: status, pid, uptime, restarts, CPU and memory\n" +
			"with a history graph (the memory limit marked), health, the selected daemon's latest log\n" +
			"lines, and the recent events of every daemon (beadsctl events). Keys: ↑/↓ select, r restart,\n" +
			"s stop, t start, q quit. Needs a terminal; elsewhere use beadsctl status -w.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runMonitor(c, g, o) },
	}
	c.Flags().DurationVar(&o.interval, "interval", time.Second, "refresh interval")
	return c
}

func runMonitor(c *cobra.Command, g *cli.Globals, o *monitorOptions) error {
	out, in := c.OutOrStdout(), c.InOrStdin()
	outF, ok1 := out.(*os.File)
	inF, ok2 := in.(*os.File)
	if !ok1 || !ok2 || !cli.IsTerminal(outF) || !cli.IsTerminal(inF) {
		return errors.New("monitor needs a terminal; use beadsctl status -w (or status --json) instead")
	}
	ctx, dir := c.Context(), g.Dir()
	agent := g.Dial(dir)
	defer agent.Close()
	src := monitor.Source{
		Status: func() report.StatusReport {
			r, err := cli.StatusReport(ctx, dir, agent)
			if err != nil {
				r.Agent.Error = err.Error()
			}
			return r
		},
		Logs:   func(name string, n int) []string { return monitorLogs(g, dir, name, n) },
		Act:    func(verb, name string) error { return monitorAct(ctx, g, dir, reconcile.Verb(verb), name) },
		Events: func(n int) []string { return monitorEvents(dir, n) },
	}
	m := monitor.New(src, monitor.Options{Interval: o.interval, Color: g.Color(out)})
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(inF), tea.WithOutput(outF))
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // Ctrl-C / SIGTERM through the context
	}
	return err
}

// monitorAct runs a verb on one daemon as beadsctl stop/start/restart would,
// through a session (so a stop is recorded as on purpose); it does not wait
// for the lock, which an apply may hold. A beads.hcl that does not load still
// lets the monitor act on the daemons the agent runs.
func monitorAct(ctx context.Context, g *cli.Globals, dir string, verb reconcile.Verb, name string) error {
	switch verb {
	case reconcile.VerbStart, reconcile.VerbStop, reconcile.VerbRestart:
	default:
		return fmt.Errorf("unknown action %q", verb)
	}
	profile, sticky, _ := g.Profile()
	s, err := reconcile.OpenSession(ctx, reconcile.SessionOptions{
		File: g.File(), Profile: profile, StickyProfile: sticky, Environ: os.Environ(),
		Load: func(profile string) (*schema.Config, error) {
			if cfg, _, diags := schema.Load(g.File(), profile, os.Environ()); !diags.HasErrors() {
				return cfg, nil
			}
			return &schema.Config{Path: g.File(), Dir: dir}, nil
		},
		Command: "monitor " + string(verb), Lock: true,
		AgentTimeout: g.AgentTimeout(), Version: cli.Version(),
	})
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.Verb(ctx, verb, []string{name}, reconcile.VerbOptions{})
	return err
}

// monitorLogs reads the last n lines of a daemon's out and err files, merged.
func monitorLogs(g *cli.Globals, dir, name string, n int) []string {
	cfg, applied, _ := cli.Daemons(g, dir)
	var d *schema.Daemon
	for _, list := range [][]schema.Daemon{applied, cfg} {
		for i := range list {
			if list[i].Name == name && d == nil {
				d = &list[i]
			}
		}
	}
	if d == nil {
		return nil
	}
	lines, _, err := report.ReadLogs(report.LogFilesFor(*d, ""), n, time.Time{})
	if err != nil {
		return []string{err.Error()}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Text
		if l.Stream == report.StreamErr {
			out[i] = "err | " + l.Text
		}
	}
	return out
}

// monitorEvents is the last n events of the history, one line each (as
// beadsctl events shows them, the time of day only).
func monitorEvents(dir string, n int) []string {
	evs, err := supervisor.ReadRecentEvents(dir, n)
	if err != nil {
		return []string{"events: " + err.Error()}
	}
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = cli.EventLine(ev, "15:04:05.000")
	}
	return out
}
