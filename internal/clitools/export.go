package clitools

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/export"
	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/beadsctl/beadsctl/internal/plural"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/schema"
)

type exportOptions struct {
	outDir string
	strict bool
	// systemd and launchd
	user, agent bool
	prefix      string
	runAs       string
	// nomad
	format, jobType, job string
	datacenters          []string
}

func newExportCmd(g *cli.Globals) *cobra.Command {
	o := &exportOptions{}
	c := &cobra.Command{
		Use: "export",
		Long: `Export renders the daemons of beads.hcl, under the env profile of --env or
BEADSCTL_ENV, as definitions for another process manager, which then supervises
them itself: systemd units, launchd property lists or a Nomad job.

What the engine cannot express (beads-rpc health checks, timestamps, min_uptime
semantics, ...) is a warning on stderr naming the field and what the engine does
instead; --strict makes any warning an error (exit 1) and writes nothing.

Without -o the files go to stdout (several each after a "==> NAME <==" line) and
sensitive values are never printed; with -o DIR they are written into DIR,
files holding sensitive values with mode 0600.`,
		Args: cobra.NoArgs,
	}
	pf := c.PersistentFlags()
	pf.StringVarP(&o.outDir, "out", "o", "", "write the files into this folder instead of stdout")
	pf.BoolVar(&o.strict, "strict", false, "fail (exit 1) when a field of beads.hcl does not map to the engine")

	systemd := &cobra.Command{
		Use:   "systemd [DAEMON]",
		Short: "One systemd service unit per daemon (or one for the agent with --agent)",
		Long: `Write one service unit per daemon: ExecStart with the full argv (the command
resolved through PATH now), WorkingDirectory, Environment (sensitive keys in an
EnvironmentFile beside the unit, mode 0600, only with -o), Restart, RestartSec,
StartLimitBurst/StartLimitIntervalSec derived from max_restarts and min_uptime,
MemoryMax, KillSignal, TimeoutStopSec, KillMode=control-group and append: logs.

Units are named per project: beadsctl-<folder>-<hash>-<daemon>.service, the hash
being of the project's path, so two projects never share a unit. System units
carry User= (--run-as, default the user who runs export, $SUDO_USER under sudo).
Every unit sets PATH: the folders where the command, bd, git and dolt are found
now, then /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin (not the
whole PATH of this shell); a PATH in the daemon's environment wins.

With --agent, one unit (beadsctl-agent-<folder>-<hash>.service) runs
"beadsctl agent --foreground" instead, so beadsctl's own supervision (beads-rpc
health checks, backoff, log rotation) runs under systemd. beadsctl startup
installs and enables such a unit for you.`,
		Example: `  beadsctl export systemd --env production
  sudo beadsctl export systemd --env production -o /etc/systemd/system && sudo systemctl daemon-reload
  beadsctl export systemd --user -o ~/.config/systemd/user && systemctl --user daemon-reload
  beadsctl export systemd --agent --env production`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runExport(c, g, o, args, func(cfg *schema.Config, eo export.Options) (*export.Result, error) {
				runAs := o.runAs
				if runAs == "" && !o.user {
					runAs = unitUser()
				}
				return export.Systemd(cfg, export.SystemdOptions{Options: eo, User: o.user, Prefix: o.prefix, RunAs: runAs,
					AgentOptions: export.AgentOptions{Agent: o.agent, Beadsctl: cli.BeadsctlPath()}})
			})
		},
	}
	systemd.Flags().BoolVar(&o.user, "user", false, "user units (WantedBy=default.target) instead of system units (multi-user.target)")
	systemd.Flags().BoolVar(&o.agent, "agent", false, "one unit running beadsctl agent --foreground instead of one per daemon")
	systemd.Flags().StringVar(&o.prefix, "prefix", "beadsctl-", `unit name prefix, before the project and daemon names ("" names units after the daemons alone)`)
	systemd.Flags().StringVar(&o.runAs, "run-as", "", "User= of system units (default: the user running export, $SUDO_USER under sudo)")

	launchd := &cobra.Command{
		Use:   "launchd [DAEMON]",
		Short: "One launchd property list per daemon (macOS)",
		Long: `Write one property list per daemon, labelled com.beadsctl.<folder>-<hash>.<daemon>
(the hash being of the project's path, so two projects never share a label), with
a PATH that finds the command, bd, git and dolt. With --agent, one property list
(com.beadsctl.agent.<folder>-<hash>) runs "beadsctl agent --foreground" instead;
beadsctl startup installs and loads such a LaunchAgent for you.`,
		Example: `  beadsctl export launchd --env production -o ~/Library/LaunchAgents
  launchctl load ~/Library/LaunchAgents/com.beadsctl.myproject-1a2b3c4d.beads.plist`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runExport(c, g, o, args, func(cfg *schema.Config, eo export.Options) (*export.Result, error) {
				return export.Launchd(cfg, export.LaunchdOptions{Options: eo,
					AgentOptions: export.AgentOptions{Agent: o.agent, Beadsctl: cli.BeadsctlPath()}})
			})
		},
	}
	launchd.Flags().BoolVar(&o.agent, "agent", false, "one property list running beadsctl agent --foreground instead of one per daemon")

	nomad := &cobra.Command{
		Use:   "nomad [DAEMON]",
		Short: "A Nomad job: one group per daemon, each a raw_exec task",
		Example: `  beadsctl export nomad --env production > beads.nomad.hcl && nomad job run beads.nomad.hcl
  beadsctl export nomad --format json --type system --datacenter eu-1 --datacenter eu-2 | nomad job run -json -`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runExport(c, g, o, args, func(cfg *schema.Config, eo export.Options) (*export.Result, error) {
				return export.Nomad(cfg, export.NomadOptions{Options: eo, Format: o.format,
					Datacenters: o.datacenters, Type: o.jobType, Job: o.job})
			})
		},
	}
	nomad.Flags().StringVar(&o.format, "format", "hcl", "hcl (a jobspec) or json (the API form for nomad job run -json)")
	nomad.Flags().StringArrayVar(&o.datacenters, "datacenter", []string{"dc1"}, "datacenter the job may run in (repeatable)")
	nomad.Flags().StringVar(&o.jobType, "type", "service", "service (one allocation per daemon) or system (one per node)")
	nomad.Flags().StringVar(&o.job, "job", "", "job ID (default beadsctl-<project folder name>)")

	c.AddCommand(systemd, launchd, nomad)
	return c
}

