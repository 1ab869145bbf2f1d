package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/report"
)

type eventsOptions struct {
	lines  int
	follow bool
	since  string
	json   bool
}

func newEventsCmd(g *globals) *cobra.Command {
	o := &eventsOptions{}
	c := &cobra.Command{
		Use:   "events [DAEMON]",
		Short: "Show what happened to the daemons: starts, exits, restarts and why, health changes, applies",
		Long: "Show the event history the agent records in .beadsctl/events.jsonl (rotated at 1 MiB into\n" +
			"events.jsonl.1: at most 2 MiB, some 10,000 events; it survives agent restarts and is read\n" +
			"whether the agent runs or not). -f then shows new events as the agent records them, pushed by\n" +
			"the agent, until Ctrl-C or the agent stops. A line of the file that is not an event (cut short,\n" +
			"garbage) is skipped with a warning.\n\n" +
			"-f means --follow here; name the configuration with --file.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return runEvents(c, g, o, args) },
	}
	f := c.Flags()
	f.StringVar(&g.file, "file", defaultConfig, "path of the configuration file (default: beads.hcl here or in the nearest parent folder, up to the repository's root)")
	f.IntVarP(&o.lines, "lines", "n", 20, "number of past events to show (all with -1)")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep showing new events until Ctrl-C")
	f.StringVar(&o.since, "since", "", "only events newer than a duration (10m) or a time (RFC 3339)")
	f.BoolVar(&o.json, "json", false, "one JSON object per line, as recorded")
	return c
}

func runEvents(c *cobra.Command, g *globals, o *eventsOptions, args []string) error {
	since, err := parseSince(o.since, time.Now())
	if err != nil {
		return err
	}
	daemon := ""
	if len(args) == 1 {
		daemon = args[0]
	}
	dir, out := opsDir(g), c.OutOrStdout()
	var stream *reconcile.EventStream
	if o.follow {
		// Subscribed before the file is read: nothing falls between the two.
		agent := g.dial(dir)
		defer agent.Close()
		if stream, err = agent.FollowEvents(c.Context(), daemon); err != nil {
			if errors.Is(err, reconcile.ErrAgentDown) {
				return fmt.Errorf("cannot follow: %w (beadsctl apply starts it); without -f the recorded events are shown", err)
			}
			return err
		}
		defer stream.Close()
	}
	evs, warns, err := agentapi.ReadEvents(dir)
	for _, w := range warns {
		fmt.Fprintf(c.ErrOrStderr(), "warning: %s\n", w)
	}
	if err != nil {
		return err
	}
	all := evs
	evs = report.FilterEvents(evs, daemon, since, o.lines)
	if len(evs) == 0 && !o.json {
		fmt.Fprintln(c.ErrOrStderr(), noEvents(all, daemon, o.since))
	}
	var last time.Time
	for _, ev := range evs {
		if err := printEvent(out, ev, o.json); err != nil {
			return err
		}
		last = ev.At
	}
	if stream == nil {
		return nil
	}
	stopped := false // the agent said agent-stop: the stream ends with it
	for {
		ev, err := stream.Next()
		if err != nil {
			switch {
			case c.Context().Err() != nil:
				return nil
			case stopped:
				fmt.Fprintln(c.ErrOrStderr(), "The agent stopped: no more events.")
				return nil
			}
			// Killed (kill -9, an OOM kill) or gone without its agent-stop.
			return fmt.Errorf("the agent went away without stopping (killed?): no more events (%v); beadsctl status says what runs", err)
		}
		stopped = ev.Kind == agentapi.EventAgentStop
		if !ev.At.After(last) {
			continue // already shown from the file
		}
		if err := printEvent(out, ev, o.json); err != nil {
			return err
		}
	}
}

// noEvents says why events shows none: nothing recorded, nothing in the
// window, or a daemon the history does not name (with those it names).
func noEvents(all []agentapi.Event, daemon, since string) string {
	if len(all) == 0 {
		return "No events recorded yet (.beadsctl/events.jsonl): the agent records them once beadsctl apply has started it."
	}
	if daemon != "" {
		seen := map[string]bool{}
		var names []string
		for _, ev := range all {
			if ev.Daemon != "" && !seen[ev.Daemon] {
				seen[ev.Daemon] = true
				names = append(names, ev.Daemon)
			}
		}
		if !seen[daemon] {
			sort.Strings(names)
			return fmt.Sprintf("No events of %q: the history names %s.", daemon, orNone(names))
		}
	}
	if since != "" {
		return "No events since " + since + "."
	}
	return "No events."
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "no daemon"
	}
	return strings.Join(names, ", ")
}

func printEvent(w io.Writer, ev agentapi.Event, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(w, eventLine(ev, "2006-01-02 15:04:05.000"))
	return err
}

// eventLine is an event on one line: its time (in layout), who, kind, text.
func eventLine(ev agentapi.Event, layout string) string {
	who := ev.Daemon
	if who == "" {
		who = "(agent)"
	}
	line := fmt.Sprintf("%s  %-12s %-11s %s", ev.At.Local().Format(layout), who, ev.Kind, eventText(ev))
	return strings.TrimRight(line, " ")
}

// eventText is what an event says, for a person.
func eventText(ev agentapi.Event) string {
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	switch ev.Kind {
	case agentapi.EventStarted:
		add(fmt.Sprintf("pid %d", ev.Pid))
		if ev.ArgvHash != "" {
			add("argv " + reconcile.ShortHash(ev.ArgvHash))
		}
		if ev.Reason != "" {
			add("after " + ev.Reason)
		}
	case agentapi.EventExited:
		e := agentapi.Exit{Signal: ev.Signal}
		if ev.ExitCode != nil {
			e.Code = *ev.ExitCode
		}
		if ev.UptimeSeconds != nil {
			e.Uptime = time.Duration(*ev.UptimeSeconds * float64(time.Second))
		}
		up := report.FormatDuration(e.Uptime)
		if e.Uptime < time.Second {
			up = fmt.Sprintf("%dms", e.Uptime.Milliseconds()) // a crash loop's runs: "0s" says nothing
		}
		add(fmt.Sprintf("pid %d: %s, %s up", ev.Pid, exitText(&e), up))
	case agentapi.EventHealth:
		add(ev.From + " -> " + ev.Health)
		add(ev.Message)
	case agentapi.EventMemory:
		add(fmt.Sprintf("pid %d: RSS %s over the limit of %s", ev.Pid, report.FormatBytes(ev.RSSBytes), report.FormatBytes(ev.LimitBytes)))
	case agentapi.EventApplied:
		add(ev.Action)
		if ev.SpecHash != "" {
			add("spec " + reconcile.ShortHash(ev.SpecHash))
		}
	case agentapi.EventAgentStart:
		add(fmt.Sprintf("pid %d, beadsctl %s", ev.Pid, ev.Version))
	case agentapi.EventAgentStop:
		add(fmt.Sprintf("pid %d", ev.Pid))
	case agentapi.EventAlerted, agentapi.EventAlertFailed:
		what := fmt.Sprintf("alert %q", ev.Alert)
		if ev.Detail != "" {
			what += " (" + ev.Detail + ")"
		}
		add(what)
		add(ev.Reason)
		add(ev.Message)
		return strings.Join(parts, ": ")
	default:
		add(ev.Reason)
		add(ev.Detail)
		add(ev.Message)
		return strings.Join(parts, ": ")
	}
	if ev.Kind != agentapi.EventHealth {
		add(ev.Detail)
	}
	return strings.Join(parts, ", ")
}
