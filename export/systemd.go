package export

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/schema"
)

// SystemdOptions configure Systemd.
type SystemdOptions struct {
	Options
	AgentOptions
	// User makes user units (systemctl --user): WantedBy=default.target and
	// the user unit folder; otherwise system units for multi-user.target.
	User bool
	// Prefix goes before the project and daemon names in unit names
	// ("beadsctl-" gives beadsctl-<project>-beads.service, see ProjectID;
	// "" gives beads.service).
	Prefix string
	// RunAs is the user a system unit runs as (User=); "" leaves it out, with
	// a warning: systemd would run the daemon as root.
	RunAs string
}

// Systemd renders one service unit per daemon, plus an EnvironmentFile (0600)
// per daemon with sensitive keys when OutDir is set.
func Systemd(cfg *schema.Config, opts SystemdOptions) (*Result, error) {
	if opts.Agent {
		return systemdAgent(cfg, opts)
	}
	ds, err := selectDaemons(cfg, opts.Daemon)
	if err != nil {
		return nil, err
	}
	r := &Result{}
	for i := range ds {
		d := &ds[i]
		base := systemdBase(cfg, opts, d.Name)
		unit := base + ".service"
		var b unitWriter
		b.header(unit, cfg, "export systemd")
		b.section("Unit")
		b.set("Description", fmt.Sprintf("beadsctl daemon %s (%s)", d.Name, sdPath(cfg.Dir)))
		b.set("After", "network.target")
		systemdDeps(&b, r, cfg, opts, d)
		systemdStartLimit(&b, d, r)

		b.section("Service")
		if d.Restart.Policy == "once" {
			b.set("Type", "oneshot") // active once it exited 0: what completed_successfully waits for
			b.set("RemainAfterExit", "yes")
		} else {
			b.set("Type", "simple")
		}
		argv := d.Argv()
		argv[0] = resolveCommand(r, d, opts.Options, "systemd looks a bare name up in its own fixed search path, /usr/local/bin:/usr/bin:/bin among others")
		b.set("ExecStart", execLine(argv))
		b.set("WorkingDirectory", sdPath(d.Dir))
		systemdUser(&b, r, opts, d.Name)
		if _, ok := d.Environment["PATH"]; !ok {
			b.set("Environment", sdQuote("PATH="+unitPath(opts.Options, argv[0]), false))
		}
		plain, secret := splitEnv(d)
		for _, k := range plain {
			b.set("Environment", sdQuote(k+"="+d.Environment[k], false))
		}
		if len(secret) > 0 {
			envName := base + ".env"
			if opts.OutDir != "" {
				envPath := filepath.Join(opts.OutDir, envName)
				b.comment("Sensitive keys (" + strings.Join(secret, ", ") + ") are kept out of the unit, in a file only its owner can read.")
				b.set("EnvironmentFile", sdPath(envPath))
				r.Files = append(r.Files, File{Name: envName, Mode: 0o600, Data: envFile(d, secret)})
				r.note("daemon %q: sensitive values (%s) written to %s (mode 0600)", d.Name, strings.Join(secret, ", "), envPath)
			} else {
				envPath := filepath.Join(systemdUnitDir(opts.User), envName)
				b.comment("Sensitive keys (" + strings.Join(secret, ", ") + ") are not printed: `beadsctl export systemd -o DIR` writes them to DIR/" + envName + " (mode 0600).")
				b.set("EnvironmentFile", envPath)
				r.warn(d.Name, "sensitive", "values of %s are not printed; run with -o DIR to write them to DIR/%s (mode 0600), or create %s yourself", strings.Join(secret, ", "), envName, envPath)
			}
		}
		systemdRestart(&b, d, r)
		if d.Limits.Memory > 0 {
			b.set("MemoryMax", strconv.FormatUint(d.Limits.Memory, 10))
			r.warn(d.Name, "limits.memory", "enforced by the kernel as MemoryMax: over the limit the cgroup is OOM-killed (SIGKILL, no graceful stop) and Restart= applies, instead of beadsctl's graceful restart checked every %s", d.Limits.CheckInterval)
		}
		b.set("KillMode", "control-group")
		if d.Stop.Signal != "" {
			b.set("KillSignal", d.Stop.Signal)
		}
		if d.Stop.Timeout > 0 {
			b.set("TimeoutStopSec", sdDuration(d.Stop.Timeout))
		}
		if d.Logs.Out != "" {
			b.set("StandardOutput", "append:"+sdPath(d.Logs.Out))
		}
		if d.Logs.Error != "" {
			b.set("StandardError", "append:"+sdPath(d.Logs.Error))
		}
		warnLogs(r, d, "systemd", false)
		warnHealth(r, d, "systemd", "systemd restarts the daemon only when its process exits")

		b.section("Install")
		b.set("WantedBy", systemdTarget(opts.User))
		r.Files = append(r.Files, File{Name: unit, Mode: 0o644, Data: []byte(b.String())})
	}
	// Units first, then their environment files, each group in daemon order.
	slices.SortStableFunc(r.Files, func(a, b File) int {
		return strings.Compare(filepath.Ext(b.Name), filepath.Ext(a.Name))
	})
	return r, nil
}

