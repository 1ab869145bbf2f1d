package main

import (
	"context"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
)

type verbOptions struct {
	lockTimeout time.Duration
	timeout     time.Duration
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
	c.Flags().DurationVar(&o.timeout, "timeout", reconcile.DefaultApplyTimeout, "how long to wait for each daemon to come online")
	return c
}

func runVerb(c *cobra.Command, g *globals, o *verbOptions, verb reconcile.Verb, names []string) error {
	ctx, out := c.Context(), c.OutOrStdout()
	cfg, err := loadConfig(c, g)
	if err != nil {
		return err
	}
	cfg, l, err := lockFresh(c, g, cfg, string(verb), o.lockTimeout)
	if err != nil {
		return err
	}
	defer l.Release()
	pr, err := observe(ctx, g, cfg)
	if err != nil {
		return err
	}
	if err := pr.live.AgentAnswers(); err != nil {
		return err
	}
	if err := pr.live.AgentDrivable(); err != nil {
		return err
	}
	outcomes, verbErr := reconcile.RunVerb(ctx, verb, cfg, names, pr.live, pr.st, pr.client, reconcile.VerbOptions{
		Timeout:     o.timeout,
		EnsureAgent: func(ctx context.Context) error { return startAgent(ctx, cfg.Dir, g.log) },
		Progress:    progressPrinter(out, g.color(out)),
	})
	// Only what the agent confirmed is recorded; failed outcomes left st alone.
	if slices.ContainsFunc(outcomes, func(o reconcile.Outcome) bool { return o.Err == nil }) {
		if err := reconcile.WriteState(pr.statePath(), pr.st); err != nil {
			return err
		}
	}
	return verbErr
}
