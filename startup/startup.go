// Package startup installs, removes and reports the boot persistence of a
// project's agent, as `pm2 startup` does for PM2: a systemd user unit on
// Linux, a launchd LaunchAgent on macOS, each running `beadsctl agent
// --foreground --restore` (the applied state comes back at boot, and after a
// crash of the agent).
//
// Whether a unit is installed and enabled is read from files only (the unit
// file, the link `systemctl --user enable` makes, logind's linger file):
// systemctl and launchctl are run only when their manager is there to answer,
// through Options.Run, and every report says which commands ran and which did
// not. It imports export and schema; what status and health need (the unit's
// names, Detect) is the leaf internal/boot, aliased here.
package startup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/beadsctl/beadsctl/export"
	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/schema"
)

// Engines.
const (
	Systemd = boot.Systemd
	Launchd = boot.Launchd
)

// Options, Unit and Status are boot's (see there).
type (
	Options = boot.Options
	Unit    = boot.Unit
	Status  = boot.Status
)

// Detect reads the boot persistence of the project in dir (boot.Detect).
func Detect(dir string, o Options) Status { return boot.Detect(dir, o) }

// Render returns the unit for cfg (what --dry-run prints).
func Render(cfg *schema.Config, o Options) (Unit, []export.Warning, error) {
	o = o.Defaults()
	u := boot.Paths(cfg.Dir, o)
	ao := export.AgentOptions{Agent: true, Beadsctl: o.Beadsctl, Restore: true}
	eo := export.Options{LookPath: o.LookPath}
	var r *export.Result
	var err error
	if o.Engine == Launchd {
		r, err = export.Launchd(cfg, export.LaunchdOptions{Options: eo, AgentOptions: ao})
	} else {
		r, err = export.Systemd(cfg, export.SystemdOptions{Options: eo, AgentOptions: ao, User: true})
	}
	if err != nil {
		return u, nil, err
	}
	u.Data = r.Files[0].Data
	return u, r.Warnings, nil
}

// Action is one thing Install or Remove did, or would do, or did not do.
type Action struct {
	// Done is false for a step not taken (the manager was not there).
	Done bool   `json:"done"`
	What string `json:"what"`
}

// Report is what Install or Remove did and the boot persistence after it.
type Report struct {
	Unit    Unit     `json:"unit"`
	Actions []Action `json:"actions"`
	Status  Status   `json:"status"`
}

func (r *Report) did(format string, args ...any) {
	r.Actions = append(r.Actions, Action{Done: true, What: fmt.Sprintf(format, args...)})
}

func (r *Report) skipped(format string, args ...any) {
	r.Actions = append(r.Actions, Action{What: fmt.Sprintf(format, args...)})
}

// Install writes the unit of cfg's project and enables it: for systemd the
// link `systemctl --user enable` makes, then, when the user manager runs,
// systemctl --user daemon-reload and enable; for launchd, launchctl load -w
// when launchctl is there. It starts nothing: an agent that runs keeps
// running, and the manager starts one at the next boot or login.
func Install(ctx context.Context, cfg *schema.Config, o Options) (*Report, error) {
	o = o.Defaults()
	u, _, err := Render(cfg, o)
	if err != nil {
		return nil, err
	}
	r := &Report{Unit: u}
	if err := os.MkdirAll(filepath.Dir(u.Path), 0o755); err != nil {
		return r, err
	}
	if err := atomicfile.Write(u.Path, u.Data, 0o644); err != nil {
		return r, err
	}
	r.did("wrote %s (mode 0644)", u.Path)
	if o.Engine == Launchd {
		if err := launchctl(ctx, o, r, "load", "-w", u.Path); err != nil {
			return r, err
		}
	} else {
		if err := link(u); err != nil {
			return r, err
		}
		r.did("enabled it: linked %s -> %s (what systemctl --user enable does for WantedBy=default.target)", u.Link, u.Path)
		if err := systemctl(ctx, o, r, "daemon-reload"); err != nil {
			return r, err
		}
		if err := systemctl(ctx, o, r, "enable", u.Name); err != nil {
			return r, err
		}
	}
	r.Status = Detect(cfg.Dir, o)
	return r, nil
}

// Remove disables and deletes the unit of the project in dir. It stops
// nothing: the agent that runs keeps running until beadsctl destroy, and
// nothing starts it at the next boot.
func Remove(ctx context.Context, dir string, o Options) (*Report, error) {
	o = o.Defaults()
	u := boot.Paths(dir, o)
	r := &Report{Unit: u}
	if o.Engine == Launchd {
		if boot.Exists(u.Path) {
			if err := os.Remove(u.Path); err != nil {
				return r, err
			}
			r.did("removed %s", u.Path)
			r.skipped("not unloaded: launchd keeps the loaded job until logout; `launchctl remove %s` stops it now, and the agent with its daemons", u.Name)
		} else {
			r.skipped("%s was not installed", u.Path)
		}
		r.Status = Detect(dir, o)
		return r, nil
	}
	if fi, err := os.Lstat(u.Link); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if err := os.Remove(u.Link); err != nil {
			return r, err
		}
		r.did("disabled it: removed the link %s", u.Link)
	}
	if boot.Exists(u.Path) {
		if err := os.Remove(u.Path); err != nil {
			return r, err
		}
		r.did("removed %s", u.Path)
		if err := systemctl(ctx, o, r, "daemon-reload"); err != nil {
			return r, err
		}
	} else {
		r.skipped("%s was not installed", u.Path)
	}
	r.Status = Detect(dir, o)
	return r, nil
}

// link makes u.Link point at u.Path, as systemctl enable does (an absolute
// link), replacing a link that points elsewhere.
func link(u Unit) error {
	if err := os.MkdirAll(filepath.Dir(u.Link), 0o755); err != nil {
		return err
	}
	if t, err := os.Readlink(u.Link); err == nil {
		if t == u.Path {
			return nil
		}
		if err := os.Remove(u.Link); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not a link: %w", u.Link, err)
	}
	return os.Symlink(u.Path, u.Link)
}

// userManager says whether systemd's user manager can be asked, and why not.
func userManager(o Options) (string, bool) {
	bin, err := o.LookPath("systemctl")
	if err != nil {
		return "systemctl is not installed", false
	}
	if !boot.Exists(filepath.Join(o.RuntimeDir, "systemd", "private")) {
		return fmt.Sprintf("systemd's user manager is not running here (no %s); it reads the unit when it starts: at boot with linger, else at the user's login",
			filepath.Join(o.RuntimeDir, "systemd", "private")), false
	}
	return bin, true
}

func systemctl(ctx context.Context, o Options, r *Report, args ...string) error {
	args = append([]string{"--user"}, args...)
	line := "systemctl " + strings.Join(args, " ")
	bin, ok := userManager(o)
	if !ok {
		r.skipped("%s not run: %s", line, bin)
		return nil
	}
	out, err := o.Run(ctx, bin, args...)
	if err != nil {
		return fmt.Errorf("%s: %v: %s", line, err, strings.TrimSpace(out))
	}
	r.did("ran %s", line)
	return nil
}

func launchctl(ctx context.Context, o Options, r *Report, args ...string) error {
	line := "launchctl " + strings.Join(args, " ")
	bin, err := o.LookPath("launchctl")
	if err != nil {
		r.skipped("%s not run: launchctl is not installed (not macOS?); launchd loads the LaunchAgent at the next login", line)
		return nil
	}
	out, err := o.Run(ctx, bin, args...)
	if err != nil {
		return fmt.Errorf("%s: %v: %s", line, err, strings.TrimSpace(out))
	}
	r.did("ran %s", line)
	return nil
}
