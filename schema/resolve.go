package schema

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/beadsctl/beadsctl/internal/logpath"
)

// Defaults, in one place. Every daemon starts from these; the file overrides
// them field by field, then a profile overrides the file.
//
//	dir                   the folder of beads.hcl
//	restart.policy        "always"      (always | on-failure | never | once)
//	restart.delay         "0s"          (a bare number is milliseconds, as PM2's restart_delay)
//	restart.backoff       "constant"    (constant | exponential)
//	restart.max_delay     "1m", or delay when that is longer
//	restart.max_restarts  10            (unstable runs in a row before "errored"; 0 = unlimited)
//	restart.min_uptime    "10s"         (a shorter run is unstable; bare number: milliseconds)
//	limits.memory         none          (a size: "200M", "1G", "512K", bytes)
//	limits.check_interval "1s"          (at least 100ms)
//	stop.signal           "SIGTERM"
//	stop.timeout          "5s"          (then SIGKILL to the process group; bare number: milliseconds)
//	logs.out              ".beadsctl/logs/<name>.out.log"  ("" writes no file)
//	logs.error            ".beadsctl/logs/<name>.err.log"  ("" writes no file)
//	logs.combined         none
//	logs.timestamps       false
//	logs.date_format      "YYYY-MM-DD HH:mm:ss Z"
//	logs.rotate.max_size  none (no rotation); keep 0 keeps every rotated file; compress false
//	health.check          "beads-rpc" for bd daemons (Daemon.IsBeads), "none" otherwise
//	health.interval       "30s"
//	health.timeout        "5s"
//	health.failures       3
//	depends_on.condition  "started"     (started | healthy | completed_successfully)
//	depends_on.on_restart "ignore"      (ignore | restart)
//
// Relative paths in dir and logs resolve against the folder of beads.hcl, not
// against dir: a log path means the same file whatever the daemon's workspace.
const (
	DefaultPolicy         = "always"
	DefaultDelay          = 0 * time.Second
	DefaultBackoff        = "constant"
	DefaultMaxDelay       = time.Minute
	DefaultMaxRestarts    = 10
	DefaultMinUptime      = 10 * time.Second
	DefaultCheckInterval  = time.Second
	MinCheckInterval      = 100 * time.Millisecond
	DefaultStopSignal     = "SIGTERM"
	DefaultStopTimeout    = 5 * time.Second
	DefaultLogDir         = ".beadsctl/logs"
	DefaultDateFormat     = "YYYY-MM-DD HH:mm:ss Z"
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 5 * time.Second
	DefaultHealthFailures = 3
)

var (
	policies     = []string{"always", "on-failure", "never", "once"}
	backoffs     = []string{"constant", "exponential"}
	healthChecks = []string{"beads-rpc", "exec", "tcp", "sql", "http", "none"}
)

// sensitiveUnset marks the warning for a sensitive key that is not in the
// environment; ValidateAll keeps it only when every profile gives it.
type sensitiveUnset struct{}

// resolver turns the merged fields of one daemon into a Daemon, collecting
// diagnostics at each field's expression.
type resolver struct {
	l     *layer
	home  string // the user's home folder (HOME of the environ given to Load)
	decl  hcl.Range
	diags hcl.Diagnostics
}

func (r *resolver) add(sev hcl.DiagnosticSeverity, subject hcl.Range, summary, detail string) {
	r.diags = append(r.diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: subject.Ptr()})
}

// at is the range to blame for path: its expression, else its block, else the daemon.
func (r *resolver) at(path string) hcl.Range {
	if f := r.l.fields[path]; f != nil {
		return f.rng
	}
	for p := path; strings.Contains(p, "."); {
		p = p[:strings.LastIndex(p, ".")]
		if rng, ok := r.l.blocks[p]; ok {
			return rng
		}
	}
	return r.decl
}

func (r *resolver) str(path string, dst *string) *field {
	f := r.l.fields[path]
	if f != nil {
		*dst = f.val.AsString()
	}
	return f
}

func (r *resolver) strs(path string) ([]string, *field) {
	f := r.l.fields[path]
	if f == nil {
		return nil, nil
	}
	out := []string{}
	for _, v := range f.val.AsValueSlice() {
		out = append(out, v.AsString())
	}
	return out, f
}

