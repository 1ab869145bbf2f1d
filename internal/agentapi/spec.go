package agentapi

import (
	"time"

	"github.com/beadsctl/beadsctl/internal/bd"
)

// Spec is everything the supervisor needs to run one daemon. It is plain data:
// it travels as JSON over the control socket, and reconcile builds it from a
// schema.Daemon. The zero value of an optional block means "off" or "default"
// as documented on each field.
type Spec struct {
	// Name identifies the daemon inside one agent.
	Name string `json:"name"`
	// Argv is the full command line; Argv[0] is looked up in PATH (of the
	// agent's environment) when it has no slash.
	Argv []string `json:"argv"`
	// Dir is the absolute working directory.
	Dir string `json:"dir"`
	// Env is exactly the declared environment. The child gets a minimal base
	// (PATH, HOME, USER, LOGNAME, SHELL, LANG, TMPDIR, TZ, TERM from the agent)
	// with Env on top; nothing else leaks in.
	Env map[string]string `json:"env,omitempty"`
	// Sensitive are the keys of Env marked sensitive in beads.hcl: their
	// values are masked, "(sensitive)", in the log lines the agent keeps of
	// a run that ended (Exit.LogTail: agent.json, status, apply's failure).
	Sensitive []string `json:"sensitive,omitempty"`
	// Beads marks a bd daemon (`bd daemon ...`): the child gets
	// BEADS_AUTO_START_DAEMON=false unless Env sets it, stale .beads/bd.sock and
	// .beads/daemon.pid are cleaned after it stops, and .beads/daemon.log is
	// tailed into the exit reason.
	Beads bool `json:"beads,omitempty"`
	// Dolt marks bd 1.x's Dolt SQL server (server mode): see DoltSpec.
	Dolt *DoltSpec `json:"dolt,omitempty"`

	Restart RestartPolicy `json:"restart"`
	Limits  Limits        `json:"limits"`
	Stop    StopPolicy    `json:"stop"`
	Logs    LogSpec       `json:"logs"`
	Health  HealthSpec    `json:"health"`

	// DependsOn are the daemons of the same agent this one needs: it starts
	// (and restarts) only while each meets its condition (deps.go).
	DependsOn []Dependency `json:"depends_on,omitempty"`
	// Completed says that this one-shot (Restart.Policy "once") already
	// completed with this spec (the state recorded it): it is hosted as
	// completed, without running, until Start or Restart.
	Completed bool `json:"completed,omitempty"`

	// Hash is the schema hash of the declared daemon this spec came from. The
	// supervisor reports it back in Status; it never interprets it.
	Hash string `json:"hash,omitempty"`
	// EnvHash is the hash of Env that the client records (keyed with the
	// project's key, so that no value can be guessed from it). The supervisor
	// reports it in Status.EnvHash for the process started with this Env; it
	// never hashes a value itself, and never interprets it.
	EnvHash string `json:"env_hash,omitempty"`
	// ArgvHash is the hash of Argv the client sends, keyed as EnvHash is:
	// the events name a run's command line by it (an argument may be a
	// secret). The supervisor never hashes or interprets it.
	ArgvHash string `json:"argv_hash,omitempty"`
}

// Dependency is one daemon a daemon depends on.
type Dependency struct {
	Name string `json:"name"`
	// Condition is CondStarted, CondHealthy or CondCompleted.
	Condition string `json:"condition"`
	// OnRestart is OnRestartIgnore (default) or OnRestartRestart.
	OnRestart string `json:"on_restart,omitempty"`
}

// RestartPolicy says when and how fast a stopped process is started again.
// See restart.go for the rules, defined in one place.
type RestartPolicy struct {
	// Policy is "always", "on-failure" or "never".
	Policy string `json:"policy"`
	// Delay before the first restart after a crash.
	Delay time.Duration `json:"delay"`
	// Backoff is "constant" or "exponential" (delay doubles per unstable run, capped by MaxDelay).
	Backoff  string        `json:"backoff"`
	MaxDelay time.Duration `json:"max_delay"`
	// MaxRestarts unstable runs in a row make the daemon errored. 0 means unlimited.
	MaxRestarts int `json:"max_restarts"`
	// MinUptime: a run shorter than this is unstable.
	MinUptime time.Duration `json:"min_uptime"`
}