func systemdAgent(cfg *schema.Config, opts SystemdOptions) (*Result, error) {
	r := &Result{}
	unit := boot.AgentUnitName(cfg.Dir)
	var b unitWriter
	how := "export systemd --agent"
	if opts.Restore {
		how = "startup"
	}
	b.header(unit, cfg, how)
	b.comment("beadsctl's own agent supervises every daemon of the file (health checks, backoff,")
	b.comment("log rotation); systemd supervises the agent.")
	if opts.Restore {
		b.comment("At boot it starts what the last apply left running: the applied profile, without the")
		b.comment("daemons stopped on purpose, and nothing after beadsctl destroy.")
	}
	b.section("Unit")
	b.set("Description", "beadsctl agent for "+sdPath(cfg.Dir))
	b.set("After", "network.target")
	b.section("Service")
	b.set("Type", "simple")
	argv := agentArgv(r, cfg, opts.AgentOptions)
	b.set("ExecStart", execLine(argv))
	b.set("WorkingDirectory", sdPath(cfg.Dir))
	systemdUser(&b, r, opts, "")
	b.set("Environment", sdQuote("PATH="+unitPath(opts.Options, agentCommands(argv[0], cfg, opts.Options)...), false))
	b.set("Restart", "on-failure")
	b.set("RestartSec", "5s")
	// The agent stops its daemons itself, each with its own signal and
	// timeout; systemd signals only the agent, then kills what is left.
	b.set("KillMode", "mixed")
	b.set("KillSignal", "SIGTERM")
	var longest time.Duration
	for _, d := range cfg.Daemons {
		longest = max(longest, d.Stop.Timeout)
	}
	b.set("TimeoutStopSec", sdDuration(longest+10*time.Second))
	b.section("Install")
	b.set("WantedBy", systemdTarget(opts.User))
	r.Files = append(r.Files, File{Name: unit, Mode: 0o644, Data: []byte(b.String())})
	return r, nil
}

// agentCommands are the commands whose folders the agent's PATH holds:
// beadsctl's and each daemon's, resolved as a per-daemon export would.
func agentCommands(beadsctl string, cfg *schema.Config, opts Options) []string {
	cmds := []string{beadsctl}
	for i := range cfg.Daemons {
		d := &cfg.Daemons[i]
		var quiet Result // a command not found now is the agent's to report at start
		cmds = append(cmds, resolveCommand(&quiet, d, opts, ""))
	}
	return cmds
}

