package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/reconcile"
)

type driftOptions struct {
	json       bool
	configOnly bool
}

// driftReport is the `drift --json` format.
type driftReport struct {
	FormatVersion string              `json:"format_version"`
	Env           string              `json:"env"`
	InSync        bool                `json:"in_sync"`
	Findings      []reconcile.Finding `json:"findings"`
}

func newDriftCmd(g *globals) *cobra.Command {
	o := &driftOptions{}
	c := &cobra.Command{
		Use:   "drift",
		Short: "Exit 2 when what runs differs from beads.hcl and the last apply (for CI)",
		Long: "drift compares beads.hcl, the last applied state and what runs. Exit 0 in sync, 2 with findings\n" +
			"(each with kind, daemon, expected and actual), 1 on error. A project where nothing was ever\n" +
			"applied is a finding, and so is a PM2 that still runs a daemon's command in its folder or has\n" +
			"it in its saved list (dump.pm2: pm2 resurrect, which PM2's boot hook runs, would start it).\n--config-only compares the file with the last applied state only.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runDrift(c, g, o) },
	}
	c.Flags().BoolVar(&o.json, "json", false, "print the findings as JSON")
	c.Flags().BoolVar(&o.configOnly, "config-only", false, "compare only beads.hcl with the last applied state")
	return c
}

func runDrift(c *cobra.Command, g *globals, o *driftOptions) error {
	pc := g.chosenProfile()
	s, err := openAs(c, g, pc, "drift", false, 0)
	if err != nil {
		return err
	}
	defer s.Close()
	cfg, live := s.Config(), &reconcile.Live{State: s.State()}
	if !o.configOnly {
		if live, err = s.Observe(c.Context()); err != nil {
			return err
		}
		if live.PM2, err = reconcile.ObservePM2(c.Context(), cfg, os.Environ()); err != nil {
			fmt.Fprintf(c.ErrOrStderr(), "Warning: PM2 not fully checked: %v\n", err)
		}
	}
	fs := reconcile.Findings(cfg, live, o.configOnly)
	inSync := !reconcile.HasDrift(fs)
	out := c.OutOrStdout()
	if o.json {
		if err := writeJSON(out, driftReport{FormatVersion: "1.0", Env: cfg.Env, InSync: inSync, Findings: fs}); err != nil {
			return err
		}
	} else {
		sessionProfile(s, pc).printNote(out, cfg)
		drift, notes := splitFindings(fs)
		renderFindings(out, drift, g.color(out), "Drift:")
		renderFindings(out, notes, g.color(out), "Notes (not drift):")
		if inSync {
			note := ""
			if len(notes) > 0 {
				note = " (" + plural.Count(len(notes), "note") + ")"
			}
			fmt.Fprintf(out, "No drift%s. What runs matches beads.hcl and the last apply.\n", note)
		} else {
			fmt.Fprintf(out, "%s. Run beadsctl plan to see what apply would do.\n", plural.Count(len(drift), "finding"))
		}
	}
	if !inSync {
		return exitError{2}
	}
	return nil
}

// splitFindings parts the findings that are drift from the notes (Info).
func splitFindings(fs []reconcile.Finding) (drift, notes []reconcile.Finding) {
	for _, f := range fs {
		if f.Info {
			notes = append(notes, f)
		} else {
			drift = append(drift, f)
		}
	}
	return drift, notes
}
