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
// not. It imports export and schema.
package startup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/beadsctl/beadsctl/export"
	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/schema"
)

// Engines.
const (
	Systemd = "systemd"
	Launchd = "launchd"
)

// Options say where the user's units live and how to reach their manager.
// Zero values are the real ones (see defaults).
type Options struct {
	// Engine is Systemd or Launchd ("": launchd on macOS, systemd elsewhere).
	Engine string
	// User is the user the agent runs as (the one running beadsctl).
	User string
	// Home is the user's home folder.
	Home string
	// ConfigHome is XDG_CONFIG_HOME ("": Home/.config); user units live in
	// ConfigHome/systemd/user.
	ConfigHome string
	// RuntimeDir is XDG_RUNTIME_DIR ("": /run/user/UID): systemd's user
	// manager runs when RuntimeDir/systemd/private exists.
	RuntimeDir string
	// LingerDir is logind's linger folder ("": /var/lib/systemd/linger): a
	// file named after the user there lets its units start at boot.
	LingerDir string
	// SystemDir is the folder of system units ("": /etc/systemd/system), where
	// an agent unit of `export systemd --agent -o` may be installed too.
	SystemDir string
	// Beadsctl is the absolute path of the beadsctl binary the unit runs.
	Beadsctl string
	// LookPath finds commands (bd, git, dolt, systemctl, launchctl); nil: exec.LookPath.
	LookPath func(string) (string, error)
	// Run runs a command of the manager (systemctl, launchctl) and returns its
	// output; nil: exec. It is called only when the manager can answer.
	Run func(ctx context.Context, name string, args ...string) (string, error)
}

