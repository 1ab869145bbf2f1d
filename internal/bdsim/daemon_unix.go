//go:build unix

package bdsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// detachedEnv marks the re-executed background daemon: it has no parent to watch.
const detachedEnv = "BDSIM_DETACHED"

// lockInfo is the JSON content of .beads/daemon.lock.
type lockInfo struct {
	PID       int    `json:"pid"`
	ParentPID int    `json:"parent_pid"`
	Database  string `json:"database"`
	Version   string `json:"version"`
	StartedAt string `json:"started_at"`
}

type paths struct {
	workspace, dir, sock, pid, lock, log, db string
}

func workspacePaths(logPath string) (paths, error) {
	db, err := findDatabase()
	if err != nil {
		return paths{}, err
	}
	dir := filepath.Dir(db)
	p := paths{
		workspace: filepath.Dir(dir),
		dir:       dir,
		sock:      filepath.Join(dir, "bd.sock"),
		pid:       filepath.Join(dir, "daemon.pid"),
		lock:      filepath.Join(dir, "daemon.lock"),
		log:       filepath.Join(dir, "daemon.log"),
		db:        db,
	}
	if logPath != "" {
		p.log, _ = filepath.Abs(logPath)
	}
	return p, nil
}

func daemonCommand(o daemonOptions, stdout, stderr io.Writer) int {
	p, err := workspacePaths(o.logPath)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	switch {
	case o.stop:
		return stopDaemon(p, stdout, stderr)
	case o.status:
		if info, held := lockHeld(p.lock); held {
			fmt.Fprintf(stdout, "Daemon is running (PID %d, version %s)\n", info.PID, info.Version)
		} else {
			fmt.Fprintln(stdout, "Daemon is not running")
		}
		return 0
	case !o.start:
		help(stdout)
		return 0
	}
	if err := prepareWorkspace(p); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	if !o.foreground {
		return startBackground(o, p, stdout, stderr)
	}
	lockFile, err := acquireLock(p.lock)
	if err != nil {
		info, _ := readLockInfo(p.lock)
		fmt.Fprintf(stderr, "Error: daemon already running (PID %d, version %s)\n", info.PID, info.Version)
		return 1
	}
	out := &lineWriter{w: stdout, partial: os.Getenv("BDSIM_PARTIAL_LINE") == "1"}
	out.line(fmt.Sprintf("Starting bd daemon (interval: %v, auto-commit: false, auto-push: false)", o.interval))
	return runDaemon(o, p, lockFile, out)
}

func prepareWorkspace(p paths) error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(p.dir, 0o700); err != nil {
		return err
	}
	for _, f := range []string{filepath.Join(p.dir, "issues.jsonl")} {
		fh, err := os.OpenFile(f, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		fh.Close()
	}
	return nil
}

// acquireLock opens daemon.lock and takes flock(LOCK_EX|LOCK_NB) on it.
func acquireLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func readLockInfo(path string) (lockInfo, error) {
	var info lockInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(b, &info)
}

// lockHeld reports whether another process holds the daemon lock.
func lockHeld(path string) (lockInfo, bool) {
	f, err := os.Open(path)
	if err != nil {
		return lockInfo{}, false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		info, _ := readLockInfo(path)
		return info, true
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return lockInfo{}, false
}

// logger writes bd's daemon.log lines.
type logger struct {
	mu sync.Mutex
	f  *os.File
}

func (l *logger) printf(format string, args ...any) {
	if l == nil || l.f == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "[%s] %s\n", time.Now().Format("2006-01-02 15:04:05"), fmt.Sprintf(format, args...))
}

// lineWriter writes whole lines to stdout, or in fragments split mid-line.
type lineWriter struct {
	mu      sync.Mutex
	w       io.Writer
	partial bool
	paused  bool // the first split line has paused already
}