func (r *resolver) boolean(path string, dst *bool) {
	if f := r.l.fields[path]; f != nil {
		*dst = f.val.True()
	}
}

func (r *resolver) integer(path string, dst *int) *field {
	f := r.l.fields[path]
	if f != nil {
		n, _ := f.val.AsBigFloat().Int64()
		*dst = int(n)
	}
	return f
}

// pm2Millis are the durations that came from PM2 (restart_delay, min_uptime,
// kill_timeout): there a bare whole number counts milliseconds, as in PM2.
var pm2Millis = map[string]bool{"restart.delay": true, "restart.min_uptime": true, "stop.timeout": true}

func (r *resolver) duration(path string, dst *time.Duration, min time.Duration) *field {
	f := r.l.fields[path]
	if f == nil {
		return nil
	}
	s := strings.TrimSpace(f.val.AsString())
	if pm2Millis[path] && s != "" && strings.Trim(s, "0123456789") == "" {
		s += "ms"
	}
	d, err := ParseDuration(s)
	if err != nil {
		r.add(hcl.DiagError, f.rng, "Invalid duration", fmt.Sprintf("%s: %s.", path, err))
		return nil
	}
	if d < min {
		r.add(hcl.DiagError, f.rng, "Duration too short", fmt.Sprintf("%s must be at least %s; %q is shorter.", path, min, f.val.AsString()))
		return nil
	}
	*dst = d
	return f
}

func (r *resolver) size(path string, dst *uint64) *field {
	f := r.l.fields[path]
	if f == nil {
		return nil
	}
	if f.val.Type() == cty.Number {
		n, _ := f.val.AsBigFloat().Uint64()
		*dst = n
		return f
	}
	n, err := ParseSize(f.val.AsString())
	if err != nil {
		r.add(hcl.DiagError, f.rng, "Invalid size", fmt.Sprintf("%s: %s.", path, err))
		return nil
	}
	*dst = n
	return f
}

func (r *resolver) enum(path string, dst *string, allowed []string) *field {
	f := r.l.fields[path]
	if f == nil {
		return nil
	}
	s := f.val.AsString()
	for _, a := range allowed {
		if s == a {
			*dst = s
			return f
		}
	}
	r.add(hcl.DiagError, f.rng, "Invalid value for "+path,
		fmt.Sprintf("%q is not one of %s.%s", s, quoteList(allowed), didYouMean(s, allowed)))
	return nil
}

