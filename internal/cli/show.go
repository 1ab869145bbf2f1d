package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
)

type showOptions struct {
	json  bool
	lines int
}

func newShowCmd(g *globals) *cobra.Command {
	o := &showOptions{}
	c := &cobra.Command{
		Use:   "show DAEMON",
		Short: "Show everything about one daemon: spec, process, restarts, health checks, logs",
		Long: "Show one daemon: its spec as beads.hcl resolves it (sensitive values hidden) and whether it is\n" +
			"what was applied, its process (pid, start time, uptime, CPU, memory), its last restarts with\n" +
			"their reasons and the exit before each, its last health checks (time, verdict, latency), its\n" +
			"last events (beadsctl events), its log files and their last lines. The agent keeps the last 10 restarts and health checks.\n" +
			"When the agent is down, say so and show what it last recorded (.beadsctl/agent.json, written at\n" +
			"each change of state: its health checks may stop short of the last one) and what state.json knows.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runShow(c, g, o, args[0]) },
	}
	c.Flags().BoolVar(&o.json, "json", false, "print JSON")
	c.Flags().IntVarP(&o.lines, "lines", "n", 10, "number of log lines to show")
	return c
}

func runShow(c *cobra.Command, g *globals, o *showOptions, name string) error {
	ctx, out, dir := c.Context(), c.OutOrStdout(), opsDir(g)
	agent := g.dial(dir)
	defer agent.Close()
	v, err := readOps(ctx, dir, agent)
	if err != nil {
		return err
	}
	declared, _, cfgErr := opsDaemons(g, dir)
	v.st.KeyDaemons(declared) // compared with, and shown as, the keyed hashes recorded
	r, err := report.BuildDaemonReport(ctx, report.DaemonInput{Name: name, Live: v.live, AgentErr: v.agentErr, Snapshot: v.rec,
		State: v.st, ConfigPath: g.file, Declared: declared, ConfigErr: cfgErr, LogLines: o.lines,
		Memory: proc.GroupMemory, Now: time.Now()})
	if err != nil {
		return err
	}
	evs, warns, _ := agentapi.ReadEvents(dir) // the history is a record: an unreadable one is said, never fatal
	for _, w := range warns {
		fmt.Fprintf(c.ErrOrStderr(), "warning: %s\n", w)
	}
	r.Events = report.FilterEvents(evs, name, time.Time{}, report.ShowEvents)
	if o.json {
		return writeJSON(out, r)
	}
	renderShow(out, r, time.Now(), g.color(out))
	return nil
}

