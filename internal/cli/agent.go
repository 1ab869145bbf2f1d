package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

type agentOptions struct {
	foreground bool
	restore    bool
	dir        string
}

func newAgentCmd(g *globals) *cobra.Command {
	o := &agentOptions{}
	c := &cobra.Command{
		Use:   "agent",
		Short: "Run the long-lived supervisor of this project (started by apply)",
		Long: "agent hosts the project's daemons behind the control socket .beadsctl/agent.sock.\n" +
			"apply starts it detached; run it with --foreground under systemd, Nomad or a container,\n" +
			"where it also reads beads.hcl and starts every daemon itself. SIGTERM or SIGINT stop\n" +
			"every daemon gracefully, then the agent exits 0.\n\n" +
			"With --restore (what beadsctl startup installs) it starts what the last apply left running\n" +
			"instead: beads.hcl under the applied profile (unless --env names one), without the daemons\n" +
			"stopped on purpose, with the alerts and the metrics listener the last apply set (agent.json);\n" +
			"when beads.hcl does not load, the daemons as the last apply recorded them (state.json);\n" +
			"it exits 0 at once after beadsctl destroy, when nothing was applied, or when another agent\n" +
			"already runs the folder (one that apply started).\n\n" +
			"The agent runs as " + agentapi.LeanAgentName + " beside beadsctl (make build and make install put it\n" +
			"there), which beadsctl hands this command over to, with the daemons it worked out.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runAgent(c, g, o) },
	}
	c.Flags().BoolVar(&o.foreground, "foreground", false, "run attached, log to stderr, and start the daemons of beads.hcl")
	c.Flags().BoolVar(&o.restore, "restore", false, "with --foreground: start what the last apply left running (at boot, after a crash)")
	c.Flags().StringVar(&o.dir, "dir", "", "project folder (default: the folder of --file)")
	return c
}