// resolve builds the Daemon called name from its merged fields, with every
// default filled in. root is the absolute folder of beads.hcl.
func resolve(name string, l *layer, decl hcl.Range, root, home string) (Daemon, hcl.Diagnostics) {
	r := &resolver{l: l, decl: decl, home: home}
	d := Daemon{Name: name, Root: root, DeclRange: decl, Args: []string{}}

	switch f := r.str("command", &d.Command); {
	case f == nil && !l.failed["command"] && !hasBlock(l, "dolt_server"):
		r.add(hcl.DiagError, decl, "Missing command",
			fmt.Sprintf("daemon %q needs command = \"...\": the program to run (its arguments go in args = [...]).", name))
	case f != nil && strings.TrimSpace(d.Command) == "":
		r.add(hcl.DiagError, f.rng, "Empty command", "command must name the program to run.")
	}
	if args, _ := r.strs("args"); args != nil {
		d.Args = args
	}
	if f := r.duration("interval", &d.Interval, 0); f != nil && d.Command != "" && !d.IsBeads() {
		r.add(hcl.DiagWarning, f.rng, "interval has no effect",
			fmt.Sprintf("interval is passed as --interval only to bd daemons (bd daemon ...); daemon %q runs %q. Put the flag in args if the program takes one.", name, d.Command))
	}

	d.Dir = root
	if f := r.str("dir", &d.Dir); f != nil {
		if strings.TrimSpace(d.Dir) == "" {
			r.add(hcl.DiagError, f.rng, "Empty dir", `dir must name a folder; leave it out for the folder of beads.hcl, or write ".".`)
		}
		d.Dir = absPath(root, d.Dir)
	}

	// Env files first, the explicit environment over them: explicit wins.
	if fromFiles := r.envFiles(&d); len(fromFiles) > 0 {
		d.Environment = fromFiles
	}
	if f := r.l.fields["environment"]; f != nil {
		if d.Environment == nil {
			d.Environment = map[string]string{}
		}
		for k, v := range f.val.AsValueMap() {
			d.Environment[k] = v.AsString()
			delete(d.EnvFrom, k)
		}
	}
	r.sensitive(&d)

	r.restart(&d.Restart)

	d.Limits.CheckInterval = DefaultCheckInterval
	if f := r.size("limits.memory", &d.Limits.Memory); f != nil && d.Limits.Memory > 0 && d.Limits.Memory < 1<<20 {
		r.add(hcl.DiagWarning, f.rng, "Very small memory limit",
			fmt.Sprintf("limits.memory is %d bytes, less than 1M: the daemon would be restarted as soon as it starts. Sizes without a unit are bytes; did you mean \"%dM\"?", d.Limits.Memory, d.Limits.Memory))
	}
	r.duration("limits.check_interval", &d.Limits.CheckInterval, MinCheckInterval)

	d.Stop = Stop{Signal: DefaultStopSignal, Timeout: DefaultStopTimeout}
	if f := r.l.fields["stop.signal"]; f != nil {
		sig, err := ParseSignal(f.val.AsString())
		if err != nil {
			s := strings.ToUpper(f.val.AsString())
			if !strings.HasPrefix(s, "SIG") {
				s = "SIG" + s
			}
			r.add(hcl.DiagError, f.rng, "Invalid signal", fmt.Sprintf("stop.signal: %s.%s", err, didYouMean(s, signals)))
		} else {
			d.Stop.Signal = sig
		}
	}
	r.duration("stop.timeout", &d.Stop.Timeout, time.Millisecond)

	r.dolt(&d)
	r.logs(&d)
	r.health(&d)
	r.dependsOn(&d)
	return d, r.diags
}

func (r *resolver) sensitive(d *Daemon) {
	keys, f := r.strs("sensitive")
	if f == nil {
		return
	}
	seen := map[string]bool{}
	for i, k := range keys {
		rng := f.rng
		if len(f.elem) == len(keys) {
			rng = f.elem[i]
		}
		if _, ok := d.Environment[k]; !ok {
			r.diags = append(r.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Sensitive key not in environment",
				Detail:   fmt.Sprintf("%q is marked sensitive but daemon %q sets no such environment variable.", k, d.Name),
				Subject:  rng.Ptr(),
				Extra:    sensitiveUnset{},
			})
		}
		if !seen[k] {
			seen[k] = true
			d.Sensitive = append(d.Sensitive, k)
		}
	}
	sort.Strings(d.Sensitive)
}

func (r *resolver) restart(rs *Restart) {
	*rs = Restart{
		Policy: DefaultPolicy, Delay: DefaultDelay, Backoff: DefaultBackoff,
		MaxDelay: DefaultMaxDelay, MaxRestarts: DefaultMaxRestarts, MinUptime: DefaultMinUptime,
	}
	r.enum("restart.policy", &rs.Policy, policies)
	r.duration("restart.delay", &rs.Delay, 0)
	r.enum("restart.backoff", &rs.Backoff, backoffs)
	if f := r.duration("restart.max_delay", &rs.MaxDelay, 0); f == nil {
		rs.MaxDelay = max(rs.MaxDelay, rs.Delay)
	} else if rs.MaxDelay < rs.Delay {
		r.add(hcl.DiagError, f.rng, "max_delay shorter than delay",
			fmt.Sprintf("restart.max_delay (%s) caps the delay between restarts, so it cannot be shorter than restart.delay (%s).", rs.MaxDelay, rs.Delay))
	}
	maxf := r.integer("restart.max_restarts", &rs.MaxRestarts)
	r.duration("restart.min_uptime", &rs.MinUptime, 0)
	if maxf != nil && rs.MaxRestarts == 0 && rs.Delay == 0 && rs.Policy != "never" {
		r.add(hcl.DiagWarning, maxf.rng, "Unlimited restarts without a delay",
			"restart.max_restarts = 0 restarts a crashing process forever, and restart.delay is 0: a command that "+
				"exits at once is restarted as fast as the supervisor's floor allows (up to once a second), for ever. "+
				`Set restart.delay (say "5s", with backoff = "exponential") or a max_restarts above 0.`)
	}
}

