// Package bdsim is a stand-in for the real bd CLI, faithful to
// ../shared/BEADS.md, for tests, the demo and benchmarks: bd v0.28's daemon by
// default, bd 1.x's Dolt SQL server mode with BDSIM_VERSION >= 0.50.0 (see
// "bd 1.x mode" below). No bd binary can be installed on our machines; this is
// the seam where the real thing cannot run.
//
// It is the server side of the bd protocol and deliberately imports nothing from
// beadsctl (in particular not supervisor), so that the client there is tested
// against an independent implementation.
//
// # Commands
//
//	bd version [--json] | bd --version
//	bd init [--prefix P] [-q]      .beads/ with beads.db, issues.jsonl, metadata.json
//	bd daemon --start --foreground [--interval D] [--log PATH]   (v0.28+)
//	bd daemon --start              (BD_DAEMON_FOREGROUND=1: foreground, any version;
//	                                otherwise re-exec detached in a new session, as
//	                                bd's auto-started background daemon)
//	bd daemon --stop | --status
//
// Any other command prints a short help and exits 0. The daemon finds its
// database as bd does ($BEADS_DIR, $BEADS_DB, then .beads/ holding one in the
// current folder or a parent): without one, every `bd daemon` prints "Error: no
// database path configured (run 'bd init' or set BEADS_DB)" and exits 1 at
// once. In the workspace found it creates issues.jsonl when missing, takes
// flock(LOCK_EX|LOCK_NB) on .beads/daemon.lock
// (JSON content), writes .beads/daemon.pid, logs to .beads/daemon.log (or --log),
// and serves the NDJSON RPC (ping, health, status, metrics, shutdown) on
// .beads/bd.sock (0600). The line "RPC server ready (socket listening)" in
// daemon.log marks readiness. SIGTERM/SIGINT exit 0 after removing bd.sock and
// daemon.pid (daemon.lock stays, unlocked); SIGHUP is logged and ignored; the
// daemon exits when its parent dies (foreground only). The daemon is
// unsupported on Windows (it says so and exits 1).
//
// # Knobs (environment variables, for tests)
//
//	BDSIM_VERSION          version reported everywhere (default 0.28.0); below
//	                       0.28.0, --foreground is an unknown flag.
//	BDSIM_CRASH_AFTER      duration: the daemon exits after it, without cleaning
//	                       bd.sock/daemon.pid (like a crash), reason in daemon.log.
//	BDSIM_EXIT_CODE        exit code of that crash (default 0, like bd's silent failures).
//	BDSIM_LEAK_RATE        bytes per second to allocate and touch (suffixes K, M, G).
//	BDSIM_IGNORE_SIGTERM=1 SIGTERM is logged and ignored (SIGINT still stops).
//	BDSIM_SLOW_START       delay between taking the lock and listening on the socket.
//	BDSIM_UNHEALTHY_AFTER  duration after which health says unhealthy (success=false).
//	BDSIM_DB_LATENCY       duration the health database check takes (db_response_ms;
//	                       above 500ms health says degraded).
//	BDSIM_PARTIAL_LINE=1   stdout lines are written in fragments split mid-line.
//	BDSIM_OUTPUT_LINES     number of extra numbered lines ("bdsim line 000001 ...")
//	                       written to stdout after the start line.
//	BDSIM_PARENT_POLL      period of the parent-death check (default 10s, as bd).
//
// # bd 1.x mode (BDSIM_VERSION >= 0.50.0, e.g. 1.0.5)
//
// The commands of bd v1.0.5 in server mode, reading and writing issues over
// SQL (go-sql-driver/mysql, as bd) through a real `dolt sql-server` (dolt must
// be on PATH; `make dolt` installs the one bd v1.0.5 pins into .tools/bin):
//
//	bd version [--json]                 bd version 1.0.5 (dev); no daemon command
//	bd init --server [--prefix P] [--shared-server] [--database D]
//	bd init                             embedded mode: files only (not simulated)
//	bd create "title" [-p N] [-t T] [-d D] [--silent|--json]
//	bd list [--all] [--json] | bd show ID [--json] | bd close ID [--reason R]
//	bd dolt start | stop | status [--json]
//
// Every command finds its server as bd does (internal/doltserver at v1.0.5):
// port BEADS_DOLT_SERVER_PORT > .beads/dolt-server.port > config.yaml
// dolt.port > metadata.json dolt_server_port (warns); a port that accepts TCP
// is used as is; otherwise a pid file naming a live, non-zombie "dolt ...
// sql-server" is running, anything else is stale (pid and port files deleted)
// and bd auto-starts `dolt sql-server -H 127.0.0.1 -P <port> --loglevel=warning`
// in the data dir (.beads/dolt), in its own process group, output appended to
// .beads/dolt-server.log, under the dolt-server.lock flock, after killing
// stale servers of the data dir (only when a canonical pid file exists), then
// writes the pid and port files and waits BEADS_DOLT_READY_TIMEOUT (10) s for
// the port. Auto-start is off with BEADS_DOLT_AUTO_START=0|false|off,
// config.yaml dolt.auto-start: false, an explicit metadata.json port or shared
// server mode (BEADS_DOLT_SHARED_SERVER=1 or dolt.shared-server: true; files
// in ~/.beads/shared-server or BEADS_SHARED_SERVER_DIR, data dir there/dolt,
// port 3308). After connecting, the database's metadata `_project_id` must
// equal metadata.json's project_id. Writes commit as bd's do ("bd: create
// ID", "bd: close ID"); bd init leaves the config table uncommitted, as bd.
//
//	BDSIM_NO_COMMIT=1      simulator only: create and close leave their rows in
//	                       the working set, uncommitted (bd commits each), so a
//	                       test has a pending change for a flush to commit.
//	BDSIM_READY_POLL       period of the start's readiness dials (default 50ms;
//	                       "500ms" is bd v1.0.5's own time.Sleep, which the bench
//	                       uses to time `bd dolt start` as bd behaves).
package bdsim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultVersion is the bd version simulated when BDSIM_VERSION is not set.
const DefaultVersion = "0.28.0"

