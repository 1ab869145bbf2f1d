package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
)

// loadSrc loads src as /project/beads.hcl.
func loadSrc(t *testing.T, src, profile string, environ ...string) (*Config, hcl.Diagnostics) {
	t.Helper()
	cfg, _, _, diags := load([]byte(src), "beads.hcl", "/project/beads.hcl", profile, environ, nil)
	return cfg, diags
}

// diagLines renders diagnostics as "line:col: severity: summary; detail".
func diagLines(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		at := "-"
		if d.Subject != nil {
			at = fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column)
		}
		out = append(out, fmt.Sprintf("%s: %s: %s; %s", at, sev, d.Summary, d.Detail))
	}
	return out
}

const bdDaemon = `
daemon "beads" {
  command = "bd"
  args    = ["daemon", "--start", "--foreground"]
`

func TestLoadDefaults(t *testing.T) {
	cfg, diags := loadSrc(t, bdDaemon+"}\n", "")
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diagLines(diags))
	}
	want := Daemon{
		Name:    "beads",
		Command: "bd",
		Args:    []string{"daemon", "--start", "--foreground"},
		Dir:     "/project",
		Root:    "/project",
		Restart: Restart{Policy: "always", Backoff: "constant", MaxDelay: time.Minute, MaxRestarts: 10, MinUptime: 10 * time.Second},
		Limits:  Limits{CheckInterval: time.Second},
		Stop:    Stop{Signal: "SIGTERM", Timeout: 5 * time.Second},
		Logs: Logs{
			Out:        "/project/.beadsctl/logs/beads.out.log",
			Error:      "/project/.beadsctl/logs/beads.err.log",
			DateFormat: "YYYY-MM-DD HH:mm:ss Z",
			GoLayout:   "2006-01-02 15:04:05 -07:00",
		},
		Health: Health{Check: "beads-rpc", Interval: 30 * time.Second, Timeout: 5 * time.Second, Failures: 3},
	}
	got := cfg.Daemons[0]
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Daemon{}, "Hash", "DeclRange")); diff != "" {
		t.Errorf("daemon (-want +got):\n%s", diff)
	}
	if got.Hash != HashDaemon(&got) || len(got.Hash) != 64 {
		t.Errorf("Hash = %q, want HashDaemon's", got.Hash)
	}
	if got.DeclRange.Start.Line != 2 {
		t.Errorf("DeclRange = %v, want line 2", got.DeclRange)
	}
	if diff := cmp.Diff(&Config{Path: "/project/beads.hcl", Dir: "/project", Profiles: []string{}}, cfg,
		cmpopts.IgnoreFields(Config{}, "Daemons")); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}

	cfg, diags = loadSrc(t, `daemon "web" { command = "python3" }`, "")
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diagLines(diags))
	}
	if diff := cmp.Diff(Health{Check: "none"}, cfg.Daemons[0].Health); diff != "" {
		t.Errorf("health of a non-bd daemon (-want +got):\n%s", diff)
	}
}