func (o Options) defaults() Options {
	if o.Engine == "" {
		o.Engine = Systemd
		if runtime.GOOS == "darwin" {
			o.Engine = Launchd
		}
	}
	if o.ConfigHome == "" {
		o.ConfigHome = filepath.Join(o.Home, ".config")
	}
	if o.RuntimeDir == "" {
		o.RuntimeDir = fmt.Sprintf("/run/user/%d", os.Getuid())
	}
	if o.LingerDir == "" {
		o.LingerDir = "/var/lib/systemd/linger"
	}
	if o.SystemDir == "" {
		o.SystemDir = "/etc/systemd/system"
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	if o.Run == nil {
		o.Run = func(ctx context.Context, name string, args ...string) (string, error) {
			out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
			return string(out), err
		}
	}
	return o
}

// Unit is the definition that keeps the agent of a project: its file and,
// for systemd, the link that enables it.
type Unit struct {
	Engine string `json:"engine"`
	// Name is the unit (beadsctl-agent-<project>.service) or the label.
	Name string `json:"name"`
	Path string `json:"path"`
	// Link is the enabling link (systemd: default.target.wants/NAME).
	Link string `json:"link,omitempty"`
	Data []byte `json:"-"`
}

// paths returns the unit of the project in dir without its contents.
func paths(dir string, o Options) Unit {
	if o.Engine == Launchd {
		label := export.AgentLabel(dir)
		return Unit{Engine: Launchd, Name: label, Path: filepath.Join(o.Home, "Library", "LaunchAgents", label+".plist")}
	}
	name := export.AgentUnitName(dir)
	userDir := filepath.Join(o.ConfigHome, "systemd", "user")
	return Unit{Engine: Systemd, Name: name, Path: filepath.Join(userDir, name), Link: filepath.Join(userDir, "default.target.wants", name)}
}

// Render returns the unit for cfg (what --dry-run prints).
func Render(cfg *schema.Config, o Options) (Unit, []export.Warning, error) {
	o = o.defaults()
	u := paths(cfg.Dir, o)
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
	o = o.defaults()
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
	o = o.defaults()
	u := paths(dir, o)
	r := &Report{Unit: u}
	if o.Engine == Launchd {
		if exists(u.Path) {
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
	if exists(u.Path) {
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
	if !exists(filepath.Join(o.RuntimeDir, "systemd", "private")) {
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

// Status is the boot persistence of a project, as its files tell.
type Status struct {
	// On: the agent's unit is installed and enabled (systemd), or installed
	// (launchd: a LaunchAgent is loaded at login).
	On     bool   `json:"on"`
	Engine string `json:"engine"`
	Unit   string `json:"unit"`
	// Path is the unit file found ("" when none is installed).
	Path      string `json:"path,omitempty"`
	Installed bool   `json:"installed"`
	Enabled   bool   `json:"enabled"`
	// System is true for a system unit (SystemDir), false for a user unit.
	System bool `json:"system,omitempty"`
	// Linger is logind's linger of User (systemd user units only): without
	// it user units start at login, not at boot.
	Linger *bool  `json:"linger,omitempty"`
	User   string `json:"user,omitempty"`
	// Problem is what keeps an installed unit from working ("" when none is seen).
	Problem string `json:"problem,omitempty"`
	// Summary is the one line status and health show.
	Summary string `json:"summary"`
	// Hint is the command that turns it on, or fixes it ("" when nothing is to do).
	Hint string `json:"hint,omitempty"`
}

// Detect reads the boot persistence of the project in dir from files: the
// unit, its enabling link, the binary it runs, the user's linger. It runs
// nothing, so a unit that is on is "installed, not verified running".
func Detect(dir string, o Options) Status {
	o = o.defaults()
	u := paths(dir, o)
	st := Status{Engine: u.Engine, Unit: u.Name}
	switch {
	case exists(u.Path):
		st.Path, st.Installed = u.Path, true
		st.Enabled = o.Engine == Launchd || pointsAt(u.Link, u.Path)
	case o.Engine == Systemd && exists(filepath.Join(o.SystemDir, u.Name)):
		st.Path, st.Installed, st.System = filepath.Join(o.SystemDir, u.Name), true, true
		links, _ := filepath.Glob(filepath.Join(o.SystemDir, "*.wants", u.Name))
		st.Enabled = len(links) > 0
	}
	if st.Installed {
		st.Problem = problem(st.Path)
	}
	if o.Engine == Systemd && !st.System && o.User != "" {
		l := exists(filepath.Join(o.LingerDir, o.User))
		st.Linger, st.User = &l, o.User
	}
	st.On = st.Installed && st.Enabled && st.Problem == ""
	kind := "systemd user unit"
	switch {
	case st.System:
		kind = "systemd system unit"
	case o.Engine == Launchd:
		kind = "launchd LaunchAgent"
	}
	switch {
	case !st.Installed:
		st.Summary, st.Hint = "off", "beadsctl startup"
	case st.Problem != "":
		st.Summary, st.Hint = fmt.Sprintf("broken: %s %s: %s", kind, st.Path, st.Problem), "beadsctl startup"
	case !st.Enabled:
		st.Summary, st.Hint = fmt.Sprintf("off: %s %s is installed but not enabled", kind, st.Path), "beadsctl startup"
	default:
		when := "at boot"
		switch {
		case o.Engine == Launchd:
			when = "at login"
		case st.Linger != nil && !*st.Linger:
			when = "at login, not at boot (linger is off)"
			st.Hint = "sudo loginctl enable-linger " + o.User
		}
		st.Summary = fmt.Sprintf("on: %s %s installed and enabled, starts the agent %s; installed, not verified running (the manager is not asked)", kind, st.Path, when)
	}
	return st
}

// problem is what keeps an installed unit from starting the agent: the
// program it runs is gone (beadsctl moved or was rebuilt elsewhere).
func problem(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	prog := ""
	if i := bytes.Index(b, []byte("\nExecStart=")); i >= 0 {
		line, _, _ := strings.Cut(string(b[i+len("\nExecStart="):]), "\n")
		if rest, ok := strings.CutPrefix(line, `"`); ok {
			prog, _, _ = strings.Cut(rest, `"`) // a quoted path; export escapes no more than quotes in one
		} else {
			prog, _, _ = strings.Cut(line, " ")
		}
		prog = strings.ReplaceAll(prog, "%%", "%")
	} else if i := bytes.Index(b, []byte("<key>ProgramArguments</key>")); i >= 0 {
		rest := string(b[i:])
		if j := strings.Index(rest, "<string>"); j >= 0 {
			prog, _, _ = strings.Cut(rest[j+len("<string>"):], "</string>")
		}
	}
	if prog == "" || !filepath.IsAbs(prog) {
		return ""
	}
	if _, err := os.Stat(prog); err != nil {
		return "it runs " + prog + ", which is not there (beadsctl startup writes it again for this beadsctl)"
	}
	return ""
}

func pointsAt(link, target string) bool {
	t, err := os.Readlink(link)
	if err != nil {
		return false
	}
	if !filepath.IsAbs(t) {
		t = filepath.Join(filepath.Dir(link), t)
	}
	return filepath.Clean(t) == filepath.Clean(target)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