// systemdUser writes User= for a system unit.
func systemdUser(b *unitWriter, r *Result, opts SystemdOptions, daemon string) {
	switch {
	case opts.User:
	case opts.RunAs != "":
		b.set("User", opts.RunAs)
	default:
		r.warn(daemon, "user", "no User= (the user to run as is unknown): systemd runs a system unit as root")
	}
}

// systemdStartLimit writes StartLimitBurst/StartLimitIntervalSec ([Unit]).
func systemdStartLimit(b *unitWriter, d *schema.Daemon, r *Result) {
	rs := d.Restart
	if rs.Policy == "never" {
		return
	}
	if rs.MaxRestarts <= 0 {
		b.comment("restart.max_restarts = 0: no limit on restarts.")
		b.set("StartLimitIntervalSec", "0")
		return
	}
	win := restartWindow(rs)
	b.comment(fmt.Sprintf("From restart.max_restarts = %d and min_uptime = %s: beadsctl gives up (errored) after", rs.MaxRestarts, rs.MinUptime))
	b.comment(fmt.Sprintf("%d restarts whose runs each lasted less than min_uptime. systemd counts starts", rs.MaxRestarts))
	b.comment(fmt.Sprintf("instead: %d starts (the first + %d restarts) within (%d + 1) x (min_uptime %s + delay %s) = %s,", rs.MaxRestarts+1, rs.MaxRestarts, rs.MaxRestarts, rs.MinUptime, rs.Delay, win))
	b.comment("the time such a crash loop takes, stop the unit (failed).")
	b.set("StartLimitBurst", strconv.Itoa(rs.MaxRestarts+1))
	b.set("StartLimitIntervalSec", sdDuration(win))
	r.warn(d.Name, "restart.min_uptime", "not mapped as such: systemd counts every start within StartLimitIntervalSec=%s (StartLimitBurst=%d), not only runs shorter than %s", sdDuration(win), rs.MaxRestarts+1, rs.MinUptime)
}

func systemdRestart(b *unitWriter, d *schema.Daemon, r *Result) {
	rs := d.Restart
	switch rs.Policy {
	case "never":
		b.set("Restart", "no")
		return
	case "on-failure", "once":
		b.set("Restart", "on-failure")
	default:
		b.set("Restart", "always")
	}
	b.set("RestartSec", sdDuration(rs.Delay))
	if rs.Backoff == "exponential" {
		r.warn(d.Name, "restart.backoff", "\"exponential\" (up to max_delay %s) is not mapped: systemd waits a constant RestartSec=%s (systemd 254 and later offer RestartSteps= and RestartMaxDelaySec=)", rs.MaxDelay, sdDuration(rs.Delay))
	}
}

// systemdBase is the unit name (without .service) of the daemon name.
func systemdBase(cfg *schema.Config, opts SystemdOptions, name string) string {
	base := unitEscape(name)
	if opts.Prefix != "" {
		base = opts.Prefix + boot.ProjectID(cfg.Dir) + "-" + base
	}
	return fitName(base, ".service")
}

// systemdDeps maps depends_on: After= and Requires= (a dependency that
// fails stops its dependents' start, as beadsctl's agent does), BindsTo=
// and PartOf= for on_restart = "restart". systemd has no health checks: a
// "healthy" dependency is waited for as started, which the warning says.
func systemdDeps(b *unitWriter, r *Result, cfg *schema.Config, opts SystemdOptions, d *schema.Daemon) {
	for _, dep := range d.DependsOn {
		u := systemdBase(cfg, opts, dep.Daemon) + ".service"
		b.set("After", u)
		b.set("Requires", u)
		if dep.OnRestart == "restart" {
			b.set("BindsTo", u)
			b.set("PartOf", u)
		}
		switch dep.Condition {
		case "healthy":
			r.warn(d.Name, "depends_on."+dep.Daemon, "condition \"healthy\" is mapped as started (After=, Requires=): systemd has no health checks, so it starts %s once %s's process runs, not once its check passes; export systemd --agent keeps beadsctl's ordering", d.Name, dep.Daemon)
		case "completed_successfully":
			// The dependency is Type=oneshot with RemainAfterExit=yes: systemd
			// starts the dependent once it exited 0.
		}
	}
}

