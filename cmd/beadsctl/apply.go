package main

import (
	"bufio"
	"context"
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
	f.BoolVar(&o.autoApprove, "auto-approve", false, "apply without asking (required without a terminal)")
	f.DurationVar(&o.lockTimeout, "lock-timeout", 0, "how long to wait for another beadsctl holding .beadsctl/lock")
	f.DurationVar(&o.timeout, "timeout", reconcile.DefaultApplyTimeout, "how long to wait for each daemon to come online")
	f.BoolVar(&o.replaceUnmanaged, "replace-unmanaged", false, "stop a bd daemon that beadsctl did not start (pid and start time checked) and take over")
	return c
}

func runApply(c *cobra.Command, g *globals, o *applyOptions, args []string) error {
	ctx, out := c.Context(), c.OutOrStdout()
	cfg, err := loadConfig(c, g) // a config error never touches a running daemon
	if err != nil {
		return err
	}
	cfg, l, err := lockFresh(c, g, cfg, "apply", o.lockTimeout)
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
	p := reconcile.ComputePlan(cfg, pr.live)
	if len(args) == 1 {
		saved, err := readPlan(args[0])
		if err != nil {
			return err
		}
		if err := reconcile.CheckSaved(saved, p); err != nil {
			return err
		}
	}
	color := g.color(out)
	renderPlan(out, p, color)
	if b := p.Blocking(); len(b) > 0 && !o.replaceUnmanaged {
		return &reconcile.UnmanagedError{Found: b}
	}
	if !p.HasChanges() {
		return recordAdopted(ctx, pr, p)
	}
	if len(args) == 0 && !o.autoApprove {
		if err := confirm(c, "apply"); err != nil {
			return err
		}
	}
	fmt.Fprintln(out)
	outcomes, applyErr := reconcile.Apply(ctx, cfg, p, pr.live, pr.st, pr.client, reconcile.ApplyOptions{
		Timeout:          o.timeout,
		ReplaceUnmanaged: o.replaceUnmanaged,
		EnsureAgent:      func(ctx context.Context) error { return startAgent(ctx, cfg.Dir, g.log) },
		Progress:         progressPrinter(out, color),
	})
	if applyErr != nil && len(outcomes) == 0 {
		return applyErr // nothing was done: the state stays as it was
	}
	if err := reconcile.WriteState(pr.statePath(), pr.st); err != nil {
		return err
	}
	if applyErr != nil {
		return applyErr
	}
	start, upd, restart, stop := p.Summary()
	fmt.Fprintf(out, "\nApply complete! %d started, %d updated, %d restarted, %d stopped.\n", start, upd, restart, stop)
	return nil
}

// recordAdopted writes the state when a no-op plan adopts daemons that run as
// declared but were not recorded; otherwise it leaves the state alone.
func recordAdopted(ctx context.Context, pr *project, p *reconcile.Plan) error {
	for _, ch := range p.Changes {
		if _, ok := pr.st.Daemons[ch.Name]; !ok && ch.Live != nil {
			if _, err := reconcile.Apply(ctx, pr.cfg, p, pr.live, pr.st, pr.client, reconcile.ApplyOptions{}); err != nil {
				return err
			}
			return reconcile.WriteState(pr.statePath(), pr.st)
		}
	}
	return nil
}

// confirm asks "Do you want to <what>? (yes)" on a terminal; without one it
// refuses, since nobody can answer.
func confirm(c *cobra.Command, what string) error {
	in := c.InOrStdin()
	if !isTerminalReader(in) {
		return fmt.Errorf("%s needs confirmation but stdin is not a terminal: run it with --auto-approve", what)
	}
	fmt.Fprintf(c.OutOrStdout(), "\nDo you want to %s?\n  Only 'yes' will be accepted.\n\n  Enter a value: ", what)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintf(c.OutOrStdout(), "\n%s cancelled.\n", strings.ToUpper(what[:1])+what[1:])
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
