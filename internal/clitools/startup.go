package clitools

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/beadsctl/beadsctl/reconcile"
	"github.com/beadsctl/beadsctl/startup"
	"github.com/beadsctl/beadsctl/supervisor"
)

type startupOptions struct {
	remove, dryRun, json bool
	engine               string
}

func newStartupCmd(g *cli.Globals) *cobra.Command {
	o := &startupOptions{}
	c := &cobra.Command{
		Use: "startup",
		Long: `startup is PM2's "pm2 startup" and "pm2 save" in one: it installs the project's agent for
boot persistence, and the agent then brings back what the last apply left running — the
applied profile, without the daemons stopped on purpose, nothing after destroy — at boot
and after a crash of the agent that the service manager started.

Linux: a systemd user unit, ~/.config/systemd/user/beadsctl-agent-<folder>-<hash>.service
($XDG_CONFIG_HOME honoured), running "beadsctl agent --foreground --restore", enabled with
the link "systemctl --user enable" makes. systemctl --user daemon-reload and enable run only
when systemd's user manager runs ($XDG_RUNTIME_DIR/systemd/private); otherwise startup says
so and the manager reads the unit when it starts. User units start at boot only with linger
(logind's /var/lib/systemd/linger/USER); startup reports it and the command that turns it on.

macOS: a LaunchAgent, ~/Library/LaunchAgents/com.beadsctl.agent.<folder>-<hash>.plist,
loaded with launchctl load -w (a LaunchAgent starts at login).

startup starts nothing now: an agent that runs keeps running. --remove disables and deletes
the unit and stops nothing. status and health say whether boot persistence is on, from the
files (the manager is not asked: "installed, not verified running").`,
		Example: `  beadsctl startup --dry-run    # show the unit and what would be done
  beadsctl startup
  beadsctl startup --remove`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runStartup(c, g, o) },
	}
	f := c.Flags()
	f.BoolVar(&o.remove, "remove", false, "disable and delete the unit (stops nothing)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the unit and what would be done; change nothing")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	f.StringVar(&o.engine, "engine", "", "systemd or launchd (default: launchd on macOS, systemd elsewhere)")
	return c
}

// startupOptionsFor are the real places of the user's units.

func runStartup(c *cobra.Command, g *cli.Globals, o *startupOptions) error {
	if o.engine != "" && o.engine != startup.Systemd && o.engine != startup.Launchd {
		return fmt.Errorf("--engine %q: use systemd or launchd", o.engine)
	}
	ctx, out, dir := c.Context(), c.OutOrStdout(), g.Dir()
	so := cli.StartupOptions(o.engine)
	if o.remove {
		if o.dryRun {
			st := boot.Detect(dir, so)
			fmt.Fprintf(out, "Would disable and remove %s (now: %s). Nothing was changed.\n", orNone(st.Path), st.Summary)
			return nil
		}
		r, err := startup.Remove(ctx, dir, so)
		if err != nil {
			return err
		}
		return printStartup(out, o.json, r, "The agent that runs now (if any) keeps running; nothing starts it at the next boot.")
	}
	st, err := reconcile.ReadState(reconcile.StatePath(dir))
	if err != nil {
		return err
	}
	cfg, err := cli.LoadConfig(c, g)
	if err != nil {
		return err
	}
	if o.dryRun {
		u, warns, err := startup.Render(cfg, so)
		if err != nil {
			return err
		}
		for _, w := range warns {
			fmt.Fprintf(c.ErrOrStderr(), "Warning: %s\n", w)
		}
		fmt.Fprintf(out, "Would write %s:\n\n%s\n", u.Path, u.Data)
		if u.Link != "" {
			fmt.Fprintf(out, "Would enable it: link %s -> %s, then systemctl --user daemon-reload and enable %s if systemd's user manager runs.\n", u.Link, u.Path, u.Name)
		} else {
			fmt.Fprintf(out, "Would load it: launchctl load -w %s, if launchctl is there.\n", u.Path)
		}
		fmt.Fprintln(out, restoreNote(st))
		fmt.Fprintln(out, "Dry run: nothing was changed. Run beadsctl startup to do it.")
		return nil
	}
	r, err := startup.Install(ctx, cfg, so)
	if err != nil {
		if r != nil && !o.json {
			printActions(out, r.Actions)
		}
		return err
	}
	note := restoreNote(st)
	if pid, err := supervisor.AgentLockHolder(dir); err == nil && pid > 0 {
		note += fmt.Sprintf("\nThe agent that runs now (pid %d) keeps running: the unit's agent starts at the next boot (or login).", pid)
	}
	return printStartup(out, o.json, r, note)
}

// restoreNote says what the agent will start at boot.
func restoreNote(st *reconcile.State) string {
	if !st.Applied() {
		return "Nothing was applied here yet: at boot the agent starts nothing until beadsctl apply has run."
	}
	var run, stopped []string
	destroyed := false
	for _, name := range st.Names() {
		d := st.Daemons[name]
		destroyed = destroyed || d.Destroyed
		if d.Stopped {
			stopped = append(stopped, name)
		} else {
			run = append(run, name)
		}
	}
	switch {
	case len(run) == 0 && destroyed:
		return "beadsctl destroy stopped everything: at boot the agent starts nothing until beadsctl apply."
	case len(run) == 0:
		return "Every daemon was stopped on purpose: at boot the agent starts none of them."
	}
	s := fmt.Sprintf("At boot the agent starts what the last apply left running: profile %s, %s", profileOrNone(st.Env), strings.Join(run, ", "))
	if len(stopped) > 0 {
		s += " (not " + strings.Join(stopped, ", ") + ": stopped on purpose)"
	}
	return s + "."
}

func profileOrNone(env string) string {
	if env == "" {
		return "(none)"
	}
	return env
}

func printStartup(w io.Writer, asJSON bool, r *startup.Report, note string) error {
	if asJSON {
		return cli.WriteJSON(w, r)
	}
	printActions(w, r.Actions)
	st := r.Status
	fmt.Fprintf(w, "Boot persistence: %s\n", st.Summary)
	if st.Linger != nil && !*st.Linger && st.Installed {
		fmt.Fprintf(w, "Linger is off for %s (no %s): systemd starts user units at the user's first login, not at boot, and stops them at the last logout. To start at boot: sudo loginctl enable-linger %s\n",
			st.User, "/var/lib/systemd/linger/"+st.User, st.User)
	} else if st.Linger != nil && *st.Linger {
		fmt.Fprintln(w, "Linger is on: the user's units start at boot.")
	}
	if note != "" {
		fmt.Fprintln(w, note)
	}
	return nil
}

func printActions(w io.Writer, actions []startup.Action) {
	for _, a := range actions {
		mark := "✓"
		if !a.Done {
			mark = "•"
		}
		fmt.Fprintf(w, "%s %s\n", mark, a.What)
	}
}

func orNone(s string) string {
	if s == "" {
		return "nothing installed"
	}
	return s
}
