package bdsim

// bd 1.x's server lifecycle, after internal/doltserver/doltserver.go and
// servermode.go at v1.0.5 (function names kept: DefaultConfig -> defaultConfig,
// IsRunning -> isRunning, EnsureRunningDetailed -> ensureRunning, Start -> start,
// StopWithForce -> stop, FlushWorkingSet -> flushWorkingSet,
// KillStaleServers -> killStaleServers). The messages are bd's, verbatim.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	mysql "github.com/go-sql-driver/mysql"
)

const (
	pidFileName              = "dolt-server.pid"
	portFileName             = "dolt-server.port"
	logFileName              = "dolt-server.log"
	lockFileName             = "dolt-server.lock"
	defaultSharedServerPort  = 3308
	maxEphemeralPortAttempts = 10
	globalDatabaseName       = "beads_global"
	doltServerLogLevel       = "warning"
	// readyPoll is how often waitForReady dials. bd sleeps 500 ms between
	// dials; the simulator dials every 50 ms so that tests and the demo do not
	// wait for bd's polling granularity, unless BDSIM_READY_POLL says
	// otherwise (the bench sets bd's own 500ms). The deadline is bd's.
	readyPoll = 50 * time.Millisecond
	// exitCheck is bd's "quick check: did the process exit immediately"
	// window after starting dolt (doltserver.go Start, 200 ms).
	exitCheck = 200 * time.Millisecond
)

var errServerNotRunning = errors.New("dolt server is not running")

// serverMode is doltserver.ServerMode.
type serverMode int

const (
	modeOwned serverMode = iota
	modeExternal
	modeEmbedded
)

// env is one bd invocation's view of its workspace: the project .beads/
// directory, its config.yaml and where warnings go (bd writes them to stderr).
type env struct {
	beadsDir string
	yaml     *yamlConfig
	stderr   io.Writer
}

func newEnv(beadsDir string, stderr io.Writer) *env {
	return &env{beadsDir: beadsDir, yaml: loadYAMLConfig(beadsDir), stderr: stderr}
}

// isSharedServerMode is doltserver.IsSharedServerMode.
func (e *env) isSharedServerMode() bool {
	if v := os.Getenv("BEADS_DOLT_SHARED_SERVER"); v == "1" || strings.EqualFold(v, "true") {
		return true
	}
	return e.yaml.getBool("dolt.shared-server")
}

// isAutoStartDisabled is doltserver.IsAutoStartDisabled.
func (e *env) isAutoStartDisabled() bool {
	return isFalsyBool(os.Getenv("BEADS_DOLT_AUTO_START")) || isFalsyBool(e.yaml.get("dolt.auto-start"))
}

// readyTimeout is doltserver.readyTimeout: BEADS_DOLT_READY_TIMEOUT in whole seconds, default 10.
func (e *env) readyTimeout() time.Duration {
	const def = 10 * time.Second
	v := strings.TrimSpace(os.Getenv("BEADS_DOLT_READY_TIMEOUT"))
	if v == "" {
		return def
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 1 {
		fmt.Fprintf(e.stderr, "Warning: BEADS_DOLT_READY_TIMEOUT=%q is not a positive integer; using default %s\n", v, def)
		return def
	}
	return time.Duration(secs) * time.Second
}

// sharedServerDir is doltserver.SharedServerDir (created on first use).
func sharedServerDir() (string, error) {
	dir := os.Getenv("BEADS_SHARED_SERVER_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot determine home directory: %w", err)
		}
		dir = filepath.Join(home, ".beads", "shared-server")
	}
	if err := os.MkdirAll(dir, beadsDirPerm); err != nil {
		return "", fmt.Errorf("cannot create shared server directory %s: %w", dir, err)
	}
	return dir, nil
}

// resolveServerDir is doltserver.resolveServerDir: where the pid, port, log
// and lock files live.
func (e *env) resolveServerDir(beadsDir string) string {
	if e.isSharedServerMode() {
		dir, err := sharedServerDir()
		if err != nil {
			fmt.Fprintf(e.stderr, "Warning: shared server directory unavailable, using per-project mode: %v\n", err)
			return beadsDir
		}
		return dir
	}
	return beadsDir
}

