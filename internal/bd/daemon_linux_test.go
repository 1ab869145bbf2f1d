//go:build linux

package bd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests run the client against the bd simulator (./cmd/bdsim) as a real
// process: real sockets, flocks, signals and files.

// buildBD builds the simulator into a temporary directory and returns its path.
func buildBD(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/beadsctl/beadsctl/cmd/bdsim")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build bdsim: %v\n%s", err, out)
	}
	return bin
}

// newWorkspace returns a folder with .beads/ as bd init leaves it (beads.db).
func newWorkspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	if err := os.Mkdir(filepath.Join(ws, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, ".beads", "beads.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return ws
}

type bdProc struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
}

// lockedBuffer is a bytes.Buffer safe to read while the process writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startBD starts `bd daemon --start --foreground` in ws as our child and waits
// until its socket listens (the "RPC server ready" line of daemon.log).
func startBD(t *testing.T, bd, ws string, env ...string) *bdProc {
	t.Helper()
	return startBDArgs(t, bd, ws, env, "daemon", "--start", "--foreground", "--interval", "5s")
}

// startBDArgs starts bd with args and waits for a new "RPC server ready" line.
func startBDArgs(t *testing.T, bd, ws string, env []string, args ...string) *bdProc {
	t.Helper()
	log := filepath.Join(ws, ".beads", "daemon.log")
	before := strings.Count(readText(log), "RPC server ready")
	p := runBD(t, bd, ws, env, args...)
	waitBeads(t, ws, 10*time.Second, "the socket to listen", func() bool {
		return strings.Count(readText(log), "RPC server ready") > before
	})
	return p
}

func runBD(t *testing.T, bd, ws string, env []string, args ...string) *bdProc {
	t.Helper()
	p := &bdProc{cmd: exec.Command(bd, args...), done: make(chan struct{})}
	p.cmd.Dir = ws
	p.cmd.Env = append(os.Environ(), "BEADS_AUTO_START_DAEMON=false")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *bdProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatalf("bd (pid %d) did not exit; stderr: %s", p.cmd.Process.Pid, p.stderr.String())
		return -1
	}
}

// lastLines is the last n lines of the file at path.
func lastLines(path string, n int) []string {
	lines := strings.Split(strings.TrimSuffix(readText(path), "\n"), "\n")
	return lines[max(0, len(lines)-n):]
}

func readText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func beadsFileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// waitFor waits until cond holds, woken by inotify events in ws/.beads; the
// bound on each wait only guards against an event missed between check and watch.
func waitBeads(t *testing.T, ws string, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(ws, ".beads"),
		unix.IN_CREATE|unix.IN_MODIFY|unix.IN_DELETE|unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_ATTRIB); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50)
		for {
			if n, _ := unix.Read(fd, buf); n <= 0 {
				break
			}
		}
	}
}

func TestBeadsProbeHealthAndStatus(t *testing.T) {
	bd := buildBD(t)
	ws := newWorkspace(t)
	p := startBD(t, bd, ws)
	pid := p.cmd.Process.Pid

	probe, err := ProbeDaemon(t.Context(), ws, "0.28.0")
	if err != nil {
		t.Fatal(err)
	}
	if probe.Status != "healthy" || probe.Version != "0.28.0" || !probe.Compatible || probe.Pid != pid {
		t.Errorf("probe = %+v, want healthy 0.28.0 compatible pid %d", probe, pid)
	}
	if probe.WorkspacePath != ws || probe.DatabasePath != filepath.Join(ws, ".beads", "beads.db") {
		t.Errorf("paths = %q %q, want workspace %q", probe.WorkspacePath, probe.DatabasePath, ws)
	}
	if probe.LastActivity.IsZero() {
		t.Error("LastActivity not parsed")
	}

	lock, held, err := ReadLock(ws)
	if err != nil || !held {
		t.Fatalf("ReadLock: held %v, err %v; want held", held, err)
	}
	if lock.Pid != pid || lock.ParentPid != os.Getpid() || lock.Version != "0.28.0" ||
		lock.Database != probe.DatabasePath || lock.StartedAt.IsZero() {
		t.Errorf("lock = %+v", lock)
	}
	if got := readText(filepath.Join(ws, ".beads", "daemon.pid")); got != strconv.Itoa(pid)+"\n" {
		t.Errorf("daemon.pid = %q", got)
	}
	for name, want := range map[string]os.FileMode{".": 0o700, "bd.sock": 0o600} {
		fi, err := os.Stat(filepath.Join(ws, ".beads", name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, err %v; want %v", name, fi.Mode().Perm(), err, want)
		}
	}
	// A live daemon's files are not stale.
	if removed, err := CleanStale(ws); len(removed) != 0 || err != nil {
		t.Errorf("CleanStale on a live daemon removed %v (err %v)", removed, err)
	}

	// SIGTERM: clean exit 0, socket and pid file gone, the lock file stays unlocked.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if got := p.stdout.String(); got != "Starting bd daemon (interval: 5s, auto-commit: false, auto-push: false)\n" {
		t.Errorf("stdout = %q", got)
	}
	for _, name := range []string{"bd.sock", "daemon.pid"} {
		if beadsFileExists(filepath.Join(ws, ".beads", name)) {
			t.Errorf("%s still there after a clean exit", name)
		}
	}
	if _, held, err := ReadLock(ws); held || err != nil {
		t.Errorf("after exit: held %v, err %v; want the lock file unlocked", held, err)
	}
	if _, err := ProbeDaemon(t.Context(), ws, "0.28.0"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("probe after exit: %v, want ErrNotRunning", err)
	}
	tail := lastLines(filepath.Join(ws, ".beads", "daemon.log"), 2)
	if len(tail) != 2 || !strings.Contains(tail[0], "Received signal terminated, shutting down gracefully") {
		t.Errorf("daemon.log tail = %q", tail)
	}
}