func (r *resolver) logs(d *Daemon) {
	lg := &d.Logs
	lg.Out = filepath.Join(DefaultLogDir, d.Name+".out.log")
	lg.Error = filepath.Join(DefaultLogDir, d.Name+".err.log")
	lg.DateFormat = DefaultDateFormat
	for _, p := range []struct {
		path string
		dst  *string
	}{{"logs.out", &lg.Out}, {"logs.error", &lg.Error}, {"logs.combined", &lg.Combined}} {
		if f := r.str(p.path, p.dst); f != nil && *p.dst != "" && strings.TrimSpace(*p.dst) == "" {
			r.add(hcl.DiagError, f.rng, "Blank log path", p.path+` is only spaces; write "" to write no file.`)
		}
		if *p.dst != "" {
			*p.dst = absPath(d.Root, *p.dst)
			r.regularLogFile(p.path, *p.dst)
		}
	}
	r.boolean("logs.timestamps", &lg.Timestamps)
	if f := r.str("logs.date_format", &lg.DateFormat); f != nil && strings.TrimSpace(lg.DateFormat) == "" {
		r.add(hcl.DiagError, f.rng, "Empty date_format", `logs.date_format needs a format such as "YYYY-MM-DD HH:mm:ss Z" (PM2's tokens) or "2006-01-02T15:04:05Z07:00" (a Go layout).`)
	}
	lg.GoLayout = MomentToGoLayout(lg.DateFormat)
	r.size("logs.rotate.max_size", &lg.Rotate.MaxSize)
	r.integer("logs.rotate.keep", &lg.Rotate.Keep)
	r.boolean("logs.rotate.compress", &lg.Rotate.Compress)

	// One file for everything: out = error = combined is the combined file alone.
	if lg.Out != "" && lg.Out == lg.Error && lg.Out == lg.Combined {
		lg.Out, lg.Error = "", ""
	}
	switch {
	case lg.Out != "" && lg.Out == lg.Error:
		r.add(hcl.DiagError, r.at("logs.error"), "Log files collide",
			fmt.Sprintf("logs.out and logs.error are the same file %q. To write both streams to one file, make it the combined log: combined = %q with out = \"\" and error = \"\".", lg.Out, lg.Out))
	case lg.Combined != "" && lg.Combined == lg.Out:
		r.add(hcl.DiagError, r.at("logs.combined"), "Log files collide",
			fmt.Sprintf("logs.combined and logs.out are the same file %q: every line of stdout would be written to it twice.", lg.Combined))
	case lg.Combined != "" && lg.Combined == lg.Error:
		r.add(hcl.DiagError, r.at("logs.combined"), "Log files collide",
			fmt.Sprintf("logs.combined and logs.error are the same file %q: every line of stderr would be written to it twice.", lg.Combined))
	}
}

