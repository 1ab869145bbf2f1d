package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// openAs opens the reconcile.Session of a command: beads.hcl loaded as
// validate shows it, under the profile p (the one the user chose or else the
// one applied last, g.chosenProfile; or a saved plan's), the lock taken (when
// lock is set, waiting up to lockTimeout) and the file loaded again under it,
// the state read; the agent is dialled with --agent-timeout when the session
// observes.
func openAs(c *cobra.Command, g *globals, p profileChoice, command string, lock bool, lockTimeout time.Duration) (*reconcile.Session, error) {
	return reconcile.OpenSession(c.Context(), sessionOptions(c, g, p, command, lock, lockTimeout))
}

// sessionOptions are the options of open and openAs.
func sessionOptions(c *cobra.Command, g *globals, p profileChoice, command string, lock bool, lockTimeout time.Duration) reconcile.SessionOptions {
	return reconcile.SessionOptions{
		File: g.file, Profile: p.name, StickyProfile: p.sticky, Environ: os.Environ(),
		Load: func(profile string) (*schema.Config, error) {
			q := p
			if q.sticky {
				q = profileChoice{name: profile, source: fromApplied, sticky: true}
			}
			return loadConfigAs(c, g, q)
		},
		Command: command, Lock: lock, LockTimeout: lockTimeout,
		Changed: func(file, lockPath string) {
			fmt.Fprintf(c.ErrOrStderr(), "%s changed while %s waited for %s: using it as it is now.\n", file, command, lockPath)
		},
		AgentTimeout: g.agentTimeout, Version: version,
		StartAgent:     func(ctx context.Context, dir string) error { return startAgent(ctx, dir, g.log) },
		FlushDolt:      flushDoltInAgent,
		TestAlertsHere: testAlertsInAgent,
	}
}

// sessionProfile is the profile s acts under, p as chosen: a sticky one is
// the profile applied last, or the base blocks when nothing was applied.
func sessionProfile(s *reconcile.Session, p profileChoice) profileChoice {
	if !p.sticky {
		return p
	}
	p.name, p.source = s.Config().Env, fromNoChoice
	if s.State().Applied() {
		p.source = fromApplied
	}
	return p
}