func TestBeadsProbeVersions(t *testing.T) {
	bd := buildBD(t)
	ws := newWorkspace(t)
	startBD(t, bd, ws)

	// An older client is fine: the daemon is newer, same major.
	probe, err := ProbeDaemon(t.Context(), ws, "0.26.0")
	if err != nil || !probe.Compatible {
		t.Errorf("older client: compatible %v, err %v", probe.Compatible, err)
	}

	probe, err = ProbeDaemon(t.Context(), ws, "0.99.0")
	var rpcErr *RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Operation != "status" ||
		!strings.HasPrefix(rpcErr.Message, "version mismatch: client v0.99.0 requires daemon upgrade (daemon is v0.28.0)") {
		t.Fatalf("newer client: err %v, want a status version mismatch", err)
	}
	if probe.Compatible || probe.Version != "0.28.0" || probe.Status != "healthy" || probe.Pid != 0 {
		t.Errorf("newer client: probe %+v, want incompatible healthy 0.28.0 without pid", probe)
	}
}

func TestBeadsProbeUnhealthy(t *testing.T) {
	bd := buildBD(t)
	ws := newWorkspace(t)
	// Unhealthy from its first answer. (1ms failed about one run in 30: the
	// simulator's clock starts just before it listens, and the probe, woken
	// by inotify on "RPC server ready", can be answered within that
	// millisecond, healthy. A nanosecond always passes before an answer.)
	startBD(t, bd, ws, "BDSIM_UNHEALTHY_AFTER=1ns")

	probe, err := ProbeDaemon(t.Context(), ws, "0.28.0")
	var rpcErr *RPCError
	if !errors.As(err, &rpcErr) || rpcErr.Operation != "health" {
		t.Fatalf("err %v, want a health RPCError", err)
	}
	if probe.Status != "unhealthy" || probe.Version != "0.28.0" {
		t.Errorf("probe %+v, want unhealthy 0.28.0", probe)
	}
}

func TestBeadsStaleFilesAfterSIGKILL(t *testing.T) {
	bd := buildBD(t)
	ws := newWorkspace(t)
	p := startBD(t, bd, ws)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	sock := filepath.Join(ws, ".beads", "bd.sock")
	pidFile := filepath.Join(ws, ".beads", "daemon.pid")
	for _, f := range []string{sock, pidFile, filepath.Join(ws, ".beads", "daemon.lock")} {
		if !beadsFileExists(f) {
			t.Fatalf("%s missing after SIGKILL; bd leaves it stale", f)
		}
	}
	lock, held, err := ReadLock(ws)
	if held || err != nil || lock.Pid != p.cmd.Process.Pid {
		t.Errorf("stale lock: %+v held %v err %v; want the dead pid, not held", lock, held, err)
	}
	if _, err := ProbeDaemon(t.Context(), ws, "0.28.0"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("probe of a stale socket: %v, want ErrNotRunning", err)
	}
	removed, err := CleanStale(ws)
	if err != nil || strings.Join(removed, ",") != sock+","+pidFile {
		t.Errorf("CleanStale = %v, %v; want [%s %s]", removed, err, sock, pidFile)
	}
	if removed, err := CleanStale(ws); len(removed) != 0 || err != nil {
		t.Errorf("second clean = %v, %v; want nothing", removed, err)
	}
	// A new daemon starts over the stale lock file.
	p2 := startBD(t, bd, ws)
	if probe, err := ProbeDaemon(t.Context(), ws, "0.28.0"); err != nil || probe.Pid != p2.cmd.Process.Pid {
		t.Errorf("restarted: pid %d err %v, want %d", probe.Pid, err, p2.cmd.Process.Pid)
	}
}