// renderShow writes one daemon's report: a header of facts, then the spec,
// the restarts, the health checks and the logs, each under its title.
func renderShow(w io.Writer, r *report.DaemonReport, now time.Time, color bool) {
	pal := palette{on: color}
	status := report.StatusReport{Agent: r.Agent, Env: r.Env}
	if r.Process != nil {
		status.Daemons = []report.DaemonRow{*r.Process}
		status.Destroyed = r.Process.Destroyed
	}
	renderAgentHeader(w, status, now, pal)
	fmt.Fprintf(w, "%s\n", pal.bold(fmt.Sprintf("daemon %q", r.Name)))
	var facts table
	fact := func(k, v string) { facts.row("  "+k, v) }
	if d := r.Process; d != nil {
		c := rowCells(*d, r.Agent)
		st := statusCell(pal, d.Status)
		if d.Reason != "" && d.Status != string(agentapi.StateOnline) {
			st += ": " + d.Reason
		}
		fact("status", st)
		fact("env", c.env)
		if d.Pid > 0 {
			pid := fmt.Sprint(d.Pid)
			if !r.StartTime.IsZero() {
				pid += ", started " + stamp(r.StartTime) + ", up " + c.uptime
			}
			fact("pid", pid)
		}
		fact("restarts", fmt.Sprintf("%d (%d unstable in a row)", d.Restarts, d.UnstableRestarts))
		fact("cpu", c.cpu)
		fact("memory", c.mem)
		if d.LastExit != nil {
			fact("last exit", exitLine(d.LastExit))
		}
		if d.LogError != "" {
			fact("log error", d.LogError)
		}
		if dl := d.Dolt; dl != nil {
			fact("dolt", fmt.Sprintf("port %d, %s", dl.Port, dl.ServerDir))
			if f := dl.LastFlush; f != nil {
				what := "committed " + orDash(strings.Join(f.Committed, ", "))
				if f.Error != "" {
					what = "failed: " + f.Error
				}
				fact("last flush", stamp(f.At)+", "+what)
			}
		}
	} else {
		fact("status", "not applied: beadsctl plan shows what beadsctl apply would start")
	}
	if h := r.Health; h != nil {
		line := h.Status
		if h.Message != "" {
			line += ": " + h.Message
		}
		if !h.CheckedAt.IsZero() {
			line += " (checked " + ago(now, h.CheckedAt) + ")"
		}
		if r.Process != nil && r.Process.Health == "unknown" && h.Status != "unknown" {
			line = "unknown; last " + line // of a process that is not online now
		}
		fact("health", line)
	}
	if a := r.Applied; a != nil {
		line := stamp(a.AppliedAt) + " (hash " + reconcile.ShortHash(a.Hash) + ")"
		switch {
		case r.SpecSource == "state":
			line += "; the spec below is as applied"
		case len(r.Pending) > 0:
			line += "; beads.hcl changed since: beadsctl plan shows the change"
		default:
			line += ", as beads.hcl declares it"
		}
		fact("applied", line)
	} else if r.Spec != nil {
		fact("applied", "never")
	}
	facts.write(w)
	if r.ConfigError != "" {
		fmt.Fprintf(w, "  (the configuration does not load: %s)\n", indentRest(r.ConfigError, "    "))
	}

	if r.Spec != nil {
		title := "Spec (beads.hcl):"
		if r.SpecSource == "state" {
			title = "Spec (as applied, .beadsctl/state.json):"
		}
		fmt.Fprintf(w, "\n%s\n", pal.bold(title))
		for _, a := range r.Attributes {
			fmt.Fprintf(w, "  %s = %s\n", a.Path, *a.After)
		}
	}
	if len(r.Pending) > 0 {
		fmt.Fprintf(w, "\n%s\n", pal.bold("Changed in beads.hcl since the last apply:"))
		for _, a := range r.Pending {
			fmt.Fprintln(w, "  "+attrLine(a, pal))
		}
	}

	fmt.Fprintf(w, "\n%s\n", pal.bold(fmt.Sprintf("Restarts (the last %d the agent keeps):", agentapi.MaxRecentRestarts)))
	if len(r.Restarts) == 0 {
		fmt.Fprintln(w, "  none")
	}
	var rt table
	for _, ev := range r.Restarts {
		why := ev.Reason
		if ev.Detail != "" {
			why += ": " + ev.Detail
		}
		before := "-"
		if ev.Exit != nil {
			before = "after " + exitLine(ev.Exit)
		}
		rt.row("  "+stamp(ev.At), why, before)
	}
	rt.write(w)

	fmt.Fprintf(w, "\n%s\n", pal.bold(fmt.Sprintf("Health checks (the last %d):", agentapi.MaxRecentHealth)))
	if len(r.HealthChecks) == 0 {
		fmt.Fprintln(w, "  none"+noChecksWhy(r))
	}
	var ht table
	for _, h := range r.HealthChecks {
		ht.row("  "+stamp(h.At), healthCell(pal, h.Status), fmt.Sprintf("%.1f ms", h.LatencyMS), h.Message)
	}
	ht.write(w)

	fmt.Fprintf(w, "\n%s\n", pal.bold(fmt.Sprintf("Events (the last %d; beadsctl events %s shows more):", report.ShowEvents, r.Name)))
	if len(r.Events) == 0 {
		fmt.Fprintln(w, "  none recorded")
	}
	for _, ev := range r.Events {
		printEvent(w, ev, false)
	}

	fmt.Fprintf(w, "\n%s\n", pal.bold("Logs:"))
	if len(r.Logs) == 0 {
		fmt.Fprintln(w, "  none written")
	}
	var lt table
	for _, f := range r.Logs {
		size := "not written yet"
		if f.Exists {
			size = report.FormatBytes(uint64(f.SizeBytes))
		}
		lt.row("  "+f.Stream, f.Path, size)
	}
	lt.write(w)
	if n := len(r.LogTail); n > 0 {
		title := "Last log line:"
		if n > 1 {
			title = fmt.Sprintf("Last %d log lines:", n)
		}
		fmt.Fprintf(w, "\n%s\n", pal.bold(title))
		for _, l := range r.LogTail {
			if l.Stream == report.StreamErr {
				fmt.Fprintln(w, "  err | "+pal.red(l.Text))
			} else {
				fmt.Fprintln(w, "  "+l.Text)
			}
		}
	}
}

// noChecksWhy says why a daemon has no health checks to show.
func noChecksWhy(r *report.DaemonReport) string {
	if r.Spec == nil || r.Spec.Health.Check == "" || r.Spec.Health.Check == "none" {
		return " (no health check declared)"
	}
	return ""
}

func healthCell(pal palette, s string) string {
	switch s {
	case "healthy":
		return pal.green(s)
	case "unhealthy":
		return pal.red(s)
	}
	return pal.yellow(s)
}

// exitLine is how a run ended and how long it had run: "exit 1 after 2s up".
func exitLine(e *agentapi.Exit) string {
	s := exitText(e)
	if e.Uptime > 0 {
		s += ", " + report.FormatDuration(e.Uptime) + " up"
	}
	return s
}

// stamp formats a time for a person, in local time to the second.
func stamp(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

func ago(now, t time.Time) string { return report.FormatDuration(now.Sub(t)) + " ago" }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// indentRest is a message of several lines (schema.Error's: one diagnostic a
// line) shown after a prefix: every line after the first indented by pad,
// so that each diagnostic starts a line of its own.
func indentRest(msg, pad string) string {
	return strings.ReplaceAll(msg, "\n", "\n"+pad)
}
