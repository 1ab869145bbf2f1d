package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/plural"
)

type destroyOptions struct {
	autoApprove bool
	lockTimeout time.Duration
}

func newDestroyCmd(g *globals) *cobra.Command {
	o := &destroyOptions{}
	c := &cobra.Command{
		Use:   "destroy",
		Short: "Stop every daemon and the agent, remove the socket and stale bd files",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runDestroy(c, g, o) },
	}
	addAutoApprove(c, &o.autoApprove, "destroy")
	c.Flags().DurationVar(&o.lockTimeout, "lock-timeout", 0, "how long to wait for another beadsctl holding .beadsctl/lock")
	return c
}

func runDestroy(c *cobra.Command, g *globals, o *destroyOptions) error {
	ctx, out := c.Context(), c.OutOrStdout()
	s, err := open(c, g, "destroy", true, o.lockTimeout)
	if err != nil {
		return err
	}
	defer s.Close()
	live, err := s.Observe(ctx)
	if err != nil {
		return err
	}
	if err := live.AgentAnswers(); err != nil {
		return err
	}
	if live.AgentUp {
		fmt.Fprintf(out, "beadsctl will stop %s and the agent.\n", plural.Count(len(live.Daemons), "daemon"))
	} else {
		fmt.Fprintln(out, "The agent is not running (nothing runs); beadsctl will remove what is left: its socket and stale bd files.")
	}
	if !o.autoApprove {
		if err := confirm(c, "destroy"); err != nil {
			return err
		}
	}
	if err := s.Destroy(ctx, progressPrinter(out, g.color(out))); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nDestroy complete! Nothing runs; beadsctl apply starts it all again.")
	return nil
}
