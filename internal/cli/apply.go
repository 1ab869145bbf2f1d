package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/reconcile"
)

type applyOptions struct {
	autoApprove      bool
	lockTimeout      time.Duration
	timeout          time.Duration
	replaceUnmanaged bool
	targets          []string
}

func newApplyCmd(g *globals) *cobra.Command {
	o := &applyOptions{}
	c := &cobra.Command{
		Use:   "apply [PLANFILE]",
		Short: "Converge: start, update, restart and stop daemons until they match beads.hcl",
		Args:  cobra.MaximumNArgs(1),
		RunE:  func(c *cobra.Command, args []string) error { return runApply(c, g, o, args) },
	}
	f := c.Flags()
	addAutoApprove(c, &o.autoApprove, "apply")
	f.DurationVar(&o.lockTimeout, "lock-timeout", 0, "how long to wait for another beadsctl holding .beadsctl/lock")
	f.DurationVar(&o.timeout, "timeout", reconcile.DefaultApplyTimeout, "how long to wait for each daemon to come online")
	f.BoolVar(&o.replaceUnmanaged, "replace-unmanaged", false, "stop a bd daemon that beadsctl did not start (pid and start time checked) and take over")
	addTarget(c, &o.targets, "apply")
	return c
}

func runApply(c *cobra.Command, g *globals, o *applyOptions, args []string) error {
	ctx, out := c.Context(), c.OutOrStdout()
	pc := g.chosenProfile()
	var saved *reconcile.Plan
	targets := o.targets
	if len(args) == 1 {
		if len(o.targets) > 0 {
			return fmt.Errorf("-target with a saved plan: %s applies the targets it was made with; run beadsctl apply %s without -target", args[0], args[0])
		}
		// A saved plan carries its profile, as Terraform's carries its
		// workspace, and its targets.
		var err error
		if saved, err = readPlan(args[0]); err != nil {
			return err
		}
		if pc, err = savedProfile(pc, saved, args[0]); err != nil {
			return err
		}
		targets = saved.Targets
	}
	s, err := openAs(c, g, pc, "apply", true, o.lockTimeout)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.Plan(ctx, targets...)
	if err != nil {
		return err
	}
	if saved != nil {
		if err := reconcile.CheckSaved(saved, p); err != nil {
			return err
		}
	}
	color := g.color(out)
	sessionProfile(s, pc).printNote(out, s.Config())
	warnTargeted(c.ErrOrStderr(), p, false)
	renderPlan(out, p, color)
	if b := p.Blocking(); len(b) > 0 && !o.replaceUnmanaged {
		return &reconcile.UnmanagedError{Found: b}
	}
	if !p.HasChanges() {
		_, err := s.Apply(ctx, p, reconcile.ApplyOptions{}) // records the daemons it adopts
		warnTargeted(c.ErrOrStderr(), p, true)
		if err != nil {
			return alertsDespite(c, s, err)
		}
		return applyMetrics(c, s)
	}
	if len(args) == 0 && !o.autoApprove {
		if err := confirm(c, "apply", "apply"); err != nil {
			return err
		}
	}
	fmt.Fprintln(out)
	if _, err := s.Apply(ctx, p, reconcile.ApplyOptions{Timeout: o.timeout, ReplaceUnmanaged: o.replaceUnmanaged, Progress: progressPrinter(out, color)}); err != nil {
		return alertsDespite(c, s, err)
	}
	start, upd, restart, stop := p.Summary()
	fmt.Fprintf(out, "\nApply complete! %d started, %d updated, %d restarted, %d stopped.\n", start, upd, restart, stop)
	warnTargeted(c.ErrOrStderr(), p, true)
	return applyMetrics(c, s)
}

// alertsDespite hands the alerts to the agent after an apply that failed
// (a daemon that did not come online is what they are for); err stays the
// apply's error.
func alertsDespite(c *cobra.Command, s *reconcile.Session, err error) error {
	if aerr := s.ApplyAlerts(c.Context()); aerr != nil {
		return errors.Join(err, fmt.Errorf("alerts not handed to the agent: %w", aerr))
	}
	return err
}

// applyMetrics has the agent serve the metrics block's listener, and says
// where; an address it cannot bind fails the apply, the daemons untouched.
func applyMetrics(c *cobra.Command, s *reconcile.Session) error {
	if err := s.ApplyAlerts(c.Context()); err != nil {
		return fmt.Errorf("alerts not handed to the agent: %w (the daemons are applied and run)", err)
	}
	bound, err := s.ApplyMetrics(c.Context())
	if err != nil {
		return fmt.Errorf("%w (the daemons are applied and run; only the metrics are not served)", err)
	}
	if bound != "" {
		fmt.Fprintf(c.OutOrStdout(), "Metrics: http://%s/metrics\n", bound)
	}
	return nil
}

// confirm asks "Do you want to <what>? (yes)" on a terminal; without one it
// refuses, since nobody can answer. name is the action as a noun, in the
// refusal and in "<Name> cancelled." ("apply", "state reset").
func confirm(c *cobra.Command, what, name string) error {
	in := c.InOrStdin()
	if !isTerminalReader(in) {
		return fmt.Errorf("%s needs confirmation but stdin is not a terminal: run it with --auto-approve", name)
	}
	fmt.Fprintf(c.OutOrStdout(), "\nDo you want to %s?\n  Only 'yes' will be accepted.\n\n  Enter a value: ", what)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintf(c.OutOrStdout(), "\n%s cancelled.\n", strings.ToUpper(name[:1])+name[1:])
		return errPrinted
	}
	return nil
}

func isTerminalReader(r io.Reader) bool { return isTerminal(asWriter(r)) }

func asWriter(r io.Reader) io.Writer {
	if f, ok := r.(*os.File); ok {
		return f
	}
	return io.Discard
}
