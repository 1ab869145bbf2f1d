package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

// project is what the reconcile commands gather before they decide anything.
type project struct {
	cfg    *schema.Config
	st     *reconcile.State
	live   *reconcile.Live
	client *reconcile.Client
}

func (p *project) statePath() string { return reconcile.StatePath(p.cfg.Dir) }

// observe reads the state and asks the agent and bd what runs.
func observe(ctx context.Context, g *globals, cfg *schema.Config) (*project, error) {
	st, err := reconcile.ReadState(reconcile.StatePath(cfg.Dir))
	if err != nil {
		return nil, err
	}
	client := g.dial(cfg.Dir)
	live := reconcile.Observe(ctx, cfg, st, client, reconcile.DefaultProbes())
	live.Version = version // an agent of another version is replaced by apply
	if ctx.Err() != nil {
		// Interrupted (Ctrl-C) while asking: what was seen is incomplete, and
		// a plan made from it would say what is not so.
		return nil, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	return &project{cfg: cfg, st: st, live: live, client: client}, nil
}

// lock takes the project's lock for command, waiting up to timeout.
func lock(ctx context.Context, cfg *schema.Config, command string, timeout time.Duration) (*reconcile.Lock, error) {
	return reconcile.AcquireLock(ctx, reconcile.LockPath(cfg.Dir), command, timeout)
}

// lockFresh takes the project's lock, then loads beads.hcl again: what a
// command acts on is the file as it is once nothing else can act, not as it
// was when the command began to wait (another apply may have run meanwhile,
// and the file changed since). cfg is returned when the file did not change;
// a file that no longer loads is an error, shown as validate shows it.
func lockFresh(c *cobra.Command, g *globals, cfg *schema.Config, command string, timeout time.Duration) (*schema.Config, *reconcile.Lock, error) {
	l, err := lock(c.Context(), cfg, command, timeout)
	if err != nil {
		return nil, nil, err
	}
	fresh, _, diags := schema.Load(g.file, g.profile(), os.Environ())
	if !diags.HasErrors() && fresh.Dir == cfg.Dir && reconcile.ConfigHash(fresh) == reconcile.ConfigHash(cfg) {
		return cfg, l, nil
	}
	fmt.Fprintf(c.ErrOrStderr(), "%s changed while %s waited for %s: using it as it is now.\n", g.file, command, reconcile.LockPath(cfg.Dir))
	if fresh, err = loadConfig(c, g); err != nil {
		l.Release()
		return nil, nil, err
	}
	return fresh, l, nil
}

type planOptions struct {
	out              string
	json             bool
	detailedExitcode bool
	lockTimeout      time.Duration
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
	return c
}

func runPlan(c *cobra.Command, g *globals, o *planOptions) error {
	cfg, err := loadConfig(c, g)
	if err != nil {
		return err
	}
	if o.out != "" {
		var l *reconcile.Lock
		if cfg, l, err = lockFresh(c, g, cfg, "plan", o.lockTimeout); err != nil {
			return err
		}
		defer l.Release()
	}
	pr, err := observe(c.Context(), g, cfg)
	if err != nil {
		return err
	}
	if err := pr.live.AgentAnswers(); err != nil {
		return err // what runs cannot be known: no plan is better than a wrong one
	}
	p := reconcile.ComputePlan(cfg, pr.live)
	if o.json {
		err = writeJSON(c.OutOrStdout(), p)
	} else {
		renderPlan(c.OutOrStdout(), p, g.color(c.OutOrStdout()))
	}
	if err != nil {
		return err
	}
	if o.out != "" {
		if err := savePlan(o.out, p); err != nil {
			return err
		}
		if !o.json {
			fmt.Fprintf(c.OutOrStdout(), "\nSaved the plan to %s. Apply exactly it with: beadsctl apply %s\n", o.out, o.out)
		}
	}
	if o.detailedExitcode && p.HasChanges() {
		return exitError{2}
	}
	return nil
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