func TestLoadEverything(t *testing.T) {
	src := `
daemon "svc" {
  command     = "/usr/bin/svc"
  args        = ["--port", 8080]
  dir         = "srv"
  environment = { A = "1", B = 2, TOKEN = upper(env("T", "x")) }
  sensitive   = ["TOKEN", "TOKEN"]
  restart {
    policy       = "on-failure"
    delay        = "2s"
    backoff      = "exponential"
    max_restarts = 0
    min_uptime   = "1m30s"
  }
  limits {
    memory         = 1048576
    check_interval = "250ms"
  }
  stop {
    signal  = "int"
    timeout = "1m"
  }
  logs {
    out         = "/var/log/svc.out"
    error       = "logs/svc.err"
    combined    = "logs/svc.log"
    timestamps  = true
    date_format = "YYYY-MM-DDTHH:mm:ss.SSSZZ"
    rotate {
      max_size = "10M"
      keep     = 5
      compress = true
    }
  }
  health {
    check    = "exec"
    command  = ["curl", "-f", "http://127.0.0.1:8080/"]
    interval = "10s"
    timeout  = "2s"
    failures = 5
  }
}
`
	cfg, diags := loadSrc(t, src, "", "T=secret")
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diagLines(diags))
	}
	want := Daemon{
		Name: "svc", Command: "/usr/bin/svc", Args: []string{"--port", "8080"},
		Dir: "/project/srv", Root: "/project",
		Environment: map[string]string{"A": "1", "B": "2", "TOKEN": "SECRET"},
		Sensitive:   []string{"TOKEN"},
		Restart:     Restart{Policy: "on-failure", Delay: 2 * time.Second, Backoff: "exponential", MaxDelay: time.Minute, MaxRestarts: 0, MinUptime: 90 * time.Second},
		Limits:      Limits{Memory: 1 << 20, CheckInterval: 250 * time.Millisecond},
		Stop:        Stop{Signal: "SIGINT", Timeout: time.Minute},
		Logs: Logs{
			Out: "/var/log/svc.out", Error: "/project/logs/svc.err", Combined: "/project/logs/svc.log",
			Timestamps: true, DateFormat: "YYYY-MM-DDTHH:mm:ss.SSSZZ", GoLayout: "2006-01-02T15:04:05.000-0700",
			Rotate: Rotate{MaxSize: 10 << 20, Keep: 5, Compress: true},
		},
		Health: Health{Check: "exec", Interval: 10 * time.Second, Timeout: 2 * time.Second, Failures: 5,
			Command: []string{"curl", "-f", "http://127.0.0.1:8080/"}},
	}
	if diff := cmp.Diff(want, cfg.Daemons[0], cmpopts.IgnoreFields(Daemon{}, "Hash", "DeclRange")); diff != "" {
		t.Errorf("daemon (-want +got):\n%s", diff)
	}
}

