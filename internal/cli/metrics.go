package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
)

func newMetricsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "metrics",
		Short: "Print the agent's metrics in the Prometheus text format",
		Long: "Print what a scraper of the agent's metrics listener (beads.hcl's metrics block) gets: per daemon\n" +
			"up, state, restarts by reason, uptime, last exit code, RSS, CPU seconds, memory limit, health and\n" +
			"the last check's latency; per agent its RSS, goroutines and control API requests.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			agent := g.dial(opsDir(g))
			defer agent.Close()
			b, err := agent.Metrics(c.Context())
			if errors.Is(err, reconcile.ErrAgentDown) {
				return fmt.Errorf("%w: no metrics (beadsctl apply starts it)", err)
			}
			if err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(b)
			return err
		},
	}
}
