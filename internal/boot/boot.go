// Package boot names a project's agent unit and reads, from files only, whether
// boot persistence is on (the unit file, the link `systemctl --user enable`
// makes, logind's linger file, the binary the unit runs). It runs nothing.
// Installing and removing units is package startup's; this leaf is what
// status and health need, without the renderers (export) that startup
// imports.
package boot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Engines.
const (
	Systemd = "systemd"
	Launchd = "launchd"
)

// Options say where the user's units live and how to reach their manager.
// Zero values are the real ones (see Defaults).
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

// Defaults fills the zero fields of o with the real values.
func (o Options) Defaults() Options {
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

// Paths returns the unit of the project in dir without its contents.
func Paths(dir string, o Options) Unit {
	if o.Engine == Launchd {
		label := AgentLabel(dir)
		return Unit{Engine: Launchd, Name: label, Path: filepath.Join(o.Home, "Library", "LaunchAgents", label+".plist")}
	}
	name := AgentUnitName(dir)
	userDir := filepath.Join(o.ConfigHome, "systemd", "user")
	return Unit{Engine: Systemd, Name: name, Path: filepath.Join(userDir, name), Link: filepath.Join(userDir, "default.target.wants", name)}
}

// ProjectID names the project in the folder dir (absolute) in unit names and
// labels: the folder's base name (letters, digits, '-' and '_'; anything else
// as '-'; at most 32 characters) and the first 8 hex digits of the SHA-256 of
// the cleaned path. Two projects never share a unit, and the same folder
// always gets the same name.
func ProjectID(dir string) string {
	dir = filepath.Clean(dir)
	sum := sha256.Sum256([]byte(dir))
	var b strings.Builder
	for _, c := range filepath.Base(dir) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 32 {
			break
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		name = "project"
	}
	return name + "-" + hex.EncodeToString(sum[:4])
}

// AgentUnitName is the systemd unit of the project's agent.
func AgentUnitName(dir string) string { return "beadsctl-agent-" + ProjectID(dir) + ".service" }

// AgentLabel is the launchd label of the project's agent.
func AgentLabel(dir string) string { return "com.beadsctl.agent." + ProjectID(dir) }

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
	o = o.Defaults()
	u := Paths(dir, o)
	st := Status{Engine: u.Engine, Unit: u.Name}
	switch {
	case Exists(u.Path):
		st.Path, st.Installed = u.Path, true
		st.Enabled = o.Engine == Launchd || pointsAt(u.Link, u.Path)
	case o.Engine == Systemd && Exists(filepath.Join(o.SystemDir, u.Name)):
		st.Path, st.Installed, st.System = filepath.Join(o.SystemDir, u.Name), true, true
		links, _ := filepath.Glob(filepath.Join(o.SystemDir, "*.wants", u.Name))
		st.Enabled = len(links) > 0
	}
	if st.Installed {
		st.Problem = problem(st.Path)
	}
	if o.Engine == Systemd && !st.System && o.User != "" {
		l := Exists(filepath.Join(o.LingerDir, o.User))
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

// Exists reports whether p is there (any kind of file).
func Exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
