package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/reconcile"
)

type planOptions struct {
	out              string
	json             bool
	detailedExitcode bool
	lockTimeout      time.Duration
	targets          []string
}

func newPlanCmd(g *globals) *cobra.Command {
	o := &planOptions{}
	c := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change: + start, ~ update in place, -/+ restart, - stop",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return runPlan(c, g, o) },
	}
	f := c.Flags()
	f.StringVar(&o.out, "out", "", "save the plan to `FILE`, for beadsctl apply FILE")
	f.BoolVar(&o.json, "json", false, "print the plan as JSON (format_version "+reconcile.PlanFormatVersion+")")
	f.BoolVar(&o.detailedExitcode, "detailed-exitcode", false, "exit 0 with no changes, 1 on error, 2 with changes")
	f.DurationVar(&o.lockTimeout, "lock-timeout", 0, "with --out, how long to wait for the lock")
	addTarget(c, &o.targets, "plan")
	return c
}

// addTarget adds --target (-target, as terraform writes it), repeatable.
func addTarget(c *cobra.Command, v *[]string, what string) {
	c.Flags().StringArrayVar(v, "target", nil, what+" only this daemon (`NAME` or daemon.NAME; repeatable): the result is partial")
}

// warnTargeted warns, as terraform does, that a -target plan or apply is
// partial, naming what it leaves out.
func warnTargeted(w io.Writer, p *reconcile.Plan, applied bool) {
	if len(p.Targets) == 0 {
		return
	}
	left := "no other daemon has changes now"
	if len(p.LeftOut) > 0 {
		left = "left out, with changes of their own: " + strings.Join(p.LeftOut, ", ")
	}
	if applied {
		fmt.Fprintf(w, "Warning: applied changes may be incomplete: -target applied %s only; %s.\n"+
			"Run beadsctl plan to see what is still pending.\n", strings.Join(p.Targets, ", "), left)
		return
	}
	fmt.Fprintf(w, "Warning: -target is in effect: this plan covers %s only; %s.\n"+
		"It may not be every change beads.hcl asks for: -target is for exceptional cases, such as\n"+
		"recovering one daemon while another is being fixed.\n\n", strings.Join(p.Targets, ", "), left)
}

func runPlan(c *cobra.Command, g *globals, o *planOptions) error {
	pc := g.chosenProfile()
	opts := sessionOptions(c, g, pc, "plan", o.out != "", o.lockTimeout) // a saved plan is made under the lock
	opts.Prefetch = true
	s, err := reconcile.OpenSession(c.Context(), opts)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.Plan(c.Context(), o.targets...)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	warnTargeted(c.ErrOrStderr(), p, false)
	if o.json {
		err = writeJSON(out, p)
	} else {
		sessionProfile(s, pc).printNote(out, s.Config())
		renderPlan(out, p, g.color(out))
	}
	if err != nil {
		return err
	}
	if o.out != "" {
		if err := savePlan(o.out, p); err != nil {
			return err
		}
		if !o.json {
			fmt.Fprintf(out, "\nSaved the plan to %s%s. Apply exactly it with: beadsctl apply %s\n", o.out, profileOf(p.Env), o.out)
		}
	}
	if o.detailedExitcode && p.HasChanges() {
		return exitError{2}
	}
	return nil
}

// profileOf names the profile a saved plan carries: " (profile production)".
func profileOf(env string) string { return " (" + reconcile.DescribeProfile(env) + ")" }

// savedProfile is the profile of the saved plan at path: the one it was made
// under. A profile chosen otherwise (--env, --no-env, BEADSCTL_ENV) must be
// the same one.
func savedProfile(chosen profileChoice, saved *reconcile.Plan, path string) (profileChoice, error) {
	if !chosen.sticky && chosen.name != saved.Env {
		return chosen, fmt.Errorf("%s was saved under %s, but %s chooses %s: apply it without choosing a profile, or make a new plan under that one",
			path, reconcile.DescribeProfile(saved.Env), chosen.source, reconcile.DescribeProfile(chosen.name))
	}
	return profileChoice{name: saved.Env, source: "from the saved plan " + path}, nil
}

func savePlan(path string, p *reconcile.Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

func readPlan(path string) (*reconcile.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var p reconcile.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("read plan %s: %w", path, err)
	}
	return &p, nil
}
