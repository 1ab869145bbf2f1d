// Package schema turns beads.hcl and its env profiles into a resolved *Config:
// every daemon with every default filled in and a stable hash. It returns
// hcl.Diagnostics and never prints, reads environment variables on its own
// (env() in expressions reads the Environ it is given), or starts processes.
// It imports nothing else from beadsctl.
package schema

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is the resolved desired state of one beads.hcl under one profile.
type Config struct {
	// Path is the absolute path of the file; Dir its folder (the project folder).
	Path string `json:"path"`
	Dir  string `json:"dir"`
	// Env is the selected profile ("" for none).
	Env string `json:"env,omitempty"`
	// Profiles are all profile names declared, sorted.
	Profiles []string `json:"profiles"`
	// Daemons sorted by name.
	Daemons []Daemon `json:"daemons"`
	// Metrics is the opt-in metrics listener; nil when not declared.
	Metrics *Metrics `json:"metrics,omitempty"`
	// Alerts are the alert blocks, sorted by name.
	Alerts []Alert `json:"alerts,omitempty"`
}

// Daemon is one daemon block with the profile applied and every default filled in.
// Its JSON form is what state.json records (with environment values hashed by reconcile).
type Daemon struct {
	Name    string   `json:"name"`
	Command string   `json:"command"`
	Args    []string `json:"args"`
	// Interval, when set, is appended as `--interval <d>` for bd daemons.
	Interval time.Duration `json:"interval,omitempty"`
	// Dir is absolute (relative paths resolve against the folder of beads.hcl).
	Dir string `json:"dir"`
	// Root is the folder of beads.hcl (Config.Dir). HashDaemon hashes Dir and
	// log paths inside Root relative to it, so that the hash does not depend
	// on where the project is checked out.
	Root string `json:"root,omitempty"`
	// Environment is every variable the daemon gets: those of EnvFiles, in
	// order (a later file wins), then the environment attribute over them.
	Environment map[string]string `json:"environment,omitempty"`
	// EnvFiles are the env_file paths, absolute; their variables are in
	// Environment (a change in a file changes the hash through it).
	EnvFiles []string `json:"env_files,omitempty"`
	// EnvFrom names, for each variable of Environment that an env file set
	// (and environment did not override), that file as written in beads.hcl;
	// plan shows it. Not hashed, not recorded.
	EnvFrom map[string]string `json:"-"`
	// Sensitive keys of Environment: their values are never shown.
	Sensitive []string `json:"sensitive,omitempty"`

	Restart Restart `json:"restart"`
	Limits  Limits  `json:"limits"`
	Stop    Stop    `json:"stop"`
	Logs    Logs    `json:"logs"`
	Health  Health  `json:"health"`

	// DependsOn are the daemons this one needs, sorted by name: it starts
	// only once each meets its condition (deps.go).
	DependsOn []Dependency `json:"depends_on,omitempty"`

	// Dolt is set for a bd 1.x Dolt SQL server (a dolt_server block): the
	// supervisor then writes bd's dolt-server.pid/.port, flushes before stops,
	// and the health check is SQL.
	Dolt *DoltServer `json:"dolt,omitempty"`

	// Hash is a stable hash of everything above (sha256 hex); the same file and
	// profile give the same hash on every machine.
	Hash string `json:"hash"`

	// DeclRange is where the daemon block is declared (for diagnostics); not hashed.
	DeclRange hcl.Range `json:"-"`
}

// Dependency is one depends_on "NAME" block.
type Dependency struct {
	// Daemon is the name of the daemon depended on.
	Daemon string `json:"daemon"`
	// Condition is started | healthy | completed_successfully.
	Condition string `json:"condition"`
	// OnRestart is ignore (the dependent keeps running while the dependency
	// restarts) or restart (it is stopped with the dependency and started
	// again once the condition holds again: systemd's PartOf= and BindsTo=).
	OnRestart string `json:"on_restart"`
	// Range is the block's label, for diagnostics; not hashed.
	Range hcl.Range `json:"-"`
}

