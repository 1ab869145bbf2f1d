package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/spf13/cobra"
)

func newAlertCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "alert",
		Short: "Try beads.hcl's alerts",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newAlertTestCmd(g))
	return c
}

type alertTestOptions struct{ json bool }

func newAlertTestCmd(g *globals) *cobra.Command {
	o := &alertTestOptions{}
	c := &cobra.Command{
		Use:   "test [NAME]",
		Short: "Fire a sample event through the alerts and report what each command did",
		Long: "Send a sample event (its alert's first `on` name, for its first daemon or \"example\") through the\n" +
			"alert NAME, or every alert, and wait for the commands: each one's exit status and output. The agent\n" +
			"runs them (the alerts it was given by the last apply, in its environment); when it is down they run\n" +
			"here, from beads.hcl, and the command says so. No rate limit applies. Exit 1 when any failed.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			s, err := openAs(c, g, g.chosenProfile(), "alert test", false, 0)
			if err != nil {
				return err
			}
			defer s.Close()
			res, direct, err := s.TestAlerts(c.Context(), name)
			if err != nil {
				return err
			}
			return renderAlertTest(c, o, res, direct)
		},
	}
	c.Flags().BoolVar(&o.json, "json", false, "the results as JSON")
	return c
}

func renderAlertTest(c *cobra.Command, o *alertTestOptions, res []agentapi.AlertResult, direct error) error {
	out := c.OutOrStdout()
	failed := 0
	for i := range res {
		if !res[i].OK() {
			failed++
		}
	}
	if o.json {
		v := struct {
			ViaAgent bool                   `json:"via_agent"`
			Results  []agentapi.AlertResult `json:"results"`
		}{direct == nil, res}
		if err := json.NewEncoder(out).Encode(v); err != nil {
			return err
		}
	} else {
		if direct != nil {
			fmt.Fprintf(out, "Not through the agent: %v; the alerts ran here, from beads.hcl.\n", direct)
		}
		if len(res) == 0 {
			fmt.Fprintln(out, "No alert is configured (beads.hcl has no alert block).")
		}
		for _, r := range res {
			status := "ok, exit 0"
			if !r.OK() {
				status = "FAILED: " + r.Error
			}
			fmt.Fprintf(out, "alert %q (%s): %s in %.0f ms\n", r.Alert, r.Trigger, status, r.DurationMS)
			if o := strings.TrimSpace(r.Output); o != "" {
				for _, l := range strings.Split(o, "\n") {
					fmt.Fprintf(out, "  | %s\n", l)
				}
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d alerts failed", failed, len(res))
	}
	return nil
}