func (r *resolver) health(d *Daemon) {
	h := &d.Health
	h.Check = "none"
	if d.IsBeads() {
		h.Check = "beads-rpc"
	}
	h.Interval, h.Timeout, h.Failures = DefaultHealthInterval, DefaultHealthTimeout, DefaultHealthFailures
	if d.Dolt != nil {
		doltHealthDefaults(d, h)
	}
	checkField := r.enum("health.check", &h.Check, healthChecks)
	if checkField != nil && h.Check == "beads-rpc" && d.Command != "" && !d.IsBeads() {
		r.add(hcl.DiagWarning, checkField.rng, "beads-rpc check on a daemon that is not bd",
			fmt.Sprintf("daemon %q runs %q, not bd daemon: the check asks .beads/bd.sock under dir, which this program may never answer.", d.Name, d.Command))
	}
	iv := r.duration("health.interval", &h.Interval, time.Millisecond)
	to := r.duration("health.timeout", &h.Timeout, time.Millisecond)
	if f := r.duration("health.online_after", &h.OnlineAfter, 0); f != nil && h.OnlineAfter > MaxOnlineAfter {
		r.add(hcl.DiagError, f.rng, "Duration too long", fmt.Sprintf("health.online_after is how long apply waits for a run to stay up: at most %s.", MaxOnlineAfter))
	}
	if f := r.integer("health.failures", &h.Failures); f != nil && h.Failures < 1 {
		r.add(hcl.DiagError, f.rng, "Invalid value for health.failures", "health.failures counts failed checks in a row before a restart: it must be at least 1.")
	}
	if (iv != nil || to != nil) && h.Timeout >= h.Interval {
		// Blame the value the user wrote: an unset timeout has no line of its
		// own, and the health block it fell back to differs per profile
		// (a profile's health block too), so one mistake warned once per profile.
		rng, timeout := r.at("health.timeout"), h.Timeout.String()
		if to == nil {
			rng, timeout = iv.rng, timeout+", the default"
		}
		r.add(hcl.DiagWarning, rng, "Health timeout not shorter than interval",
			fmt.Sprintf("health.timeout (%s) is not shorter than health.interval (%s): checks would overlap.", timeout, h.Interval))
	}
	cmd, cmdField := r.strs("health.command")
	r.str("health.address", &h.Address)
	addrField := r.l.fields["health.address"]
	blame := r.at("health.check")
	switch h.Check {
	case "exec":
		switch {
		case len(cmd) == 0:
			rng := blame
			if cmdField != nil {
				rng = cmdField.rng
			}
			r.add(hcl.DiagError, rng, "Missing health command",
				`check = "exec" runs a command: set command = ["program", "arg", ...] in the health block; it passes when the command exits 0.`)
		case strings.TrimSpace(cmd[0]) == "":
			r.add(hcl.DiagError, cmdField.rng, "Empty health command", "The first element of health.command must name a program.")
		}
		h.Command = cmd
	case "tcp":
		if addrField == nil {
			r.add(hcl.DiagError, blame, "Missing health address",
				`check = "tcp" connects to an address: set address = "127.0.0.1:3307" (host:port) in the health block.`)
		} else if err := checkAddress(h.Address); err != nil {
			r.add(hcl.DiagError, addrField.rng, "Invalid health address", fmt.Sprintf("health.address: %s.", err))
		}
	}
	r.sqlHealth(d, blame)
	r.httpHealth(d, blame)
	if h.Check != "exec" && cmdField != nil {
		r.add(hcl.DiagWarning, cmdField.name, "health.command has no effect",
			fmt.Sprintf("health.command is only used with check = \"exec\"; this check is %q.", h.Check))
	}
	if h.Check != "tcp" && h.Check != "sql" {
		if addrField != nil {
			r.add(hcl.DiagWarning, addrField.name, "health.address has no effect",
				fmt.Sprintf("health.address is only used with check = \"tcp\"; this check is %q.", h.Check))
		}
		h.Address = ""
	}
	if h.Check == "none" {
		// Settings of a check that never runs must not change the hash
		// (online_after is not one: apply waits on it without a check).
		*h = Health{Check: "none", OnlineAfter: h.OnlineAfter}
	}
}

// checkAddress accepts host:port with a numeric port in 1..65535.
func checkAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (such as \"127.0.0.1:3307\")", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has no port number from 1 to 65535", addr)
	}
	if host == "" {
		return fmt.Errorf("%q has no host: write \"127.0.0.1:%s\" for this machine", addr, port)
	}
	return nil
}

// absPath resolves p against root unless it is absolute.
// regularLogFile refuses a log path that exists and is not a regular file
// (internal/logpath says why). A path that does not exist yet is fine; the
// supervisor checks again when it opens the file.
func (r *resolver) regularLogFile(path, abs string) {
	fi, err := os.Stat(abs)
	if err != nil || logpath.Check(abs, fi) == nil {
		return
	}
	kind := logpath.Kind(fi.Mode())
	if fi.Mode()&os.ModeNamedPipe != 0 {
		kind += " (FIFO)"
	}
	r.add(hcl.DiagError, r.at(path), "Log path is not a regular file",
		fmt.Sprintf(`%s: %s is %s; logs are appended to regular files only. Name a file, or write "" to write no file.`, path, abs, kind))
}

func absPath(root, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(root, p)
}