func TestBeadsSecondStartRefused(t *testing.T) {
	bd := buildBD(t)
	ws := newWorkspace(t)
	p := startBD(t, bd, ws)
	second := runBD(t, bd, ws, nil, "daemon", "--start", "--foreground")
	if code := second.wait(t); code != 1 {
		t.Errorf("second start exit code %d, want 1", code)
	}
	want := "Error: daemon already running (PID " + strconv.Itoa(p.cmd.Process.Pid) + ", version 0.28.0)\n"
	if got := second.stderr.String(); got != want {
		t.Errorf("second start stderr %q, want %q", got, want)
	}
	if probe, err := ProbeDaemon(t.Context(), ws, "0.28.0"); err != nil || probe.Pid != p.cmd.Process.Pid {
		t.Errorf("first daemon after refusal: pid %d, err %v", probe.Pid, err)
	}
}

func TestBeadsOldVersionHasNoForeground(t *testing.T) {
	bd := buildBD(t)
	ws := newWorkspace(t)
	p := runBD(t, bd, ws, []string{"BDSIM_VERSION=0.26.0"}, "daemon", "--start", "--foreground")
	if code := p.wait(t); code != 1 || p.stderr.String() != "Error: unknown flag: --foreground\n" {
		t.Errorf("v0.26 --foreground: exit %d stderr %q", code, p.stderr.String())
	}
	// Its foreground mode is BD_DAEMON_FOREGROUND=1.
	startBDArgs(t, bd, ws, []string{"BDSIM_VERSION=0.26.0", "BD_DAEMON_FOREGROUND=1"}, "daemon", "--start")
	if probe, err := ProbeDaemon(t.Context(), ws, "0.26.0"); err != nil || probe.Version != "0.26.0" {
		t.Errorf("v0.26 probe: %+v, %v", probe, err)
	}
}

func TestBeadsExitsWhenParentDies(t *testing.T) {
	bd := buildBD(t)
	ws := newWorkspace(t)
	// sh is bd's parent; we kill sh, bd is reparented and must notice.
	sh := exec.Command("sh", "-c", `"$0" daemon --start --foreground & wait`, bd)
	sh.Dir = ws
	sh.Env = append(os.Environ(), "BEADS_AUTO_START_DAEMON=false", "BDSIM_PARENT_POLL=20ms")
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
	log := filepath.Join(ws, ".beads", "daemon.log")
	waitBeads(t, ws, 10*time.Second, "the socket to listen", func() bool {
		return strings.Contains(readText(log), "RPC server ready")
	})
	lock, held, err := ReadLock(ws)
	if err != nil || !held || lock.ParentPid != sh.Process.Pid {
		t.Fatalf("lock %+v held %v err %v; want parent %d", lock, held, err, sh.Process.Pid)
	}
	t.Cleanup(func() { _ = syscall.Kill(lock.Pid, syscall.SIGKILL) })

	_ = sh.Process.Kill()
	_ = sh.Wait()
	waitBeads(t, ws, 10*time.Second, "bd to exit", func() bool {
		_, held, _ := ReadLock(ws)
		return !held && strings.Contains(readText(log), "Daemon stopped")
	})
	want := "Parent process (PID " + strconv.Itoa(sh.Process.Pid) + ") died, shutting down daemon"
	if !strings.Contains(readText(log), want) {
		t.Errorf("daemon.log lacks %q:\n%s", want, readText(log))
	}
	if beadsFileExists(filepath.Join(ws, ".beads", "bd.sock")) {
		t.Error("bd.sock left behind after the parent died")
	}
}

