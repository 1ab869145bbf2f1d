package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
)

func newStateCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "state", Short: "Inspect or repair .beadsctl/state.json", Args: cobra.NoArgs}
	var lockTimeout time.Duration
	reset := &cobra.Command{
		Use:   "reset",
		Short: "Forget the recorded state (moved aside, not deleted); running daemons are left alone",
		Long: "reset moves .beadsctl/state.json aside as state.json.reset-<time>. Nothing is stopped: the next\n" +
			"plan compares beads.hcl with what the agent runs and apply records it again.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := reconcile.OpenSession(c.Context(), reconcile.SessionOptions{File: g.file, StateOnly: true,
				Command: "state reset", Lock: true, LockTimeout: lockTimeout})
			if err != nil {
				return err
			}
			defer s.Close()
			aside, err := s.ResetState(time.Now())
			switch {
			case err != nil:
				return err
			case aside == "":
				fmt.Fprintln(c.OutOrStdout(), "No state to reset.")
			default:
				fmt.Fprintf(c.OutOrStdout(), "State moved to %s. Run beadsctl plan to see what runs.\n", aside)
			}
			return nil
		},
	}
	reset.Flags().DurationVar(&lockTimeout, "lock-timeout", 0, "how long to wait for another beadsctl holding .beadsctl/lock")
	c.AddCommand(reset)
	return c
}
