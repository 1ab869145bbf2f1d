package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
			dir := filepath.Dir(g.file)
			l, err := reconcile.AcquireLock(c.Context(), reconcile.LockPath(dir), "state reset", lockTimeout)
			if err != nil {
				return err
			}
			defer l.Release()
			path := reconcile.StatePath(dir)
			aside := fmt.Sprintf("%s.reset-%s", path, time.Now().UTC().Format("20060102T150405Z"))
			if err := os.Rename(path, aside); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					fmt.Fprintln(c.OutOrStdout(), "No state to reset.")
					return nil
				}
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "State moved to %s. Run beadsctl plan to see what runs.\n", aside)
			return nil
		},
	}
	reset.Flags().DurationVar(&lockTimeout, "lock-timeout", 0, "how long to wait for another beadsctl holding .beadsctl/lock")
	c.AddCommand(reset)
	return c
}