// line writes s and a newline. In partial mode the first line pauses between
// its fragments so that a reader surely sees a partial line; later lines rely
// on the pipe to cut reads mid-line.
func (lw *lineWriter) line(s string) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	b := []byte(s + "\n")
	if !lw.partial || len(b) < 2 {
		_, _ = lw.w.Write(b)
		return
	}
	cut := len(b) / 2
	_, _ = lw.w.Write(b[:cut])
	if !lw.paused {
		lw.paused = true
		time.Sleep(20 * time.Millisecond)
	}
	_, _ = lw.w.Write(b[cut:])
}

func runDaemon(o daemonOptions, p paths, lockFile *os.File, out *lineWriter) int {
	logFile, err := os.OpenFile(p.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: cannot open log file: %v\n", err)
	}
	log := &logger{f: logFile}
	pid := os.Getpid()
	detached := os.Getenv(detachedEnv) == "1"
	ppid := os.Getppid()
	parent := ppid
	if detached {
		parent = 0
	}
	info, _ := json.Marshal(lockInfo{
		PID: pid, ParentPID: parent, Database: p.db, Version: o.version,
		StartedAt: time.Now().UTC().Format(time.RFC3339),
	})
	_ = lockFile.Truncate(0)
	_, _ = lockFile.WriteAt(info, 0)

	log.printf("Daemon started (interval: %v, auto-commit: false, auto-push: false)", o.interval)
	log.printf("Using database: %s", p.db)
	if err := os.WriteFile(p.pid, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		log.printf("Error: cannot write PID file: %v", err)
		return 0
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	srv := newServer(o.version, p.workspace, p.sock, pid)
	srv.unhealthyAfter = envDuration("BDSIM_UNHEALTHY_AFTER", 0)
	srv.dbLatency = envDuration("BDSIM_DB_LATENCY", 0)

	var (
		mu      sync.Mutex
		closing bool
		ln      net.Listener
	)
	listenErr := make(chan error, 1)
	go func() {
		if d := envDuration("BDSIM_SLOW_START", 0); d > 0 {
			time.Sleep(d)
		}
		mu.Lock()
		defer mu.Unlock()
		if closing {
			return
		}
		_ = os.Remove(p.sock) // a stale socket from a killed daemon
		l, err := net.Listen("unix", p.sock)
		if err != nil {
			listenErr <- err
			return
		}
		_ = os.Chmod(p.sock, 0o600)
		ln = l
		log.printf("RPC server ready (socket listening)")
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					srv.serveConn(c)
				}()
			}
		}()
	}()

	if n, _ := strconv.Atoi(os.Getenv("BDSIM_OUTPUT_LINES")); n > 0 {
		go func() {
			for i := 1; i <= n; i++ {
				out.line(fmt.Sprintf("bdsim line %06d of %06d: the quick brown fox jumps over the lazy dog", i, n))
			}
		}()
	}
	if v := os.Getenv("BDSIM_LEAK_RATE"); v != "" {
		if rate, err := parseSize(v); err == nil && rate > 0 {
			log.printf("Leaking %d bytes per second (BDSIM_LEAK_RATE)", rate)
			go leak(rate)
		}
	}

	var crash <-chan time.Time
	crashAfter := envDuration("BDSIM_CRASH_AFTER", 0)
	if crashAfter > 0 {
		crash = time.After(crashAfter)
	}
	var parentTick <-chan time.Time
	if !detached && ppid > 1 {
		t := time.NewTicker(envDuration("BDSIM_PARENT_POLL", 10*time.Second))
		defer t.Stop()
		parentTick = t.C
	}
	ignoreTerm := os.Getenv("BDSIM_IGNORE_SIGTERM") == "1"

	cleanup := func() {
		mu.Lock()
		closing = true
		if ln != nil {
			ln.Close()
		}
		mu.Unlock()
		_ = os.Remove(p.sock)
		_ = os.Remove(p.pid)
		_ = unix.Flock(int(lockFile.Fd()), unix.LOCK_UN)
		lockFile.Close()
		log.printf("Daemon stopped")
	}
	for {
		select {
		case sig := <-sigs:
			switch {
			case sig == syscall.SIGHUP:
				log.printf("Received SIGHUP, ignoring (daemon continues running)")
			case sig == syscall.SIGTERM && ignoreTerm:
				log.printf("Received signal %v, ignoring it (BDSIM_IGNORE_SIGTERM=1)", sig)
			default:
				log.printf("Received signal %v, shutting down gracefully...", sig)
				cleanup()
				return 0
			}
		case <-srv.shutdown:
			log.printf("Received shutdown request, shutting down gracefully...")
			cleanup()
			return 0
		case <-parentTick:
			if os.Getppid() != ppid || !processAlive(ppid) {
				log.printf("Parent process (PID %d) died, shutting down daemon", ppid)
				cleanup()
				return 0
			}
		case err := <-listenErr:
			log.printf("Error: failed to start RPC server: %v", err)
			cleanup()
			return 0
		case <-crash:
			code, _ := strconv.Atoi(os.Getenv("BDSIM_EXIT_CODE"))
			log.printf("Error: simulated failure after %v (BDSIM_CRASH_AFTER), exiting with code %d", crashAfter, code)
			// A crash: bd.sock, daemon.pid and daemon.lock stay behind.
			return code
		}
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// leak allocates rate bytes per second and touches every page, so RSS grows.
func leak(rate int64) {
	var kept [][]byte
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		b := make([]byte, rate/10)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		kept = append(kept, b)
	}
	_ = kept
}