func TestLoadProfiles(t *testing.T) {
	src := bdDaemon + `
  interval    = "5s"
  environment = { BD_AUTO_START_DAEMON = "true", KEEP = "base" }
  sensitive   = ["KEEP"]
  restart {
    policy = "always"
    delay  = "5s"
  }
  logs {
    rotate {
      max_size = "1M"
      keep     = 2
    }
  }
}

env "development" {
  daemon "beads" {
    environment = { NODE_ENV = "development" }
  }
}

env "production" {
  daemon "beads" {
    interval    = "30s"
    environment = { NODE_ENV = "production", BD_AUTO_START_DAEMON = "false", SECRET = "s" }
    sensitive   = ["SECRET"]
    restart {
      delay = "10s"
    }
    limits {
      memory = "300M"
    }
    logs {
      rotate {
        keep = 9
      }
    }
  }
}
`
	base, diags := loadSrc(t, src, "")
	if len(diags) > 0 {
		t.Fatalf("base: %v", diagLines(diags))
	}
	prod, diags := loadSrc(t, src, "production")
	if len(diags) > 0 {
		t.Fatalf("production: %v", diagLines(diags))
	}
	if diff := cmp.Diff([]string{"development", "production"}, prod.Profiles); diff != "" {
		t.Errorf("profiles (-want +got):\n%s", diff)
	}
	b, p := base.Daemons[0], prod.Daemons[0]
	checks := []struct {
		name      string
		base, got any
		want      any
	}{
		{"interval replaced", b.Interval, p.Interval, 30 * time.Second},
		{"environment merged", b.Environment, p.Environment,
			map[string]string{"BD_AUTO_START_DAEMON": "false", "KEEP": "base", "NODE_ENV": "production", "SECRET": "s"}},
		{"sensitive accumulated", b.Sensitive, p.Sensitive, []string{"KEEP", "SECRET"}},
		{"restart.policy kept", b.Restart.Policy, p.Restart.Policy, "always"},
		{"restart.delay replaced", b.Restart.Delay, p.Restart.Delay, 10 * time.Second},
		{"limits block added", b.Limits.Memory, p.Limits.Memory, uint64(300 << 20)},
		{"rotate.max_size kept", b.Logs.Rotate.MaxSize, p.Logs.Rotate.MaxSize, uint64(1 << 20)},
		{"rotate.keep replaced", b.Logs.Rotate.Keep, p.Logs.Rotate.Keep, 9},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	if b.Hash == p.Hash {
		t.Error("base and production have the same hash")
	}
	if prod.Env != "production" || base.Env != "" {
		t.Errorf("Env = %q / %q", base.Env, prod.Env)
	}
}

// TestLoadErrors asserts every diagnostic of each bad file: its line:column,
// severity, summary and detail.
func TestLoadErrors(t *testing.T) {
	tests := map[string]struct {
		src     string
		profile string
		want    []string
	}{
		"syntax": {
			src:  "daemon \"x\" {\n  command = \n}\n",
			want: []string{`2:13: error: Invalid expression; Expected the start of an expression, but found an invalid expression token.`},
		},
		"unknown attribute": {
			src:  "daemon \"x\" {\n  command = \"bd\"\n  comand = \"bd\"\n}\n",
			want: []string{`3:3: error: Unsupported argument; An argument named "comand" is not expected here.`},
		},
		"unknown attribute with suggestion": {
			src:  "daemon \"x\" {\n  command = \"bd\"\n  intervall = \"5s\"\n}\n",
			want: []string{`3:3: error: Unsupported argument; An argument named "intervall" is not expected here. Did you mean "interval"?`},
		},
		"unknown block": {
			src:  "daemon \"x\" {\n  command = \"bd\"\n  limit {\n  }\n}\n",
			want: []string{`3:3: error: Unsupported block type; Blocks of type "limit" are not expected here. Did you mean "limits"?`},
		},
		"unknown top-level block": {
			src:  "deamon \"x\" {\n}\n",
			want: []string{`1:1: error: Unsupported block type; Blocks of type "deamon" are not expected here. Did you mean "daemon"?`},
		},
		"missing command": {
			src:  "daemon \"x\" {\n  args = [\"a\"]\n}\n",
			want: []string{`1:1: error: Missing command; daemon "x" needs command = "...": the program to run (its arguments go in args = [...]).`},
		},
		"duplicate daemon": {
			src:  "daemon \"x\" {\n  command = \"a\"\n}\ndaemon \"x\" {\n  command = \"b\"\n}\n",
			want: []string{`4:8: error: Duplicate daemon; A daemon named "x" is already declared at beads.hcl:1:1; daemon names must be unique.`},
		},
		"bad daemon name": {
			src:  "daemon \"a b\" {\n  command = \"a\"\n}\n",
			want: []string{`1:8: error: Invalid daemon name; "a b" is not a valid daemon name: use letters, digits, '_', '.' and '-', starting with a letter or digit.`},
		},
		"duplicate block": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  stop {\n  }\n  stop {\n  }\n}\n",
			want: []string{`5:3: error: Duplicate stop block; Only one stop block is allowed here; the first one is at beads.hcl:3:3.`},
		},
		"fractional size": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  limits {\n    memory = \"1.5G\"\n  }\n}\n",
			want: []string{`4:14: error: Invalid size; limits.memory: "1.5G" is not a size: use a whole number of bytes ("1048576") or a whole number with K, M, G or T ("512K", "200M", "1G"); fractions are not accepted, write "1536M".`},
		},
		"fractional size as number": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  limits {\n    memory = 1.5\n  }\n}\n",
			want: []string{`4:14: error: Incorrect value type; limits.memory must be a size such as "200M": 1.5 is not a whole number of bytes; use a whole number of bytes ("1048576") or a whole number with K, M, G or T ("512K", "200M", "1G").`},
		},
		"tiny memory": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  limits {\n    memory = 200\n  }\n}\n",
			want: []string{`4:14: warning: Very small memory limit; limits.memory is 200 bytes, less than 1M: the daemon would be restarted as soon as it starts. Sizes without a unit are bytes; did you mean "200M"?`},
		},
		"unlimited restarts without a delay": {
			src:  "daemon \"crashy\" {\n  command = \"false\"\n  restart {\n    max_restarts = 0\n  }\n}\n",
			want: []string{`4:20: warning: Unlimited restarts without a delay; restart.max_restarts = 0 restarts a crashing process forever, and restart.delay is 0: a command that exits at once is restarted as fast as the supervisor's floor allows (up to once a second), for ever. Set restart.delay (say "5s", with backoff = "exponential") or a max_restarts above 0.`},
		},
		"bad duration": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  restart {\n    delay = \"5 seconds\"\n  }\n}\n",
			want: []string{`4:13: error: Invalid duration; restart.delay: "5 seconds" is not a duration: use a number with a unit, such as "500ms", "5s" or "1m30s" (units ns, us, ms, s, m, h).`},
		},
		"duration without unit": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  health {\n    interval = 30\n  }\n}\n",
			want: []string{`4:16: error: Invalid duration; health.interval: "30" has no unit: write "30ms" for milliseconds (as PM2 counts) or "30s" for seconds.`},
		},
		"check interval too short": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  limits {\n    check_interval = \"10ms\"\n  }\n}\n",
			want: []string{`4:22: error: Duration too short; limits.check_interval must be at least 100ms; "10ms" is shorter.`},
		},
		"bad signal": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  stop {\n    signal = \"SIGTREM\"\n  }\n}\n",
			want: []string{`4:14: error: Invalid signal; stop.signal: "SIGTREM" is not a signal beadsctl can send; use one of SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGKILL, SIGUSR1, SIGUSR2, SIGTERM, SIGWINCH. Did you mean "SIGTERM"?`},
		},
		"bad policy": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  restart {\n    policy = \"on_failure\"\n  }\n}\n",
			want: []string{`4:14: error: Invalid value for restart.policy; "on_failure" is not one of "always", "on-failure", "never" or "once". Did you mean "on-failure"?`},
		},
		"bad backoff": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  restart {\n    backoff = \"linear\"\n  }\n}\n",
			want: []string{`4:15: error: Invalid value for restart.backoff; "linear" is not one of "constant" or "exponential".`},
		},
		"max_delay below delay": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  restart {\n    delay     = \"10s\"\n    max_delay = \"5s\"\n  }\n}\n",
			want: []string{`5:17: error: max_delay shorter than delay; restart.max_delay (5s) caps the delay between restarts, so it cannot be shorter than restart.delay (10s).`},
		},
		"bad health check": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  health {\n    check = \"htttp\"\n  }\n}\n",
			want: []string{`4:13: error: Invalid value for health.check; "htttp" is not one of "beads-rpc", "exec", "tcp", "sql", "http" or "none". Did you mean "http"?`},
		},
		"exec without command": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  health {\n    check = \"exec\"\n  }\n}\n",
			want: []string{`4:13: error: Missing health command; check = "exec" runs a command: set command = ["program", "arg", ...] in the health block; it passes when the command exits 0.`},
		},
		"tcp without address": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  health {\n    check = \"tcp\"\n  }\n}\n",
			want: []string{`4:13: error: Missing health address; check = "tcp" connects to an address: set address = "127.0.0.1:3307" (host:port) in the health block.`},
		},
		"tcp bad address": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  health {\n    check   = \"tcp\"\n    address = \"localhost\"\n  }\n}\n",
			want: []string{`5:15: error: Invalid health address; health.address: "localhost" is not host:port (such as "127.0.0.1:3307").`},
		},
		"health failures zero": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  health {\n    check    = \"tcp\"\n    address  = \"127.0.0.1:1\"\n    failures = 0\n  }\n}\n",
			want: []string{`6:16: error: Invalid value for health.failures; health.failures counts failed checks in a row before a restart: it must be at least 1.`},
		},
		"health settings without effect": {
			src:  "daemon \"x\" {\n  command = \"a\"\n  health {\n    check   = \"exec\"\n    command = [\"true\"]\n    address = \"127.0.0.1:1\"\n  }\n}\n",
			want: []string{`6:5: warning: health.address has no effect; health.address is only used with check = "tcp"; this check is "exec".`},
		},
		"beads-rpc on another program": {
			src:  "daemon \"x\" {\n  command = \"node\"\n  health {\n    check = \"beads-rpc\"\n  }\n}\n",
			want: []string{`4:13: warning: beads-rpc check on a daemon that is not bd; daemon "x" runs "node", not bd daemon: the check asks .beads/bd.sock under dir, which this program may never answer.`},
		},
		"interval on another program": {
			src:  "daemon \"x\" {\n  command  = \"node\"\n  interval = \"5s\"\n}\n",
			want: []string{`3:14: warning: interval has no effect; interval is passed as --interval only to bd daemons (bd daemon ...); daemon "x" runs "node". Put the flag in args if the program takes one.`},
		},
		"wrong type": {
			src: "daemon \"x\" {\n  command = [\"bd\"]\n}\n",
			want: []string{
				`2:13: error: Incorrect value type; command must be a string: string required, but have tuple.`,
			},
		},
		"bad environment key": {
			src:  "daemon \"x\" {\n  command     = \"a\"\n  environment = { \"A=B\" = \"c\" }\n}\n",
			want: []string{`3:17: error: Incorrect value type; environment must be a map of strings: "A=B" is not a valid environment variable name.`},
		},
		"sensitive key not set": {
			src:  "daemon \"x\" {\n  command     = \"a\"\n  environment = { A = \"1\" }\n  sensitive   = [\"A\", \"TOKEN\"]\n}\n",
			want: []string{`4:23: warning: Sensitive key not in environment; "TOKEN" is marked sensitive but daemon "x" sets no such environment variable.`},
		},
		"log collision between daemons": {
			src:  "daemon \"a\" {\n  command = \"a\"\n  logs {\n    out = \"x.log\"\n  }\n}\ndaemon \"b\" {\n  command = \"b\"\n  logs {\n    error = \"./x.log\"\n  }\n}\n",
			want: []string{`10:13: error: Log files collide; Daemon "b" writes its error log to /project/x.log, which daemon "a" uses for its out log. Give each daemon its own files.`},
		},
		"out and error collide": {
			src:  "daemon \"a\" {\n  command = \"a\"\n  logs {\n    out   = \"x.log\"\n    error = \"x.log\"\n  }\n}\n",
			want: []string{`5:13: error: Log files collide; logs.out and logs.error are the same file "/project/x.log". To write both streams to one file, make it the combined log: combined = "/project/x.log" with out = "" and error = "".`},
		},
		"combined and out collide": {
			src:  "daemon \"a\" {\n  command = \"a\"\n  logs {\n    out      = \"x.log\"\n    combined = \"x.log\"\n  }\n}\n",
			want: []string{`5:16: error: Log files collide; logs.combined and logs.out are the same file "/project/x.log": every line of stdout would be written to it twice.`},
		},
		"env function missing variable": {
			src:  "daemon \"a\" {\n  command = env(\"NOPE_NOT_SET\")\n}\n",
			want: []string{`2:13: error: Error in function call; Call to function "env" failed: environment variable "NOPE_NOT_SET" is not set; give a default with env("NOPE_NOT_SET", "...").`},
		},
		"function that reads files is absent": {
			src:  "daemon \"a\" {\n  command = file(\"/etc/passwd\")\n}\n",
			want: []string{`2:13: error: Call to unknown function; There is no function named "file". Did you mean "title"?`},
		},
		"variables are absent": {
			src:  "daemon \"a\" {\n  command = var.x\n}\n",
			want: []string{`2:13: error: Variables not allowed; Variables may not be used here.`},
		},
		"profile names unknown daemon": {
			src:  "daemon \"beads\" {\n  command = \"bd\"\n}\nenv \"dev\" {\n  daemon \"beadz\" {\n  }\n}\n",
			want: []string{`5:10: error: Unknown daemon in profile; Profile "dev" changes daemon "beadz", but no daemon "beadz" is declared. Did you mean "beads"?`},
		},
		"profile with unknown attribute is checked even unselected": {
			src:  "daemon \"beads\" {\n  command = \"bd\"\n}\nenv \"dev\" {\n  daemon \"beads\" {\n    memory = \"1G\"\n  }\n}\n",
			want: []string{`6:5: error: Unsupported argument; An argument named "memory" is not expected here.`},
		},
		"profile value error only when selected": {
			src:     "daemon \"beads\" {\n  command = \"bd\"\n}\nenv \"dev\" {\n  daemon \"beads\" {\n    limits {\n      memory = \"lots\"\n    }\n  }\n}\n",
			profile: "dev",
			want:    []string{`7:16: error: Invalid size; limits.memory: "lots" is not a size: use a whole number of bytes ("1048576") or a whole number with K, M, G or T ("512K", "200M", "1G").`},
		},
		"duplicate profile": {
			src:  "daemon \"beads\" {\n  command = \"bd\"\n}\nenv \"dev\" {\n}\nenv \"dev\" {\n}\n",
			want: []string{`6:5: error: Duplicate env profile; A profile named "dev" is already declared at beads.hcl:4:1; merge the two blocks.`},
		},
		"unknown profile": {
			src:     "daemon \"beads\" {\n  command = \"bd\"\n}\nenv \"development\" {\n}\nenv \"production\" {\n}\n",
			profile: "prod",
			want:    []string{`-: error: Unknown profile; beads.hcl declares no profile "prod". Known profiles: development, production. Did you mean "production"?`},
		},
		"unknown profile when there are none": {
			src:     "daemon \"beads\" {\n  command = \"bd\"\n}\n",
			profile: "dev",
			want:    []string{`-: error: Unknown profile; beads.hcl declares no profile "dev". It declares no profiles at all: add env "dev" { ... } or leave out --env and BEADSCTL_ENV.`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, diags := loadSrc(t, tc.src, tc.profile)
			if diff := cmp.Diff(tc.want, diagLines(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			if diags.HasErrors() != (cfg == nil) {
				t.Errorf("HasErrors %v but config %v", diags.HasErrors(), cfg)
			}
		})
	}
}