func TestBeadsSignalsAndCrashKnobs(t *testing.T) {
	bd := buildBD(t)
	t.Run("SIGHUP is ignored", func(t *testing.T) {
		ws := newWorkspace(t)
		p := startBD(t, bd, ws)
		_ = p.cmd.Process.Signal(syscall.SIGHUP)
		waitBeads(t, ws, 10*time.Second, "the SIGHUP log line", func() bool {
			return strings.Contains(readText(filepath.Join(ws, ".beads", "daemon.log")), "Received SIGHUP, ignoring")
		})
		if probe, err := ProbeDaemon(t.Context(), ws, "0.28.0"); err != nil || probe.Pid != p.cmd.Process.Pid {
			t.Errorf("after SIGHUP: %+v, %v", probe, err)
		}
	})
	t.Run("BDSIM_IGNORE_SIGTERM", func(t *testing.T) {
		ws := newWorkspace(t)
		p := startBD(t, bd, ws, "BDSIM_IGNORE_SIGTERM=1")
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		waitBeads(t, ws, 10*time.Second, "the ignored SIGTERM", func() bool {
			return strings.Contains(readText(filepath.Join(ws, ".beads", "daemon.log")), "ignoring it (BDSIM_IGNORE_SIGTERM=1)")
		})
		if _, err := ProbeDaemon(t.Context(), ws, "0.28.0"); err != nil {
			t.Errorf("after an ignored SIGTERM: %v", err)
		}
	})
	t.Run("BDSIM_CRASH_AFTER", func(t *testing.T) {
		ws := newWorkspace(t)
		p := runBD(t, bd, ws, []string{"BDSIM_CRASH_AFTER=100ms", "BDSIM_EXIT_CODE=3"}, "daemon", "--start", "--foreground")
		if code := p.wait(t); code != 3 {
			t.Errorf("exit code %d, want 3", code)
		}
		tail := lastLines(filepath.Join(ws, ".beads", "daemon.log"), 1)
		if len(tail) != 1 || !strings.Contains(tail[0], "simulated failure after 100ms") {
			t.Errorf("daemon.log tail %q", tail)
		}
	})
}

func TestBeadsBackgroundStartAndStop(t *testing.T) {
	bd := buildBD(t)
	ws := newWorkspace(t)
	start := runBD(t, bd, ws, nil, "daemon", "--start")
	if code := start.wait(t); code != 0 {
		t.Fatalf("background start: exit %d, stderr %s", code, start.stderr.String())
	}
	lock, held, err := ReadLock(ws)
	if err != nil || !held || lock.ParentPid != 0 {
		t.Fatalf("background daemon lock %+v held %v err %v", lock, held, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(lock.Pid, syscall.SIGKILL) })
	if got, want := start.stdout.String(), "Daemon started (PID "+strconv.Itoa(lock.Pid)+")\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	// It survives its starter, in its own session.
	if sid, _ := unix.Getsid(lock.Pid); sid != lock.Pid {
		t.Errorf("background daemon session %d, want its own (%d)", sid, lock.Pid)
	}
	if probe, err := ProbeDaemon(t.Context(), ws, "0.28.0"); err != nil || probe.Pid != lock.Pid {
		t.Errorf("probe %+v, %v", probe, err)
	}
	stop := runBD(t, bd, ws, nil, "daemon", "--stop")
	if code := stop.wait(t); code != 0 || stop.stdout.String() != "Daemon stopped\n" {
		t.Errorf("stop: exit %d stdout %q stderr %q", code, stop.stdout.String(), stop.stderr.String())
	}
	if _, held, _ := ReadLock(ws); held || beadsFileExists(filepath.Join(ws, ".beads", "bd.sock")) {
		t.Error("daemon still holds the workspace after --stop")
	}
}

func TestInstalledBeadsVersion(t *testing.T) {
	bd := buildBD(t)
	t.Setenv("BDSIM_VERSION", "0.29.1")
	if v, err := InstalledVersion(t.Context(), bd); v != "0.29.1" || err != nil {
		t.Errorf("InstalledVersion = %q, %v; want 0.29.1", v, err)
	}
	// Every probe carries BEADS_AUTO_START_DAEMON=false, whatever the caller's environment says.
	t.Setenv("BEADS_AUTO_START_DAEMON", "true")
	script := filepath.Join(t.TempDir(), "bd")
	body := "#!/bin/sh\n[ \"$BEADS_AUTO_START_DAEMON\" = false ] && [ \"$BD_AUTO_START_DAEMON\" = false ] && echo 'bd version 0.30.0 (abc1234: main@def)' && exit 0\necho 'spawned a daemon'\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if v, err := InstalledVersion(t.Context(), script); v != "0.30.0" || err != nil {
		t.Errorf("InstalledVersion(script) = %q, %v; want 0.30.0", v, err)
	}
	if _, err := InstalledVersion(t.Context(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing bd gave no error")
	}
}

