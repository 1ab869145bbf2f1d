package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
	"github.com/spf13/cobra"
)

type healthOptions struct {
	json     bool
	enhanced bool
}

func newHealthCmd(g *globals) *cobra.Command {
	o := &healthOptions{}
	c := &cobra.Command{
		Use:   "health",
		Short: "Check the daemons, the bd RPC, versions and the project; exit 1 when unhealthy",
		Long: "Check every daemon: its process (through the agent), the Beads daemon's own health RPC\n" +
			"(status, version, database response time), the installed bd against the running daemon's\n" +
			"version, and the project's files. --enhanced adds the sync view: the daemon's last activity\n" +
			"and lock, how far .beads/issues.jsonl lags beads.db, and recent errors in .beads/daemon.log.\n" +
			"Exit status 0 when healthy, 1 when not.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runHealth(c, g, o) },
	}
	c.Flags().BoolVar(&o.json, "json", false, "print the report as JSON")
	c.Flags().BoolVar(&o.enhanced, "enhanced", false, "add the sync view (last activity, jsonl age, daemon.log errors)")
	return c
}

func runHealth(c *cobra.Command, g *globals, o *healthOptions) error {
	ctx, out, dir := c.Context(), c.OutOrStdout(), opsDir(g)
	in := report.HealthInput{Dir: dir, ConfigPath: g.file, ConfigExists: fileExists(g.file), Enhanced: o.enhanced, Version: version, Now: time.Now()}
	cfg, applied, cfgErr := opsDaemons(g, dir)
	in.Daemons, in.ConfigErr = cfg, cfgErr
	if cfgErr != nil {
		in.Daemons = applied // check what the last apply left running
	}
	agent := g.dial(dir)
	defer agent.Close()
	in.Agent, in.AgentErr = askAgent(ctx, agent, false)
	if in.Agent == nil {
		in.State, _ = reconcile.ReadStateSummary(reconcile.StatePath(dir)) // an unreadable one: opsDaemons said so
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r := report.BuildHealthReport(pctx, in, report.DefaultHealthProbes())
	boot := bootStatus(dir)
	r.Boot = &boot
	if o.json {
		if err := writeJSON(out, r); err != nil {
			return err
		}
	} else {
		renderHealth(out, r, g.color(out))
	}
	if !r.OverallHealthy {
		return exitError{1}
	}
	return nil
}

// renderHealth writes the checklist: ✓ or ✗ with the reason, ! for warnings.
func renderHealth(w io.Writer, r *report.HealthReport, color bool) {
	pal := palette{on: color}
	mark := func(ok, warning bool) string {
		switch {
		case ok:
			return pal.green("✓")
		case warning:
			return pal.yellow("!")
		}
		return pal.red("✗")
	}
	ps := r.ProjectStructure
	cfg := "config: " + ps.ConfigPath + " present and valid"
	switch {
	case !ps.ConfigExists:
		cfg = "config: " + ps.ConfigPath + " not found"
	case !ps.ConfigValid:
		cfg = "config: " + indentRest(ps.ConfigError, "    ") // one diagnostic a line
	}
	fmt.Fprintf(w, "%s %s\n", mark(ps.ConfigValid, false), cfg)
	missing := map[string]bool{}
	for _, d := range ps.Missing {
		missing[d] = true
	}
	for _, d := range ps.BeadsDirs {
		if missing[d] {
			fmt.Fprintf(w, "%s workspace: %s missing or not set up by bd init (run bd init in %s)\n", mark(false, false), d, filepath.Dir(d))
		} else if len(r.Order) > 0 || ps.BeadsDirExists {
			fmt.Fprintf(w, "%s workspace: %s present\n", mark(true, false), d)
		}
	}
	if len(r.Order) > 0 {
		if r.Agent.Running {
			fmt.Fprintf(w, "%s agent: running, pid %d\n", mark(true, false), r.Agent.Pid)
			if r.Agent.MetricsError != "" {
				fmt.Fprintf(w, "%s %s (the daemons are not concerned; beadsctl apply asks again)\n", mark(false, true), r.Agent.MetricsError)
			}
		} else if r.Agent.NotAnswering {
			fmt.Fprintf(w, "%s agent: %s\n", mark(false, false), r.Agent.Error)
		} else if r.LeftRunning != nil {
			fmt.Fprintf(w, "%s agent: not running. %s\n", mark(false, false), leftRunningLine(r.LeftRunning, r.Boot))
		} else {
			fmt.Fprintf(w, "%s agent: not running (run beadsctl apply)\n", mark(false, false))
		}
	}
	if b := r.Boot; b != nil {
		switch {
		case b.On && b.Hint == "":
			fmt.Fprintf(w, "%s boot: %s\n", mark(true, false), bootLine(*b))
		case b.Installed:
			fmt.Fprintf(w, "%s boot: %s\n", mark(false, true), bootLine(*b))
		default:
			fmt.Fprintf(w, "- boot: %s\n", bootLine(*b))
		}
	}
	for _, name := range r.Order {
		d := r.Daemons[name]
		fmt.Fprintf(w, "%s\n", pal.bold(name))
		for _, c := range d.Checks {
			fmt.Fprintf(w, "  %s %s\n", mark(c.OK, c.Warning), c.Detail)
		}
	}
	if r.OverallHealthy {
		fmt.Fprintln(w, pal.green("Healthy."))
		return
	}
	n := len(r.Problems)
	fmt.Fprintln(w, pal.red("Unhealthy: "+plural.Count(n, "problem")+"."))
}