// TestFiveMistakes is the acceptance test: five different mistakes
// in one file give five diagnostics, each at its line:column.
func TestFiveMistakes(t *testing.T) {
	path := filepath.Join("testdata", "five-mistakes.hcl")
	_, diags := ValidateAll(path, nil)
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%s: %s", pos(*d.Subject), d.Summary))
	}
	want := []string{
		path + ":5:3: Unsupported argument",
		path + ":8:14: Invalid value for restart.policy",
		path + ":12:14: Invalid size",
		path + ":16:14: Invalid signal",
		path + ":21:10: Unknown daemon in profile",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

func TestValidateAll(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "beads.hcl")
	src := `
daemon "a" {
  command   = "a"
  sensitive = ["IN_PROD", "NOWHERE"]
  limits {
    memory = "1.5G"
  }
}
env "development" {
}
env "production" {
  daemon "a" {
    environment = { IN_PROD = "x" }
    stop {
      signal = "NOPE"
    }
  }
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, diags := ValidateAll(path, nil)
	if files[path] == nil {
		t.Errorf("files has no %s: %v", path, files)
	}
	var got []string
	for _, d := range diags {
		got = append(got, fmt.Sprintf("%d:%d %s", d.Subject.Start.Line, d.Subject.Start.Column, d.Summary))
	}
	want := []string{
		"4:27 Sensitive key not in environment", // NOWHERE; IN_PROD is set by production
		"6:14 Invalid size",                     // once, though every profile has it
		"15:16 Invalid signal",                  // production only
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}

	_, diags = ValidateAll(filepath.Join(dir, "missing.hcl"), nil)
	if len(diags) != 1 || diags[0].Summary != "Cannot read configuration" {
		t.Errorf("missing file: %v", diagLines(diags))
	}
}

func TestLoadFileRelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "beads.hcl")
	src := "daemon \"a\" {\n  command = \"a\"\n  dir = \"work\"\n  logs {\n    out = \"out.log\"\n  }\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, files, diags := Load(path, "", nil)
	if len(diags) > 0 {
		t.Fatal(diagLines(diags))
	}
	if files[path] == nil {
		t.Errorf("files has no %s", path)
	}
	d := cfg.Daemons[0]
	// Log paths resolve against the file's folder, not against dir.
	if d.Dir != filepath.Join(dir, "work") || d.Logs.Out != filepath.Join(dir, "out.log") {
		t.Errorf("dir %q, out %q", d.Dir, d.Logs.Out)
	}
	if cfg.Path != path || cfg.Dir != dir {
		t.Errorf("path %q dir %q", cfg.Path, cfg.Dir)
	}
}

func TestLoadJSONSyntax(t *testing.T) {
	cfg, _, _, diags := load([]byte(`{"daemon": {"beads": {"command": "bd", "args": ["daemon", "--start", "--foreground"], "limits": {"memory": "200M"}}}}`),
		"beads.hcl.json", "/project/beads.hcl.json", "", nil, nil)
	if len(diags) > 0 {
		t.Fatal(diagLines(diags))
	}
	if d := cfg.Daemons[0]; !d.IsBeads() || d.Limits.Memory != 200<<20 {
		t.Errorf("daemon %+v", d)
	}
}

func TestEnvFunction(t *testing.T) {
	src := `daemon "a" {
  command     = env("CMD")
  args        = [env("MISSING", "fallback"), env("EMPTY", "unused")]
  environment = { K = base64decode(base64encode(join(",", ["x", "y"]))), N = tostring(max(1, 2)) }
}
`
	cfg, diags := loadSrc(t, src, "", "CMD=first", "EMPTY=", "CMD=last")
	if len(diags) > 0 {
		t.Fatal(diagLines(diags))
	}
	d := cfg.Daemons[0]
	if d.Command != "last" {
		t.Errorf("command %q, want the last CMD", d.Command)
	}
	if diff := cmp.Diff([]string{"fallback", ""}, d.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"K": "x,y", "N": "2"}, d.Environment); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

// TestPM2Milliseconds: the durations that came from PM2 take its bare
// milliseconds.
func TestPM2Milliseconds(t *testing.T) {
	src := "daemon \"a\" {\n  command = \"a\"\n  restart {\n    delay = 5000\n    min_uptime = \"1500\"\n  }\n  stop {\n    timeout = 3000\n  }\n}\n"
	cfg, diags := loadSrc(t, src, "")
	if len(diags) > 0 {
		t.Fatal(diagLines(diags))
	}
	d := cfg.Daemons[0]
	got := []time.Duration{d.Restart.Delay, d.Restart.MinUptime, d.Stop.Timeout}
	if diff := cmp.Diff([]time.Duration{5 * time.Second, 1500 * time.Millisecond, 3 * time.Second}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLogsOneFile(t *testing.T) {
	src := "daemon \"a\" {\n  command = \"a\"\n  logs {\n    out = \"all.log\"\n    error = \"all.log\"\n    combined = \"all.log\"\n  }\n}\n"
	cfg, diags := loadSrc(t, src, "")
	if len(diags) > 0 {
		t.Fatal(diagLines(diags))
	}
	if lg := cfg.Daemons[0].Logs; lg.Out != "" || lg.Error != "" || lg.Combined != "/project/all.log" {
		t.Errorf("logs %+v, want only the combined file", lg)
	}
	cfg, diags = loadSrc(t, "daemon \"a\" {\n  command = \"a\"\n  logs {\n    out = \"\"\n  }\n}\n", "")
	if len(diags) > 0 {
		t.Fatal(diagLines(diags))
	}
	if lg := cfg.Daemons[0].Logs; lg.Out != "" || lg.Error == "" {
		t.Errorf(`out = "" should turn stdout's file off only: %+v`, lg)
	}
}

