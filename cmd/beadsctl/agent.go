package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
	"github.com/beadsctl/beadsctl/supervisor"
)

type agentOptions struct {
	foreground bool
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
			"every daemon gracefully, then the agent exits 0.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runAgent(c, g, o) },
	}
	c.Flags().BoolVar(&o.foreground, "foreground", false, "run attached, log to stderr, and start the daemons of beads.hcl")
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
	opts := supervisor.AgentOptions{Dir: dir, Logger: g.log, Version: version}
	if o.foreground {
		if opts.Specs, err = foregroundSpecs(ctx, g, dir); err != nil {
			return err
		}
	} else {
		logf, err := supervisor.OpenAgentLog(dir)
		if err != nil {
			return err
		}
		defer logf.Close()
		opts.Logger = slog.New(slog.NewJSONHandler(logf, nil))
	}
	a := supervisor.NewAgent(opts)
	go supervisor.SignalReady(ctx, a, opts.Logger)
	return a.Run(ctx)
}

// foregroundSpecs loads beads.hcl (the file in dir unless --file names another)
// and turns each daemon into the spec the agent starts.
func foregroundSpecs(ctx context.Context, g *globals, dir string) ([]supervisor.Spec, error) {
	path := g.file
	if !filepath.IsAbs(path) && !fileExists(path) {
		path = filepath.Join(dir, path)
	}
	cfg, _, diags := schema.Load(path, g.profile().name, os.Environ())
	if diags.HasErrors() {
		return nil, fmt.Errorf("load %s: %w", path, schema.Error(diags))
	}
	return reconcile.ForegroundSpecs(cfg, func(d *schema.Daemon) string {
		var v string
		if d.IsBeads() {
			v, _ = bd.InstalledVersion(ctx, d.Command)
		}
		return v
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
