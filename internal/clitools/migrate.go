package clitools

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/beadsctl/beadsctl/migrate"
	"github.com/beadsctl/beadsctl/reconcile"
)

type migrateOptions struct {
	dryRun      bool
	force       bool
	keepBdAuto  bool
	json        bool
	stopTimeout time.Duration
	timeout     time.Duration
}

func newMigrateCmd(g *cli.Globals) *cobra.Command {
	o := &migrateOptions{}
	c := &cobra.Command{
		Use: "migrate",
		Long: "Detects a PM2 app or a background bd daemon serving this folder's .beads/, writes beads.hcl\n" +
			"from ecosystem.config.* when there is none (never over one), stops the old daemon (pm2 delete,\n" +
			"or SIGTERM; --force adds SIGKILL after the timeout), cleans bd's stale files and applies.\n" +
			"For bd 1.x in server mode, the Dolt SQL server bd started (bd dolt start, or auto-start) is\n" +
			"flushed, stopped (identity proven) and started under beadsctl on the same port, with\n" +
			"dolt.auto-start: false in .beads/config.yaml unless --keep-bd-auto-start.\n" +
			"--dry-run shows the steps and changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runMigrate(c, g, o) },
	}
	f := c.Flags()
	f.BoolVar(&o.dryRun, "dry-run", false, "show the steps and change nothing")
	f.BoolVar(&o.force, "force", false, "SIGKILL the old daemon when it has not stopped after --stop-timeout")
	f.BoolVar(&o.keepBdAuto, "keep-bd-auto-start", false, "bd 1.x: leave dolt.auto-start in .beads/config.yaml as it is (bd may then start a rival server while ours restarts)")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	f.DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, "how long to wait for the old daemon to stop")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the new daemon to come online")
	return c
}

func runMigrate(c *cobra.Command, g *cli.Globals, o *migrateOptions) error {
	out := c.OutOrStdout()
	cfgPath, err := filepath.Abs(g.File())
	if err != nil {
		return err
	}
	exe, _, err := cli.Executable()
	if err != nil {
		return err
	}
	profile, sticky, source := g.Profile() // else the --env PM2 ran the app with
	opts := migrate.Options{
		Dir: filepath.Dir(cfgPath), Config: cfgPath, Profile: profile, ProfileSet: !sticky, ProfileSource: source, Environ: os.Environ(),
		DryRun: o.dryRun, Force: o.force, KeepBdAutoStart: o.keepBdAuto, StopTimeout: o.stopTimeout, ApplyTimeout: o.timeout, Exe: exe,
		StartAgent: g.StartAgent,
	}
	if !o.json {
		opts.Step = func(s migrate.Step) { printStep(out, s) }
	}
	rep, err := migrate.Run(c.Context(), opts)
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(rep); jerr != nil {
			return jerr
		}
		if err != nil {
			return cli.ErrPrinted
		}
		return nil
	}
	if err != nil {
		fmt.Fprintf(out, "\nMigration stopped: %s\n", rep.Resume)
		return cli.ErrPrinted
	}
	under := "" // the profile, when one was applied or something chose it
	if rep.Profile != "" || rep.ProfileSource != "" {
		under = " under " + reconcile.DescribeProfile(rep.Profile)
	}
	switch {
	case rep.DryRun:
		fmt.Fprintf(out, "\nDry run: nothing was changed. Run beadsctl migrate to do it%s.\n", under)
	default:
		fmt.Fprintf(out, "\nMigration complete: beadsctl runs the daemon now%s (beadsctl status, beadsctl drift).\n", under)
	}
	return nil
}

func printStep(w io.Writer, s migrate.Step) {
	mark := "✓"
	switch {
	case !s.OK:
		mark = "✗"
	case s.Planned:
		mark = "•"
	}
	fmt.Fprintf(w, "%s %s: %s\n", mark, s.Name, s.Detail)
}
