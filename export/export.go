// Package export renders the resolved desired state of beads.hcl (a
// *schema.Config) into the definitions of other process managers: systemd
// units, launchd property lists and a Nomad job. The engine then supervises the
// daemon itself; what it cannot express is reported as a Warning naming the
// field and what the engine does instead.
//
// The package does no I/O of its own apart from WriteFiles; command
// resolution goes through Options.LookPath. It imports schema only.
package export

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
	"github.com/beadsctl/beadsctl/schema"
)

// Options are common to every engine.
type Options struct {
	// Daemon, when set, exports only that daemon.
	Daemon string
	// LookPath resolves a bare command name to an absolute path at export
	// time (exec.LookPath in the CLI). Nil keeps commands as written.
	LookPath func(name string) (string, error)
	// OutDir is the absolute folder the files will be written to, or "" when
	// they go to stdout. Secrets are only ever written into files under OutDir.
	OutDir string
}

// AgentOptions make an engine run beadsctl's own agent (`beadsctl agent
// --foreground`) instead of each daemon, so beadsctl's supervision (health
// checks, backoff, rotation) runs under the engine.
type AgentOptions struct {
	// Agent emits one definition for the agent instead of one per daemon.
	Agent bool
	// Beadsctl is the absolute path of the beadsctl binary.
	Beadsctl string
	// Restore makes the agent start what the last apply left running (its
	// profile, not the daemons stopped on purpose, nothing after destroy)
	// instead of every daemon of beads.hcl under the export's profile: what
	// `beadsctl startup` installs, so a reboot brings back the applied state.
	Restore bool
}

// agentArgv is the agent's command line.
func agentArgv(r *Result, cfg *schema.Config, o AgentOptions) []string {
	exe := o.Beadsctl
	if exe == "" {
		exe = "beadsctl"
		r.warn("", "agent", "the path of beadsctl is unknown; the command keeps the bare name")
	}
	argv := []string{exe, "agent", "--foreground", "--dir", cfg.Dir}
	switch {
	case o.Restore:
		argv = append(argv, "--restore")
	case cfg.Env != "":
		argv = append(argv, "--env", cfg.Env)
	}
	return argv
}

// maxFileName is the longest file name export writes: 255 bytes less what
// the temporary file that atomicfile writes beside it adds (".NAME.tmp-" and
// 12 hex digits).
const maxFileName = 255 - len("..tmp-") - 12

// fitName is base, shortened when base+suffix would not fit maxFileName: cut,
// then "-" and the first 8 hex digits of the SHA-256 of base, so that the
// name stays stable and two long names stay apart. A daemon name at
// schema.MaxNameLength with a project name before it needs this.
func fitName(base, suffix string) string {
	if len(base)+len(suffix) <= maxFileName {
		return base
	}
	sum := sha256.Sum256([]byte(base))
	return base[:maxFileName-len(suffix)-9] + "-" + hex.EncodeToString(sum[:4])
}

// StandardPath follows the folders found in every unit's PATH: the usual
// system folders, as a login shell has them.
const StandardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// pathTools are the programs a unit's PATH must find: bd and what bd runs.
var pathTools = []string{"bd", "git", "dolt"}