// fakeBeadsServer listens on ws/.beads/bd.sock and hands each connection to serve.
func fakeBeadsServer(t *testing.T, ws string, serve func(net.Conn)) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(ws, ".beads", "bd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
}

func TestBeadsProbeHostileServers(t *testing.T) {
	t.Run("silent server: the deadline holds", func(t *testing.T) {
		ws := newWorkspace(t)
		fakeBeadsServer(t, ws, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := ProbeDaemon(ctx, ws, "0.28.0")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("probe took %v with a 200ms deadline", d)
		}
	})
	t.Run("endless line: bounded", func(t *testing.T) {
		ws := newWorkspace(t)
		fakeBeadsServer(t, ws, func(c net.Conn) {
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for range 64 { // 4 MiB without a newline
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		})
		_, err := ProbeDaemon(t.Context(), ws, "0.28.0")
		if err == nil || !strings.Contains(err.Error(), "longer than") {
			t.Errorf("err %v, want a line-too-long error", err)
		}
	})
	t.Run("socket without listener", func(t *testing.T) {
		ws := newWorkspace(t)
		sock := filepath.Join(ws, ".beads", "bd.sock")
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false)
		ln.Close()
		if _, err := ProbeDaemon(t.Context(), ws, "0.28.0"); !errors.Is(err, ErrNotRunning) {
			t.Errorf("err %v, want ErrNotRunning", err)
		}
		if removed, err := CleanStale(ws); err != nil || len(removed) != 1 || removed[0] != sock {
			t.Errorf("CleanStale = %v, %v; want [%s]", removed, err, sock)
		}
	})
	t.Run("no workspace", func(t *testing.T) {
		if _, err := ProbeDaemon(t.Context(), t.TempDir(), "0.28.0"); !errors.Is(err, ErrNotRunning) {
			t.Errorf("err %v, want ErrNotRunning", err)
		}
		if lock, held, err := ReadLock(t.TempDir()); held || err != nil || lock != (Lock{}) {
			t.Errorf("ReadLock of nothing = %+v, %v, %v", lock, held, err)
		}
	})
}

// TestQuickCmdline: the command line FindServers reads first is the
// process's own when it names sql-server, empty when it cannot be a dolt
// sql-server; pid 2 (kthreadd) has an empty one.
func TestQuickCmdline(t *testing.T) {
	// cat reads the pipe first (held open: it blocks), sql-server after.
	cmd := exec.Command("cat", "-", "sql-server")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); cmd.Process.Kill(); cmd.Wait() }()
	// Start returns when execve has closed the child's close-on-exec pipe,
	// which is before the kernel sets the new image's argument area: for a
	// moment /proc/PID/cmdline reads empty (CI, stop 20). cat echoing a line
	// proves it runs, its command line set.
	if _, err := in.Write([]byte("ready\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("cat echoed %q, %v", line, err)
	}
	if argv, ok := quickCmdline(cmd.Process.Pid); !ok || !slices.Equal(argv, cmd.Args) {
		t.Errorf("quickCmdline = %q, %v; want %q", argv, ok, cmd.Args)
	}
	if argv, ok := quickCmdline(os.Getpid()); !ok || len(argv) != 0 {
		t.Errorf("quickCmdline(self) = %q, %v; want empty (it names no sql-server)", argv, ok)
	}
	if argv, ok := quickCmdline(2); ok && len(argv) != 0 {
		t.Errorf("quickCmdline(2) = %q, want an empty line (a kernel thread)", argv)
	}
	if _, ok := quickCmdline(1 << 30); ok {
		t.Error("quickCmdline of no process is ok")
	}
}

// BenchmarkFindServers is one search for dolt sql-servers, as every plan of a
// dolt_server makes; procs is how many processes the machine has.
func BenchmarkFindServers(b *testing.B) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for b.Loop() {
		if _, err := FindServers(b.Context(), "/nonexistent"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(procs)), "procs")
}
