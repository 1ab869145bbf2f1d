package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
)

type verbOptions struct {
	lockTimeout      time.Duration
	timeout          time.Duration
	replaceUnmanaged bool
}

func newStartCmd(g *globals) *cobra.Command {
	return newVerbCmd(g, reconcile.VerbStart, "Start daemons (all when none is named); undoes stop")
}

func newStopCmd(g *globals) *cobra.Command {
	return newVerbCmd(g, reconcile.VerbStop, "Stop daemons (all when none is named); recorded so drift and apply know it was on purpose")
}

func newRestartCmd(g *globals) *cobra.Command {
	return newVerbCmd(g, reconcile.VerbRestart, "Restart daemons (all when none is named)")
}

func newVerbCmd(g *globals, verb reconcile.Verb, short string) *cobra.Command {
	o := &verbOptions{}
	c := &cobra.Command{
		Use:   string(verb) + " [DAEMON...]",
		Short: short,
		RunE:  func(c *cobra.Command, args []string) error { return runVerb(c, g, o, verb, args) },
	}
	c.Flags().DurationVar(&o.lockTimeout, "lock-timeout", 0, "how long to wait for another beadsctl holding .beadsctl/lock")
	if verb != reconcile.VerbStop {
		c.Flags().BoolVar(&o.replaceUnmanaged, "replace-unmanaged", false, "stop a bd daemon (or Dolt server) that beadsctl did not start and that holds the workspace (pid and start time checked), then start ours")
	}
	if verb == reconcile.VerbStop {
		// stop waits for each daemon's own stop: stop.timeout, then SIGKILL.
		c.Flags().DurationVar(&o.timeout, "timeout", 0, "not used by stop (accepted for scripts): each daemon gets its stop.timeout from beads.hcl after the stop signal, then SIGKILL to its process group")
	} else {
		c.Flags().DurationVar(&o.timeout, "timeout", reconcile.DefaultApplyTimeout, "how long to wait for each daemon to come online (and healthy, when it has a health check)")
	}
	return c
}

func runVerb(c *cobra.Command, g *globals, o *verbOptions, verb reconcile.Verb, names []string) error {
	pc := g.chosenProfile()
	s, err := openAs(c, g, pc, string(verb), true, o.lockTimeout)
	if err != nil {
		return err
	}
	defer s.Close()
	out := c.OutOrStdout()
	sessionProfile(s, pc).printNote(out, s.Config())
	_, err = s.Verb(c.Context(), verb, names, reconcile.VerbOptions{Timeout: o.timeout, ReplaceUnmanaged: o.replaceUnmanaged, Progress: progressPrinter(out, g.color(out))})
	if err == nil && verb == reconcile.VerbStop {
		noteUnmanaged(c.ErrOrStderr(), s.Live(), names)
	}
	return err
}

// noteUnmanaged says, after a stop, which bd daemons beadsctl did not start
// still hold a workspace: stop does not touch them (bd auto-starts one when a
// bd command finds none), and start refuses beside them.
func noteUnmanaged(w io.Writer, live *reconcile.Live, names []string) {
	if live == nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(live.Beads)) {
		u := live.Beads[name].Unmanaged
		if u == nil || len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		fmt.Fprintf(w, "Note: daemon %q: an %s still holds %s; beadsctl stop does not stop it (bd daemon --stop does), and beadsctl start --replace-unmanaged takes over from it.\n", name, u, u.Workspace)
	}
}