// beadsctlPath is this binary's path with links resolved, for units to run.

// unitUser is the user a system unit runs as: the one who called sudo, else
// the one running beadsctl ("" when unknown).
func unitUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" && os.Geteuid() == 0 {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// runExport loads the file, renders it with render, reports warnings, and
// writes the files into -o DIR or prints them.
func runExport(c *cobra.Command, g *cli.Globals, o *exportOptions, args []string,
	render func(*schema.Config, export.Options) (*export.Result, error)) error {
	cfg, err := cli.LoadConfig(c, g)
	if err != nil {
		return err
	}
	// A dolt_server's port that beads.hcl leaves to beadsctl: the applied one.
	if st, err := reconcile.ReadState(reconcile.StatePath(cfg.Dir)); err == nil {
		reconcile.PinDoltPorts(cfg, st, reconcile.DefaultDoltProbes())
	} else {
		reconcile.PinDoltPorts(cfg, &reconcile.State{}, reconcile.DefaultDoltProbes())
	}
	eo := export.Options{LookPath: exec.LookPath}
	if len(args) == 1 {
		eo.Daemon = args[0]
	}
	if o.outDir != "" {
		if eo.OutDir, err = filepath.Abs(o.outDir); err != nil {
			return err
		}
	}
	r, err := render(cfg, eo)
	if err != nil {
		return err
	}
	stderr := c.ErrOrStderr()
	for _, w := range r.Warnings {
		fmt.Fprintf(stderr, "Warning: %s\n", w)
	}
	if o.strict && len(r.Warnings) > 0 {
		fmt.Fprintf(stderr, "Error: --strict: %s not map to the engine; nothing written\n", doOrDoes(len(r.Warnings), "field"))
		return cli.ErrPrinted
	}
	for _, n := range r.Notes {
		fmt.Fprintf(stderr, "Note: %s\n", n)
	}
	if eo.OutDir == "" {
		return export.Print(c.OutOrStdout(), r.Files)
	}
	if err := export.WriteFiles(eo.OutDir, r.Files); err != nil {
		return err
	}
	for _, f := range r.Files {
		fmt.Fprintf(c.OutOrStdout(), "Wrote %s (mode %#o)\n", filepath.Join(eo.OutDir, f.Name), f.Mode)
	}
	return nil
}

// doOrDoes is "1 field does" or "2 fields do".
func doOrDoes(n int, noun string) string {
	if n == 1 {
		return plural.Count(n, noun) + " does"
	}
	return plural.Count(n, noun) + " do"
}