// startBackground re-executes bd in a new session, detached from the caller,
// as bd's auto-started background daemon, and waits until it answers.
func startBackground(o daemonOptions, p paths, stdout, stderr io.Writer) int {
	if info, held := lockHeld(p.lock); held {
		fmt.Fprintf(stderr, "Error: daemon already running (PID %d, version %s)\n", info.PID, info.Version)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	args := []string{"daemon", "--start", "--interval", o.interval.String()}
	if o.logPath != "" {
		args = append(args, "--log", p.log)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = p.workspace
	cmd.Env = append(os.Environ(), "BD_DAEMON_FOREGROUND=1", detachedEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "Error: failed to start daemon: %v\n", err)
		return 1
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(5*time.Second + envDuration("BDSIM_SLOW_START", 0))
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(p.pid); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) {
			if c, err := net.DialTimeout("unix", p.sock, time.Second); err == nil {
				c.Close()
				fmt.Fprintf(stdout, "Daemon started (PID %d)\n", cmd.Process.Pid)
				return 0
			}
		}
		select {
		case <-exited:
			deadline = time.Time{}
		case <-time.After(20 * time.Millisecond):
		}
	}
	fmt.Fprintln(stderr, "Warning: daemon may have failed to start (PID file not confirmed)")
	fmt.Fprintf(stderr, "Check log file: %s\n", p.log)
	return 0
}

// stopDaemon sends the shutdown RPC and waits for the lock to be released;
// SIGTERM then SIGKILL to the lock holder when it does not go.
func stopDaemon(p paths, stdout, stderr io.Writer) int {
	info, held := lockHeld(p.lock)
	if !held {
		fmt.Fprintln(stdout, "Daemon is not running")
		return 0
	}
	if c, err := net.DialTimeout("unix", p.sock, 2*time.Second); err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write([]byte(`{"operation":"shutdown","args":null}` + "\n"))
		_, _ = bufio.NewReader(c).ReadString('\n')
		c.Close()
	}
	gone := func(d time.Duration) bool {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if _, held := lockHeld(p.lock); !held {
				return true
			}
		}
		return false
	}
	if !gone(5*time.Second) && info.PID > 0 {
		_ = syscall.Kill(info.PID, syscall.SIGTERM)
		if !gone(3 * time.Second) {
			_ = syscall.Kill(info.PID, syscall.SIGKILL)
			if !gone(time.Second) {
				fmt.Fprintf(stderr, "Error: daemon (PID %d) did not stop\n", info.PID)
				return 1
			}
		}
	}
	fmt.Fprintln(stdout, "Daemon stopped")
	return 0
}