// unitPath is the PATH a unit runs with: the folders of the commands given
// (absolute paths), then those where LookPath finds bd, git and dolt now, then
// StandardPath; each folder once. Not the caller's whole shell PATH: a unit
// must not depend on what one shell had.
func unitPath(opts Options, commands ...string) string {
	var dirs []string
	add := func(d string) {
		if d != "" && filepath.IsAbs(d) && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, c := range commands {
		if filepath.IsAbs(c) {
			add(filepath.Dir(c))
		}
	}
	if opts.LookPath != nil {
		for _, t := range pathTools {
			if p, err := opts.LookPath(t); err == nil && p != "" {
				if abs, err := filepath.Abs(p); err == nil {
					add(filepath.Dir(abs))
				}
			}
		}
	}
	for _, d := range strings.Split(StandardPath, ":") {
		add(d)
	}
	return strings.Join(dirs, ":")
}

// File is one generated file.
type File struct {
	// Name is the base name (beadsctl-<project>-beads.service, com.beadsctl.<project>.beads.plist, ...).
	Name string
	// Mode is the permission the file is written with (0600 for files holding
	// sensitive values, 0644 otherwise).
	Mode fs.FileMode
	Data []byte
}

// Warning is a field of beads.hcl the engine cannot express as beadsctl means it.
type Warning struct {
	Daemon string // "" for the whole export
	Field  string // e.g. "health.check"
	// Message says what the engine will do instead.
	Message string
}

func (w Warning) String() string {
	if w.Daemon == "" {
		return fmt.Sprintf("%s: %s", w.Field, w.Message)
	}
	return fmt.Sprintf("daemon %q: %s: %s", w.Daemon, w.Field, w.Message)
}

// Result is the outcome of an export: files to write or print, warnings about
// unmapped fields (errors under --strict) and notes (where things went).
type Result struct {
	Files    []File
	Warnings []Warning
	Notes    []string
}

func (r *Result) warn(daemon, field, format string, args ...any) {
	r.Warnings = append(r.Warnings, Warning{Daemon: daemon, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// selectDaemons returns the daemons to export: all of them, or the one named.
func selectDaemons(cfg *schema.Config, name string) ([]schema.Daemon, error) {
	if len(cfg.Daemons) == 0 {
		return nil, fmt.Errorf("%s declares no daemon", cfg.Path)
	}
	if name == "" {
		ds := slices.Clone(cfg.Daemons)
		slices.SortFunc(ds, func(a, b schema.Daemon) int { return cmp.Compare(a.Name, b.Name) })
		return ds, nil
	}
	var names []string
	for _, d := range cfg.Daemons {
		if d.Name == name {
			return []schema.Daemon{d}, nil
		}
		names = append(names, d.Name)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("no daemon %q in %s (declared: %s)", name, cfg.Path, strings.Join(names, ", "))
}

// resolveCommand returns the command to put in the engine's definition: an
// absolute path when it can be found, the command as written otherwise (with a
// warning saying what the engine will do with it).
func resolveCommand(r *Result, d *schema.Daemon, opts Options, engineDoes string) string {
	c := d.Command
	switch {
	case filepath.IsAbs(c) || strings.HasPrefix(c, "/"):
		return c
	case strings.ContainsAny(c, `/\`):
		return filepath.Join(d.Dir, c)
	case opts.LookPath == nil:
		return c
	}
	p, err := opts.LookPath(c)
	if err == nil && p != "" {
		if abs, aerr := filepath.Abs(p); aerr == nil {
			p = abs
		}
		return p
	}
	r.warn(d.Name, "command", "%q was not found in PATH at export time; kept as written (%s)", c, engineDoes)
	return c
}

// splitEnv separates the plain environment from the sensitive one, each with
// sorted keys.
func splitEnv(d *schema.Daemon) (plain, secret []string) {
	for k := range d.Environment {
		if slices.Contains(d.Sensitive, k) {
			secret = append(secret, k)
		} else {
			plain = append(plain, k)
		}
	}
	slices.Sort(plain)
	slices.Sort(secret)
	return plain, secret
}

// depNames lists the daemons d depends on: "db, init".
func depNames(d *schema.Daemon) string {
	var names []string
	for _, dep := range d.DependsOn {
		names = append(names, dep.Daemon)
	}
	return strings.Join(names, ", ")
}

// Common warnings: fields no engine here maps.

func warnHealth(r *Result, d *schema.Daemon, engine, instead string) {
	if d.Dolt != nil {
		r.warn(d.Name, "dolt_server", "not mapped: %s does not write .beads/dolt-server.pid/.port at each start, hold dolt-server.lock across restarts, or flush before a stop, so bd commands would not find this server and would start a rival on its data dir; export systemd --agent runs beadsctl's agent, which does", engine)
	}
	switch d.Health.Check {
	case "", "none":
	case "beads-rpc":
		r.warn(d.Name, "health.check", "%q is not mapped: %s has no Beads RPC probe; %s (export systemd --agent keeps beadsctl's own supervision)", d.Health.Check, engine, instead)
	default:
		r.warn(d.Name, "health.check", "%q is not mapped: %s", d.Health.Check, instead)
	}
}

func warnLogs(r *Result, d *schema.Daemon, engine string, mapsRotation bool) {
	if d.Logs.Combined != "" {
		r.warn(d.Name, "logs.combined", "not mapped: %s writes stdout and stderr to their own files only; %s is not written", engine, d.Logs.Combined)
	}
	if d.Logs.Timestamps {
		r.warn(d.Name, "logs.timestamps", "not mapped (nor logs.date_format %q): %s writes the lines as the daemon prints them, without a time prefix", d.Logs.DateFormat, engine)
	}
	rot := d.Logs.Rotate
	if !mapsRotation && (rot.MaxSize > 0 || rot.Keep > 0) {
		r.warn(d.Name, "logs.rotate", "not mapped: %s never rotates the log files; rotate them with logrotate (copytruncate) or newsyslog", engine)
	}
	if mapsRotation && rot.Compress {
		r.warn(d.Name, "logs.rotate.compress", "not mapped: %s keeps rotated files uncompressed", engine)
	}
}

// WriteFiles writes files into dir (created 0755 if missing), each through
// atomicfile (temporary file, fsync, rename, fsync of dir) and with its Mode, so a file holding secrets
// is never readable by others, not even for a moment.
func WriteFiles(dir string, files []File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(dir, f.Name), f.Data, f.Mode); err != nil {
			return err
		}
	}
	return nil
}

// Print writes files to w: a lone file as it is, several each after a
// "==> NAME <==" line (as head(1) does).
func Print(w io.Writer, files []File) error {
	var b bytes.Buffer
	for i, f := range files {
		if len(files) > 1 {
			if i > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "==> %s <==\n", f.Name)
		}
		b.Write(f.Data)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// ceilDiv is the quotient of a and b rounded up.
func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// restartWindow is the derived rate-limit window shared by systemd and Nomad:
// beadsctl errors a daemon after max_restarts restarts whose runs each lasted
// less than min_uptime. Such a crash loop of max_restarts+1 starts takes at
// most (max_restarts+1) × (min_uptime + delay); an engine that counts starts
// (or attempts) within a window stops it in about the same loop.
func restartWindow(r schema.Restart) time.Duration {
	return time.Duration(r.MaxRestarts+1) * (r.MinUptime + r.Delay)
}