// TestExamples decodes the root beads.hcl and every examples/*.hcl under
// every profile: no errors and no warnings.
func TestExamples(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "examples", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 4 {
		t.Fatalf("want at least 4 examples, found %v", paths)
	}
	paths = append(paths, filepath.Join("..", "beads.hcl"))
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if base := filepath.Base(path); base == "dolt-server.hcl" || base == "bd-stack.hcl" {
				// It supervises the workspace beside it: give it one (and
				// bd-stack.hcl's env file).
				dir := t.TempDir()
				workspace(t, dir, serverMeta, "")
				if err := os.WriteFile(filepath.Join(dir, "agent-mail.env"), []byte("HTTP_BEARER_TOKEN=s3cret\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				src, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				path = filepath.Join(dir, "beads.hcl")
				if err := os.WriteFile(path, src, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			base, _, diags := Load(path, "", nil)
			if len(diags) > 0 {
				t.Fatalf("base: %v", diagLines(diags))
			}
			for _, p := range base.Profiles {
				if _, _, diags := Load(path, p, nil); len(diags) > 0 {
					t.Errorf("profile %s: %v", p, diagLines(diags))
				}
			}
			if _, diags := ValidateAll(path, nil); len(diags) > 0 {
				t.Errorf("ValidateAll: %v", diagLines(diags))
			}
		})
	}
}

// TestRootConfig pins the root beads.hcl: the seed's PM2 app expressed natively.
func TestRootConfig(t *testing.T) {
	path := filepath.Join("..", "beads.hcl")
	for profile, want := range map[string]struct {
		env    string
		memory uint64
	}{"development": {"development", 200 << 20}, "production": {"production", 300 << 20}} {
		cfg, _, diags := Load(path, profile, nil)
		if len(diags) > 0 {
			t.Fatal(diagLines(diags))
		}
		d := cfg.Daemons[0]
		root := cfg.Dir
		wantArgv := []string{"bd", "daemon", "--start", "--foreground", "--interval", "5s"}
		if diff := cmp.Diff(wantArgv, d.Argv()); diff != "" {
			t.Errorf("argv (-want +got):\n%s", diff)
		}
		checks := map[string][2]any{
			"memory":        {want.memory, d.Limits.Memory},
			"env":           {map[string]string{"BD_AUTO_START_DAEMON": "true", "NODE_ENV": want.env}, d.Environment},
			"restart":       {Restart{Policy: "always", Delay: 5 * time.Second, Backoff: "constant", MaxDelay: time.Minute, MaxRestarts: 10, MinUptime: 10 * time.Second}, d.Restart},
			"stop":          {Stop{Signal: "SIGTERM", Timeout: 5 * time.Second}, d.Stop},
			"logs.out":      {filepath.Join(root, ".beads", "beadsctl-out.log"), d.Logs.Out},
			"logs.error":    {filepath.Join(root, ".beads", "beadsctl-error.log"), d.Logs.Error},
			"logs.combined": {filepath.Join(root, ".beads", "beadsctl.log"), d.Logs.Combined},
			"timestamps":    {true, d.Logs.Timestamps},
			"date_format":   {"YYYY-MM-DD HH:mm:ss Z", d.Logs.DateFormat},
			"health":        {"beads-rpc", d.Health.Check},
		}
		for name, c := range checks {
			if diff := cmp.Diff(c[0], c[1]); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", profile, name, diff)
			}
		}
	}
}