// Main runs the simulator with os.Args and returns the exit code.
func Main() int {
	return run(os.Args[1:], os.Stdout, os.Stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	version := envOr("BDSIM_VERSION", DefaultVersion)
	if !versionLess(version, "0.50.0") {
		return runV1(args, version, stdout, stderr)
	}
	if len(args) == 0 {
		help(stdout)
		return 0
	}
	switch args[0] {
	case "--version", "-v":
		fmt.Fprintf(stdout, "bd version %s (dev)\n", version)
		return 0
	case "version":
		for _, a := range args[1:] {
			if a == "--json" {
				b, _ := json.Marshal(map[string]string{"version": version, "build": "dev"})
				fmt.Fprintf(stdout, "%s\n", b)
				return 0
			}
		}
		fmt.Fprintf(stdout, "bd version %s (dev)\n", version)
		return 0
	case "init":
		return initCommand(args[1:], stdout, stderr)
	case "daemon":
		opts, err := parseDaemonFlags(args[1:], version)
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		return daemonCommand(opts, stdout, stderr)
	default:
		help(stdout)
		return 0
	}
}

func help(w io.Writer) {
	fmt.Fprint(w, `bd - Dependency-aware issue tracker (bdsim, a simulator of bd v0.28)

Usage:
  bd version [--json]
  bd init [--prefix P] [-q]
  bd daemon --start [--foreground] [--interval 5s] [--log PATH]
  bd daemon --stop | --status

Only version, init and daemon are simulated.
`)
}

// daemonOptions are the flags of `bd daemon`.
type daemonOptions struct {
	version    string
	start      bool
	stop       bool
	status     bool
	foreground bool
	interval   time.Duration
	logPath    string
}

func parseDaemonFlags(args []string, version string) (daemonOptions, error) {
	o := daemonOptions{version: version, interval: 5 * time.Second}
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(args[i], "=")
		next := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag needs an argument: %s", name)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "--start":
			o.start = true
		case "--stop":
			o.stop = true
		case "--status":
			o.status = true
		case "--foreground":
			if versionLess(version, "0.28.0") {
				return o, fmt.Errorf("unknown flag: --foreground")
			}
			o.foreground = true
		case "--interval":
			v, err := next()
			if err != nil {
				return o, err
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return o, fmt.Errorf("invalid argument %q for \"--interval\" flag: %v", v, err)
			}
			o.interval = d
		case "--log":
			v, err := next()
			if err != nil {
				return o, err
			}
			o.logPath = v
		case "--auto-commit", "--auto-push", "--json":
			// accepted and ignored
		default:
			if strings.HasPrefix(name, "-") {
				return o, fmt.Errorf("unknown flag: %s", name)
			}
			return o, fmt.Errorf("unknown command %q for \"bd daemon\"", name)
		}
	}
	if os.Getenv("BD_DAEMON_FOREGROUND") == "1" {
		o.foreground = true
	}
	return o, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// envDuration reads a duration knob; a bare number means milliseconds.
func envDuration(key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Millisecond
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def
	}
	return d
}

// parseSize reads "1048576", "512K", "10M", "1G" (powers of 1024).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.ToUpper(s), "B"))
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