// resolveDoltDir is doltserver.ResolveDoltDir: the dolt sql-server's data dir.
func (e *env) resolveDoltDir(beadsDir string) string {
	if e.isSharedServerMode() {
		dir, err := sharedServerDir()
		if err == nil {
			dir = filepath.Join(dir, "dolt")
			err = os.MkdirAll(dir, beadsDirPerm)
		}
		if err == nil {
			return dir
		}
		fmt.Fprintf(e.stderr, "Warning: shared dolt directory unavailable, using per-project mode: %v\n", err)
	}
	if d := os.Getenv("BEADS_DOLT_DATA_DIR"); d != "" {
		if filepath.IsAbs(d) {
			return d
		}
		return filepath.Join(beadsDir, d)
	}
	if m, err := loadMetadata(beadsDir); err == nil && m != nil {
		return m.databasePath(beadsDir)
	}
	return filepath.Join(beadsDir, "dolt")
}

// databasePath is configfile.Config.DatabasePath.
func (m *metadataFile) databasePath(beadsDir string) string {
	if d := m.DoltDataDir; d != "" {
		if filepath.IsAbs(d) {
			return d
		}
		return filepath.Join(beadsDir, d)
	}
	if filepath.IsAbs(m.Database) {
		return m.Database
	}
	return filepath.Join(beadsDir, "dolt")
}

// resolveServerMode is doltserver.ResolveServerMode.
func (e *env) resolveServerMode(beadsDir string) serverMode {
	if os.Getenv("BEADS_DOLT_SERVER_MODE") == "1" || e.isSharedServerMode() {
		return modeExternal
	}
	m, err := loadMetadata(beadsDir)
	if err != nil || m == nil {
		return modeOwned
	}
	if m.DoltMode != "" && strings.EqualFold(m.DoltMode, doltModeEmbedded) {
		return modeEmbedded
	}
	if m.DoltServerPort > 0 {
		return modeExternal
	}
	return modeOwned
}

// serverConfig is doltserver.Config.
type serverConfig struct {
	beadsDir string
	host     string
	port     int // 0: allocate an ephemeral port at start
	mode     serverMode
}

// defaultConfig is doltserver.DefaultConfig. Port precedence:
// BEADS_DOLT_SERVER_PORT > dolt-server.port > config.yaml dolt.port >
// metadata.json dolt_server_port (deprecated, warns) > 3308 in shared mode.
func (e *env) defaultConfig(beadsDir string) serverConfig {
	if e.isSharedServerMode() {
		if dir, err := sharedServerDir(); err == nil {
			beadsDir = dir
		}
	}
	cfg := serverConfig{beadsDir: beadsDir, host: defaultServerHost, mode: e.resolveServerMode(beadsDir)}
	if p := os.Getenv("BEADS_DOLT_SERVER_PORT"); p != "" {
		if port, err := strconv.Atoi(p); err == nil {
			cfg.port = port
			return cfg
		}
	}
	if p := readPortFile(beadsDir); p > 0 {
		cfg.port = p
		return cfg
	}
	if p := e.yaml.get("dolt.port"); p != "" {
		if port, err := strconv.Atoi(p); err == nil && port > 0 {
			cfg.port = port
		}
	}
	if cfg.port == 0 {
		if m, err := loadMetadata(beadsDir); err == nil && m != nil && m.DoltServerPort > 0 {
			fmt.Fprintf(e.stderr, "Warning: dolt_server_port in metadata.json is deprecated (can cause cross-project data leakage).\n")
			fmt.Fprintf(e.stderr, "  The port file (.beads/dolt-server.port) is now the primary source.\n")
			fmt.Fprintf(e.stderr, "  Remove dolt_server_port from .beads/metadata.json to silence this warning.\n")
			cfg.port = m.DoltServerPort
		}
	}
	if cfg.port == 0 && e.isSharedServerMode() {
		cfg.port = defaultSharedServerPort
	}
	return cfg
}

func pidPath(dir string) string  { return filepath.Join(dir, pidFileName) }
func portPath(dir string) string { return filepath.Join(dir, portFileName) }
func logPath(dir string) string  { return filepath.Join(dir, logFileName) }
func lockPath(dir string) string { return filepath.Join(dir, lockFileName) }