// Limits bounds the resources of the whole process group.
type Limits struct {
	// Memory is the RSS limit in bytes of the process group; 0 means none.
	Memory uint64 `json:"memory,omitempty"`
	// CheckInterval is how often memory is sampled (default 1s, minimum 100ms).
	CheckInterval time.Duration `json:"check_interval,omitempty"`
}

// StopPolicy is how a process is asked to stop.
type StopPolicy struct {
	// Signal is a name such as "SIGTERM" (default SIGTERM).
	Signal string `json:"signal,omitempty"`
	// Timeout before SIGKILL to the group (default 5s).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// LogSpec says where the child's output goes. Empty paths are not written.
// Paths are absolute.
type LogSpec struct {
	Out      string `json:"out,omitempty"`
	Error    string `json:"error,omitempty"`
	Combined string `json:"combined,omitempty"`
	// Timestamps prefixes every line with the time, formatted with DateFormat,
	// a Go layout (schema converts PM2/moment tokens).
	Timestamps bool   `json:"timestamps,omitempty"`
	DateFormat string `json:"date_format,omitempty"`
	Rotate     Rotate `json:"rotate"`
}

// Rotate configures log rotation (rotate.go): MaxSize in bytes, exact; 0 means
// no rotation. Keep backups at most (0 keeps every one), gzipped with Compress.
type Rotate struct {
	MaxSize  uint64 `json:"max_size,omitempty"`
	Keep     int    `json:"keep,omitempty"`
	Compress bool   `json:"compress,omitempty"`
}

// HealthSpec is the periodic health check.
type HealthSpec struct {
	// Check is "beads-rpc", "exec", "tcp", "sql", "http" or "none" ("" means none).
	Check    string        `json:"check,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	// Failures in a row before a restart with reason "health".
	Failures int `json:"failures,omitempty"`
	// Command for "exec" (argv, run in Dir with the daemon's environment).
	Command []string `json:"command,omitempty"`
	// Address for "tcp" (host:port).
	Address string `json:"address,omitempty"`
	// Socket for "beads-rpc": path of bd.sock (default Dir/.beads/bd.sock).
	Socket string `json:"socket,omitempty"`
	// ClientVersion sent as client_version in beads RPC requests (the installed bd's version).
	ClientVersion string `json:"client_version,omitempty"`
	// SQL for "sql": the server (host:port), user and the databases that must
	// be there, each with its bd project id.
	SQL *SQLHealth `json:"sql,omitempty"`
	// HTTP for "http": see HTTPHealth.
	HTTP *HTTPHealth `json:"http,omitempty"`
}

// HTTPHealth is a GET of URL that passes when the status is one of Status
// (any 2xx or 3xx when empty; redirects are not followed) and, with Body,
// when the first httpBodyMax bytes of the body match that regular expression.
// https:// verifies the certificate unless TLSSkipVerify.
type HTTPHealth struct {
	URL           string `json:"url"`
	Status        []int  `json:"status,omitempty"`
	Body          string `json:"body,omitempty"`
	TLSSkipVerify bool   `json:"tls_skip_verify,omitempty"`
}

// SQLHealth is a check over the MySQL protocol: connect, ping, every database
// present, and each one's metadata `_project_id` as expected.
type SQLHealth struct {
	Address   string        `json:"address"`
	User      string        `json:"user,omitempty"`
	Databases []bd.Database `json:"databases,omitempty"`
}

// DoltSpec is what the supervisor keeps true of a bd 1.x Dolt server, as bd
// expects to find it (../shared/BEADS.md, "bd 1.x"): while the process runs,
// ServerDir/dolt-server.pid names it and dolt-server.port holds Port; around
// a (re)start, dolt-server.lock is held so that no bd command starts a rival;
// before every stop signal the working set is flushed (bd dolt stop's commit).
type DoltSpec struct {
	ServerDir string `json:"server_dir"`
	Host      string `json:"host"`
	Port      int    `json:"port"`
	User      string `json:"user,omitempty"`
}