func TestHashDaemon(t *testing.T) {
	src := bdDaemon + `
  environment = { A = "1", B = "2", C = "3", D = "4", E = "5", F = "6", G = "7", H = "8" }
  logs {
    out = "logs/out.log"
    error = "/var/log/beads.err"
  }
}
`
	load := func(abs string) Daemon {
		cfg, _, _, diags := load([]byte(src), "beads.hcl", abs, "", nil, nil)
		if len(diags) > 0 {
			t.Fatal(diagLines(diags))
		}
		return cfg.Daemons[0]
	}
	a := load("/home/alice/project/beads.hcl")
	b := load("/srv/checkout/beads.hcl")
	if a.Hash != b.Hash {
		t.Errorf("hash depends on where the project is: %s vs %s", a.Hash, b.Hash)
	}
	for range 20 {
		c := a
		c.Environment = map[string]string{}
		for _, k := range []string{"H", "G", "F", "E", "D", "C", "B", "A"} {
			c.Environment[k] = a.Environment[k]
		}
		c.Sensitive = nil
		if h := HashDaemon(&c); h != a.Hash {
			t.Fatalf("hash depends on map order: %s vs %s", h, a.Hash)
		}
	}
	c := a
	c.Hash = "whatever"
	c.DeclRange = hcl.Range{Filename: "other"}
	if HashDaemon(&c) != a.Hash {
		t.Error("Hash or DeclRange changed the hash")
	}
	changes := map[string]func(d *Daemon){
		"args":      func(d *Daemon) { d.Args = append([]string{}, "daemon") },
		"env value": func(d *Daemon) { d.Environment = map[string]string{"A": "2"} },
		"memory":    func(d *Daemon) { d.Limits.Memory++ },
		"dir":       func(d *Daemon) { d.Dir += "/sub" },
		"outside":   func(d *Daemon) { d.Logs.Error = "/var/log/other.err" },
		"sensitive": func(d *Daemon) { d.Sensitive = []string{"A"} },
	}
	for name, change := range changes {
		c := a
		change(&c)
		if HashDaemon(&c) == a.Hash {
			t.Errorf("changing %s kept the hash", name)
		}
	}
}

func TestMissingFile(t *testing.T) {
	cfg, files, diags := Load(filepath.Join(t.TempDir(), "beads.hcl"), "", nil)
	if cfg != nil || files == nil || !diags.HasErrors() || !strings.Contains(diags[0].Detail, "name another file with -f") {
		t.Errorf("cfg %v files %v diags %v", cfg, files, diagLines(diags))
	}
}