func readPortFile(dir string) int {
	data, err := os.ReadFile(portPath(dir))
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0
	}
	return port
}

// writePortFile: decimal, no newline, 0600, as bd.
func writePortFile(dir string, port int) error {
	return os.WriteFile(portPath(dir), []byte(strconv.Itoa(port)), 0o600)
}

// ensurePortFile is doltserver.EnsurePortFile.
func (e *env) ensurePortFile(dir string, port int) error {
	if dir == "" || port <= 0 {
		return nil
	}
	existing := readPortFile(dir)
	if existing == port {
		return nil
	}
	if existing > 0 {
		fmt.Fprintf(e.stderr, "Info: updating port file %d → %d in %s\n", existing, port, dir)
	}
	return writePortFile(dir, port)
}

// serverState is doltserver.State; its json tags are `bd dolt status --json`'s.
type serverState struct {
	Running bool   `json:"running"`
	PID     int    `json:"pid"`
	Port    int    `json:"port"`
	DataDir string `json:"data_dir"`
}

func removeStateFiles(dir string) {
	_ = os.Remove(pidPath(dir))
	_ = os.Remove(portPath(dir))
}

// isRunning is doltserver.IsRunning: the pid in dolt-server.pid is alive, not
// a zombie, and its command line holds "dolt" and "sql-server"; otherwise the
// pid and port files are deleted as stale.
func (e *env) isRunning(dir string) (*serverState, error) {
	data, err := os.ReadFile(pidPath(dir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &serverState{}, nil
		}
		return nil, fmt.Errorf("reading PID file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || !serverAlive(pid) || !isDoltProcess(pid) {
		removeStateFiles(dir)
		return &serverState{}, nil
	}
	port := readPortFile(dir)
	if port == 0 {
		port = e.defaultConfig(dir).port
	}
	if port == 0 {
		fmt.Fprintf(e.stderr, "Dolt server (PID %d) running but port unknown; stopping for restart\n", pid)
		gracefulStop(pid, 5*time.Second)
		_ = os.Remove(pidPath(dir))
		return &serverState{}, nil
	}
	return &serverState{Running: true, PID: pid, Port: port, DataDir: e.resolveDoltDir(dir)}, nil
}

// ensureRunning is doltserver.EnsureRunningDetailed.
func (e *env) ensureRunning(beadsDir string) (int, error) {
	serverDir := e.resolveServerDir(beadsDir)
	state, err := e.isRunning(serverDir)
	if err != nil {
		return 0, err
	}
	if state.Running {
		_ = e.ensurePortFile(serverDir, state.Port)
		return state.Port, nil
	}
	if e.resolveServerMode(beadsDir) == modeExternal {
		//lint:ignore ST1005 bd v1.0.5's own message, verbatim (the simulator must print what bd prints)
		return 0, fmt.Errorf("Dolt server is not running on port %d, and auto-start is suppressed "+
			"because the server is externally managed (dolt.auto-start: false or explicit port configured).\n\n"+
			"Start the external server, or enable auto-start to allow bd to manage the server.\n"+
			"  To start manually: bd dolt start\n"+
			"  To check status: bd dolt status", e.defaultConfig(beadsDir).port)
	}
	if e.isAutoStartDisabled() {
		//lint:ignore ST1005 bd v1.0.5's own message, verbatim (the simulator must print what bd prints)
		return 0, fmt.Errorf("Dolt server unreachable (port %d) and auto-start is disabled "+
			"(dolt.auto-start: false in config.yaml or BEADS_DOLT_AUTO_START=0).\n\n"+
			"Start the server manually or enable auto-start.\n"+
			"  To start manually: bd dolt start\n"+
			"  To check status: bd dolt status", e.defaultConfig(beadsDir).port)
	}
	s, err := e.start(serverDir)
	if err != nil {
		return 0, err
	}
	return s.Port, nil
}

// buildDoltServerArgs is doltserver.buildDoltServerArgs (debug mode aside).
func buildDoltServerArgs(host string, port int) []string {
	return []string{"sql-server", "-H", host, "-P", strconv.Itoa(port), "--loglevel=" + doltServerLogLevel}
}

// start is doltserver.Start: under the dolt-server.lock flock (a concurrent
// start waits for it, then re-checks), kill stale servers of the data dir,
// `dolt init` the data dir when new, start a detached `dolt sql-server` there
// with its output appended to dolt-server.log, write the pid and port files
// and wait up to readyTimeout for the port.
func (e *env) start(dir string) (*serverState, error) {
	cfg := e.defaultConfig(dir)
	doltDir := e.resolveDoltDir(dir)

	unlock, err := lockStart(lockPath(dir))
	if err != nil {
		return nil, err
	}
	defer unlock()

	if state, _ := e.isRunning(dir); state != nil && state.Running {
		return state, nil
	}
	if killed := e.killStaleServers(dir); len(killed) > 0 {
		fmt.Fprintf(e.stderr, "Info: cleaned up %d orphaned dolt sql-server process(es)\n", len(killed))
	}
	doltBin, err := exec.LookPath("dolt")
	if err != nil {
		return nil, fmt.Errorf("dolt is not installed (not found in PATH)\n\nInstall from: https://docs.dolthub.com/introduction/installation")
	}
	if err := ensureDoltIdentity(); err != nil {
		return nil, fmt.Errorf("configuring dolt identity: %w", err)
	}
	if err := ensureDoltInit(doltDir); err != nil {
		return nil, fmt.Errorf("initializing dolt database: %w", err)
	}
	maybeRotateLog(logPath(dir))
	logFile, err := os.OpenFile(logPath(dir), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	defer logFile.Close()

	port := cfg.port
	explicit := port > 0
	if explicit {
		adoptPID, err := e.reclaimPort(cfg.host, port, dir)
		if err != nil {
			return nil, fmt.Errorf("cannot start dolt server on port %d: %w", port, err)
		}
		if adoptPID > 0 {
			_ = os.WriteFile(pidPath(dir), []byte(strconv.Itoa(adoptPID)), 0o600)
			_ = writePortFile(dir, port)
			return &serverState{Running: true, PID: adoptPID, Port: port, DataDir: doltDir}, nil
		}
	}
	attempts := 1
	if !explicit {
		attempts = maxEphemeralPortAttempts
	}
	pid := 0
	var reaped <-chan struct{} // closed when the started server has exited and been reaped
	var lastErr error
	for i := range attempts {
		if !explicit {
			p, err := allocateEphemeralPort(cfg.host)
			if err != nil {
				lastErr = err
				continue
			}
			port = p
		}
		cmd := exec.Command(doltBin, buildDoltServerArgs(cfg.host, port)...)
		cmd.Dir = doltDir
		cmd.Stdout = logFile
		cmd.Stderr = logFile
		cmd.SysProcAttr = detachedAttr()
		if err := cmd.Start(); err != nil {
			lastErr = err
			if !explicit {
				continue
			}
			break
		}
		done := reap(cmd)
		if exitedWithin(done, exitCheck) {
			lastErr = fmt.Errorf("dolt sql-server exited immediately on port %d (attempt %d/%d)", port, i+1, attempts)
			if !explicit {
				continue
			}
			break
		}
		pid, reaped = cmd.Process.Pid, done
		lastErr = nil
		break
	}
	if lastErr != nil {
		return nil, fmt.Errorf("failed to start dolt server after %d attempts: %w\nCheck logs: %s", attempts, lastErr, logPath(dir))
	}
	if err := os.WriteFile(pidPath(dir), []byte(strconv.Itoa(pid)), 0o600); err != nil {
		killAndReap(pid, reaped)
		return nil, fmt.Errorf("writing PID file: %w", err)
	}
	if err := writePortFile(dir, port); err != nil {
		killAndReap(pid, reaped)
		_ = os.Remove(pidPath(dir))
		return nil, fmt.Errorf("writing port file: %w", err)
	}
	if err := waitForReady(cfg.host, port, e.readyTimeout()); err != nil {
		killAndReap(pid, reaped)
		removeStateFiles(dir)
		return nil, fmt.Errorf("server started (PID %d) but not accepting connections on port %d: %w\nCheck logs: %s",
			pid, port, err, logPath(dir))
	}
	return &serverState{Running: true, PID: pid, Port: port, DataDir: doltDir}, nil
}

// maybeRotateLog is logrotate.go maybeRotateLog: at start only, a log over
// BEADS_DOLT_LOG_MAX_BYTES (default 50 MB; <= 0 never) becomes log.1,
// replacing the previous one.
func maybeRotateLog(primary string) {
	maxBytes := int64(50 << 20)
	if v := os.Getenv("BEADS_DOLT_LOG_MAX_BYTES"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			maxBytes = n
		}
	}
	if info, err := os.Stat(primary); maxBytes > 0 && err == nil && info.Size() > maxBytes {
		_ = os.Rename(primary, primary+".1")
	}
}

// reap waits for the just-started cmd in a goroutine, so the child never
// lingers as a zombie while this process runs; the channel is closed once it
// has exited. When this process exits first, the child is re-parented
// (detached, as bd leaves it).
func reap(cmd *exec.Cmd) <-chan struct{} {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return done
}

// exitedWithin reports whether the child reaped by done exits within d, the
// way bd checks for an immediate bind failure.
func exitedWithin(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// killAndReap SIGKILLs the server this command started and waits (up to
// 10 s) until it has exited and been reaped: bd returns right after its
// SIGKILL, but a server still dying when the command returns could still be
// writing into the data dir or be counted as a live rival.
func killAndReap(pid int, reaped <-chan struct{}) {
	_ = killPID(pid)
	exitedWithin(reaped, 10*time.Second)
}

// allocateEphemeralPort is doltserver.allocateEphemeralPort.
func allocateEphemeralPort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("allocating ephemeral port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port, nil
}

func isPortAvailable(host string, port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// reclaimPort is doltserver.reclaimPort for an explicit port: free -> 0; our
// data dir's dolt -> adopt its pid; anything else -> an error.
func (e *env) reclaimPort(host string, port int, dir string) (int, error) {
	if isPortAvailable(host, port) {
		return 0, nil
	}
	pid := findPIDOnPort(port)
	if pid == 0 {
		// bd sleeps 2 s and retries once here (TIME_WAIT); the simulator
		// retries once at once.
		if isPortAvailable(host, port) {
			return 0, nil
		}
		return 0, fmt.Errorf("port %d is busy but cannot identify the process.\n\nCheck with: lsof -i :%d", port, port)
	}
	if !isDoltProcess(pid) {
		return 0, fmt.Errorf("port %d is in use by a non-dolt process (PID %d).\n\nFree the port or configure a different one with: bd dolt set port <port>", port, pid)
	}
	if isProcessInDir(pid, e.resolveDoltDir(dir)) {
		return pid, nil
	}
	return 0, fmt.Errorf("port %d is in use by another project's dolt server (PID %d).\n\nFree the port or use a different one with: bd dolt set port <port>", port, pid)
}

// killStaleServers is doltserver.KillStaleServers / killStaleServersForDir:
// never when auto-start is disabled or the server is external; only when
// dolt-server.pid names a canonical pid; then every other dolt sql-server
// whose working directory is our data dir is SIGKILLed.
func (e *env) killStaleServers(dir string) []int {
	if e.isAutoStartDisabled() || e.resolveServerMode(dir) == modeExternal {
		return nil
	}
	data, err := os.ReadFile(pidPath(e.resolveServerDir(dir)))
	if err != nil {
		return nil
	}
	canonical, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || canonical <= 0 {
		return nil
	}
	owned := e.resolveDoltDir(e.resolveServerDir(dir))
	var killed []int
	for _, pid := range listDoltProcessPIDs() {
		if pid == os.Getpid() || pid == canonical || !isProcessInDir(pid, owned) {
			continue
		}
		if killPID(pid) == nil {
			killed = append(killed, pid)
		}
	}
	return killed
}

// waitForReady is doltserver.waitForReady: TCP dials until the deadline.
func waitForReady(host string, port int, timeout time.Duration) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	poll := envDuration("BDSIM_READY_POLL", readyPoll)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		t := time.NewTimer(poll)
		<-t.C
	}
	return fmt.Errorf("timeout after %s waiting for server at %s", timeout, addr)
}

// ensureDoltIdentity is doltserver.ensureDoltIdentity: set dolt's global
// user.name/user.email from git (or beads/beads@localhost) when unset.
func ensureDoltIdentity() error {
	if out, err := exec.Command("dolt", "config", "--global", "--get", "user.name").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		return nil
	}
	name, email := "beads", "beads@localhost"
	if out, err := exec.Command("git", "config", "user.name").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		name = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "config", "user.email").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		email = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("dolt", "config", "--global", "--add", "user.name", name).CombinedOutput(); err != nil {
		return fmt.Errorf("setting dolt user.name: %w\n%s", err, out)
	}
	if out, err := exec.Command("dolt", "config", "--global", "--add", "user.email", email).CombinedOutput(); err != nil {
		return fmt.Errorf("setting dolt user.email: %w\n%s", err, out)
	}
	return nil
}