// Restart is the restart block.
type Restart struct {
	Policy      string        `json:"policy"` // always | on-failure | never | once
	Delay       time.Duration `json:"delay"`
	Backoff     string        `json:"backoff"` // constant | exponential
	MaxDelay    time.Duration `json:"max_delay"`
	MaxRestarts int           `json:"max_restarts"`
	MinUptime   time.Duration `json:"min_uptime"`
}

// Limits is the limits block.
type Limits struct {
	Memory        uint64        `json:"memory,omitempty"` // bytes, 0 = none
	CheckInterval time.Duration `json:"check_interval"`
}

// Stop is the stop block.
type Stop struct {
	Signal  string        `json:"signal"` // canonical "SIGTERM" form
	Timeout time.Duration `json:"timeout"`
}

// Logs is the logs block. Paths are absolute.
type Logs struct {
	Out        string `json:"out,omitempty"`
	Error      string `json:"error,omitempty"`
	Combined   string `json:"combined,omitempty"`
	Timestamps bool   `json:"timestamps"`
	// DateFormat as written in the file (PM2/moment tokens or a Go layout);
	// GoLayout is its Go time layout.
	DateFormat string `json:"date_format,omitempty"`
	GoLayout   string `json:"go_layout,omitempty"`
	Rotate     Rotate `json:"rotate"`
}

// Rotate is the logs.rotate block.
type Rotate struct {
	MaxSize  uint64 `json:"max_size,omitempty"`
	Keep     int    `json:"keep,omitempty"`
	Compress bool   `json:"compress,omitempty"`
}

// MaxOnlineAfter bounds health.online_after (the agent's longest wait).
const MaxOnlineAfter = 10 * time.Minute

// Health is the health block.
type Health struct {
	Check    string        `json:"check"` // beads-rpc | exec | tcp | sql | http | none
	Interval time.Duration `json:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	Failures int           `json:"failures,omitempty"`
	Command  []string      `json:"command,omitempty"` // exec
	Address  string        `json:"address,omitempty"` // tcp
	SQL      *SQLCheck     `json:"sql,omitempty"`     // sql
	HTTP     *HTTPCheck    `json:"http,omitempty"`    // http
	// OnlineAfter, when set, is how long a run must have run without exiting
	// before apply (and start, restart) call it online; 0: once its program
	// runs and has not exited at once (the agent's early-exit window). Only
	// apply's wait reads it: a change is an update in place.
	OnlineAfter time.Duration `json:"online_after,omitempty"`
}

// HTTPCheck is a health check over HTTP (check = "http"): a GET of URL passes
// when the answer's status is one of Status (any 2xx or 3xx when empty;
// redirects are not followed) and, with Body, when the first 64 KiB of the
// body match that regular expression (RE2). https:// checks the server's
// certificate unless TLSSkipVerify.
type HTTPCheck struct {
	URL           string `json:"url"`
	Status        []int  `json:"status,omitempty"`
	Body          string `json:"body,omitempty"`
	TLSSkipVerify bool   `json:"tls_skip_verify,omitempty"`
}

// IsBeads reports whether the daemon runs `bd daemon ...` (base name of Command is
// "bd" and the first argument is "daemon").
func (d *Daemon) IsBeads() bool {
	base := d.Command
	for i := len(base) - 1; i >= 0; i-- {
		if base[i] == '/' || base[i] == '\\' {
			base = base[i+1:]
			break
		}
	}
	if base == "bd.exe" {
		base = "bd"
	}
	return base == "bd" && len(d.Args) > 0 && d.Args[0] == "daemon"
}

// Argv is the full command line: Command, Args, and for bd daemons with an
// Interval, `--interval <d>` (unless Args already carry --interval).
func (d *Daemon) Argv() []string {
	argv := append([]string{d.Command}, d.Args...)
	if d.Interval > 0 && d.IsBeads() {
		for _, a := range d.Args {
			if a == "--interval" || len(a) > 11 && a[:11] == "--interval=" {
				return argv
			}
		}
		argv = append(argv, "--interval", d.Interval.String())
	}
	return argv
}
