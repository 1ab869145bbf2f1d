package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// open opens the reconcile.Session of a command: beads.hcl loaded as validate
// shows it, the lock taken (when lock is set, waiting up to lockTimeout) and
// the file loaded again under it, the state read; the agent is dialled with
// --agent-timeout when the session observes.
func open(c *cobra.Command, g *globals, command string, lock bool, lockTimeout time.Duration) (*reconcile.Session, error) {
	return reconcile.OpenSession(c.Context(), reconcile.SessionOptions{
		File: g.file, Profile: g.profile(), Environ: os.Environ(),
		Load:    func() (*schema.Config, error) { return loadConfig(c, g) },
		Command: command, Lock: lock, LockTimeout: lockTimeout,
		Changed: func(file, lockPath string) {
			fmt.Fprintf(c.ErrOrStderr(), "%s changed while %s waited for %s: using it as it is now.\n", file, command, lockPath)
		},
		AgentTimeout: g.agentTimeout, Version: version,
		StartAgent: func(ctx context.Context, dir string) error { return startAgent(ctx, dir, g.log) },
	})
}