// ensureDoltInit is doltserver.ensureDoltInit: `dolt init` in the data dir
// when it has no .dolt/, then the .bd-dolt-ok marker.
func ensureDoltInit(doltDir string) error {
	if err := os.MkdirAll(doltDir, beadsDirPerm); err != nil {
		return fmt.Errorf("creating dolt directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(doltDir, ".dolt")); err != nil {
		cmd := exec.Command("dolt", "init")
		cmd.Dir = doltDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("dolt init: %w\n%s", err, out)
		}
	}
	marker := filepath.Join(doltDir, ".bd-dolt-ok")
	if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
		_ = os.WriteFile(marker, []byte("ok\n"), 0o600)
	}
	return nil
}

// serverDSN is doltutil.ServerDSN.String for TCP.
func serverDSN(host string, port int, user, password, database string, timeout time.Duration) string {
	c := mysql.NewConfig()
	c.User = user
	c.Passwd = password
	c.Net = "tcp"
	c.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	c.DBName = database
	c.ParseTime = true
	c.Timeout = timeout
	c.AllowNativePasswords = true
	return c.FormatDSN()
}

// flushWorkingSet is doltserver.FlushWorkingSet: for each database with rows
// in dolt_status, USE it and CALL DOLT_COMMIT('-Am', 'auto-flush: ...').
func (e *env) flushWorkingSet(host string, port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", serverDSN(host, port, "root", "", "", 5*time.Second))
	if err != nil {
		return fmt.Errorf("flush: failed to open connection: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(10 * time.Second)
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("flush: server not reachable: %w", err)
	}
	names, err := showDatabases(ctx, db)
	if err != nil {
		return fmt.Errorf("flush: failed to list databases: %w", err)
	}
	var databases []string
	for _, name := range names {
		if name != "information_schema" && name != "mysql" && name != "performance_schema" {
			databases = append(databases, name)
		}
	}
	flushed := 0
	for _, name := range databases {
		var hasChanges bool
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) > 0 FROM `%s`.dolt_status", name)).Scan(&hasChanges); err != nil || !hasChanges {
			continue
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf("USE `%s`", name)); err != nil {
			fmt.Fprintf(e.stderr, "flush: failed to USE %s: %v\n", name, err)
			continue
		}
		if _, err := db.ExecContext(ctx, "CALL DOLT_COMMIT('-Am', 'auto-flush: commit working set before server stop')"); err != nil {
			if isNothingToCommit(err) {
				continue
			}
			fmt.Fprintf(e.stderr, "flush: failed to commit %s: %v\n", name, err)
			continue
		}
		flushed++
	}
	if flushed > 0 {
		fmt.Fprintf(e.stderr, "Flushed working set for %d database(s) before server stop\n", flushed)
	}
	return nil
}

// stop is doltserver.StopWithForce: flush, SIGTERM, 5 s, SIGKILL, then
// remove the pid and port files. Not running: the files are removed and
// errServerNotRunning returned.
func (e *env) stop(dir string) error {
	state, err := e.isRunning(dir)
	if err != nil {
		return err
	}
	if !state.Running {
		removeStateFiles(dir)
		return errServerNotRunning
	}
	if err := e.flushWorkingSet(defaultServerHost, state.Port); err != nil {
		fmt.Fprintf(e.stderr, "Warning: could not flush working set before stop: %v\n", err)
	}
	if err := gracefulStop(state.PID, 5*time.Second); err != nil {
		removeStateFiles(dir)
		return err
	}
	removeStateFiles(dir)
	return nil
}