func systemdTarget(user bool) string {
	if user {
		return "default.target"
	}
	return "multi-user.target"
}

func systemdUnitDir(user bool) string {
	if user {
		return "%h/.config/systemd/user"
	}
	return "/etc/systemd/system"
}

// unitWriter builds a unit file.
type unitWriter struct{ strings.Builder }

func (b *unitWriter) header(unit string, cfg *schema.Config, how string) {
	fmt.Fprintf(b, "# %s: generated by `beadsctl %s` from %s (%s).\n", unit, how, cfg.Path, profileNote(cfg, how))
	fmt.Fprintf(b, "# Do not edit: %s.\n", regenerate(how))
}

// profileNote says which profile the file was made for.
func profileNote(cfg *schema.Config, how string) string {
	switch {
	case how == "startup":
		return "the profile of the last apply"
	case cfg.Env != "":
		return fmt.Sprintf("env %q", cfg.Env)
	}
	return "no env profile"
}

// regenerate says how to change a generated file.
func regenerate(how string) string {
	if how == "startup" {
		return "run beadsctl startup again (it follows beads.hcl and the applied state by itself)"
	}
	return "change beads.hcl and export again"
}

func (b *unitWriter) section(name string) { fmt.Fprintf(b, "\n[%s]\n", name) }

func (b *unitWriter) comment(text string) { fmt.Fprintf(b, "# %s\n", text) }

func (b *unitWriter) set(key, value string) { fmt.Fprintf(b, "%s=%s\n", key, value) }

// execLine quotes argv for ExecStart=: each word bare when it is made of safe
// characters, double-quoted with C escapes otherwise; "$" is doubled (systemd
// expands $VAR in ExecStart) and "%" too (specifiers).
func execLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = sdQuote(a, true)
	}
	return strings.Join(words, " ")
}

func isSafeWord(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("_-./:=,+@", c):
		default:
			return false
		}
	}
	return true
}

// sdQuote returns s as one systemd word.
func sdQuote(s string, dollar bool) string {
	if isSafeWord(s) {
		return s
	}
	return `"` + sdEscape(s, dollar) + `"`
}

// sdEscape escapes s for a systemd value: C escapes for backslash, quotes and
// control characters, "%%" for "%", and "$$" for "$" when dollar is set.
func sdEscape(s string, dollar bool) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '"':
			b.WriteString(`\"`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		case c == '%':
			b.WriteString("%%")
		case c == '$' && dollar:
			b.WriteString("$$")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// sdPath escapes a path for WorkingDirectory=, EnvironmentFile= and append:,
// which expand specifiers but take no C escapes.
func sdPath(p string) string { return strings.ReplaceAll(p, "%", "%%") }

// sdDuration formats d as a systemd time span in whole units.
func sdDuration(d time.Duration) string {
	switch {
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return fmt.Sprintf("%dus", (d+time.Microsecond-1)/time.Microsecond)
}

// unitEscape makes name valid in a unit name, as systemd-escape does.
func unitEscape(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == ':', c == '-':
			b.WriteByte(c)
		case c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// envFile renders KEY=VALUE lines for EnvironmentFile=: single-quoted (taken
// literally) unless the value holds a single quote, then double-quoted with
// backslash escapes.
func envFile(d *schema.Daemon, keys []string) []byte {
	var b strings.Builder
	b.WriteString("# Sensitive environment of daemon " + strconv.Quote(d.Name) + ", generated by beadsctl. Keep it 0600.\n")
	for _, k := range keys {
		v := d.Environment[k]
		if !strings.Contains(v, "'") {
			fmt.Fprintf(&b, "%s='%s'\n", k, v)
			continue
		}
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, r.Replace(v))
	}
	return []byte(b.String())
}