func runAgent(c *cobra.Command, g *globals, o *agentOptions) error {
	ctx := c.Context()
	dir := o.dir
	if dir == "" {
		dir = filepath.Dir(g.file)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	run := &agentapi.AgentRun{}
	switch {
	case o.restore && !o.foreground:
		return errors.New("--restore runs with --foreground (as beadsctl startup's unit does)")
	case o.restore:
		specs, none, err := restoreSpecs(ctx, g, dir)
		if err != nil {
			return err
		}
		if none != "" {
			g.log.Info("nothing to restore", "reason", none)
			return nil
		}
		run.Specs = specs
		run.ResumeObservers = true // as the last apply set them, whatever beads.hcl says now
	case o.foreground:
		cfg, err := foregroundConfig(g, dir, g.profile().name)
		if err != nil {
			return err
		}
		if run.Specs, err = foregroundSpecs(ctx, cfg, nil); err != nil {
			return err
		}
		if cfg.Metrics != nil {
			run.MetricsListen = cfg.Metrics.Listen
		}
		run.Alerts = reconcile.AlertSpecs(cfg)
	default:
		// Started by apply (which hands beads.hcl's on at once) or by a verb
		// with the agent down: beadsctl-agent logs to .beadsctl/agent.log,
		// with the alerts and metrics listener of the last apply.
		return handOverAgent(ctx, g, dir, []string{"--dir", dir}, nil)
	}
	args := []string{"--foreground", "--dir", dir, "--log-format", g.logFormat}
	if g.noColor {
		args = append(args, "--no-color")
	}
	return handOverAgent(ctx, g, dir, args, run)
}

// foregroundConfig loads beads.hcl (the file in dir unless --file names
// another) under profile.
func foregroundConfig(g *globals, dir, profile string) (*schema.Config, error) {
	path := g.file
	if !filepath.IsAbs(path) && !fileExists(path) {
		path = filepath.Join(dir, path)
	}
	cfg, _, diags := schema.Load(path, profile, os.Environ())
	if diags.HasErrors() {
		return nil, fmt.Errorf("load %s: %w", path, schema.Error(diags))
	}
	return cfg, nil
}

// foregroundSpecs are the specs of the daemons of cfg that keep allows (nil:
// all), for the agent to start.
func foregroundSpecs(ctx context.Context, cfg *schema.Config, keep func(schema.Daemon) bool) ([]agentapi.Spec, error) {
	kept := *cfg
	kept.Daemons = nil
	for _, d := range cfg.Daemons {
		if keep == nil || keep(d) {
			kept.Daemons = append(kept.Daemons, d)
		}
	}
	return reconcile.ForegroundSpecs(&kept, func(d *schema.Daemon) string {
		var v string
		if d.IsBeads() {
			v, _ = bd.InstalledVersion(ctx, d.Command)
		}
		return v
	})
}

// restoreSpecs are the specs of what the last apply left running in dir, or
// why there is nothing to start ("" when there is): nothing applied, destroy,
// every daemon stopped on purpose, or another agent already in charge.
func restoreSpecs(ctx context.Context, g *globals, dir string) ([]agentapi.Spec, string, error) {
	if pid, err := agentapi.AgentLockHolder(dir); err == nil && pid > 0 {
		return nil, fmt.Sprintf("an agent already runs this folder (pid %d): it stays in charge", pid), nil
	}
	st, err := reconcile.ReadState(reconcile.StatePath(dir))
	if err != nil {
		return nil, "", err
	}
	if !st.Applied() {
		return nil, "nothing was applied here (beadsctl apply starts the daemons)", nil
	}
	running := map[string]bool{}
	anyRunning, destroyed := false, false
	for name, d := range st.Daemons {
		running[name] = !d.Stopped
		anyRunning = anyRunning || !d.Stopped
		destroyed = destroyed || d.Destroyed
	}
	if !anyRunning {
		if destroyed {
			return nil, "beadsctl destroy stopped every daemon (beadsctl apply starts them again)", nil
		}
		return nil, "every daemon was stopped on purpose (beadsctl start starts them again)", nil
	}
	profile := st.Env // the applied profile, unless --env, --no-env or BEADSCTL_ENV chose one
	if p := g.chosenProfile(); !p.sticky {
		profile = p.name
	}
	var skipped map[string]string // not restored from the state: why
	cfg, err := foregroundConfig(g, dir, profile)
	if err != nil {
		// At boot a beads.hcl that does not load (an edit half done) must
		// not leave everything down: what the last apply recorded runs.
		g.log.Error("beads.hcl does not load: restoring the daemons as the last apply recorded them", "error", err.Error())
		cfg, skipped = reconcile.AppliedConfig(st, dir, func(name string) bool { return running[name] })
		for _, name := range slices.Sorted(maps.Keys(skipped)) {
			g.log.Error("not restored: beads.hcl does not load", "daemon", name, "reason", skipped[name])
		}
		if len(cfg.Daemons) == 0 {
			return nil, "", err
		}
		profile = st.Env
	}
	declared := map[string]bool{}
	specs, err := foregroundSpecs(ctx, cfg, func(d schema.Daemon) bool {
		declared[d.Name] = true
		switch {
		case !running[d.Name]:
			if _, applied := st.Daemons[d.Name]; applied {
				g.log.Info("not restored: stopped on purpose", "daemon", d.Name)
			} else {
				g.log.Info("not restored: never applied", "daemon", d.Name)
			}
			return false
		case !st.SameDigest(st.Daemons[d.Name].Hash, d.Hash):
			g.log.Warn("restored as beads.hcl says now: it changed since the last apply", "daemon", d.Name)
		}
		return true
	})
	if err != nil {
		return nil, "", err
	}
	reconcile.MarkCompleted(st, cfg, specs) // a one-shot that completed is not run again
	for _, name := range st.Names() {
		if _, said := skipped[name]; running[name] && !declared[name] && !said {
			g.log.Warn("not restored: removed from beads.hcl since the last apply", "daemon", name)
		}
	}
	g.log.Info("restoring the last apply", "profile", profile, "daemons", len(specs))
	return specs, "", nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
