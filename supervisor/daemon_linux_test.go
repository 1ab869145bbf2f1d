//go:build linux

package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// runDaemon runs a real daemon for spec until the test ends.
func runDaemon(t *testing.T, spec Spec, opts DaemonOptions) *Daemon {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "test"
	}
	if spec.Dir == "" {
		spec.Dir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d := NewDaemon(spec, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return after its context was cancelled")
		}
	})
	return d
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitStatus waits, woken by Changed, until cond holds for the daemon's status.
func waitStatus(t *testing.T, d *Daemon, timeout time.Duration, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ch := d.Changed()
		st := d.Status()
		if cond(st) {
			return st
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s; status %+v", timeout, what, st)
		}
	}
}

func online(st Status) bool { return st.State == StateOnline && st.Pid != 0 }

// fifo makes a named pipe and returns its path and the lines written to it.
// It is opened read-write so that writers never block and it never sees EOF.
func fifo(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	lines := make(chan string, 16)
	go func() {
		s := bufio.NewScanner(f)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	return path, lines
}

func recvLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l := <-lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a line on the fifo")
		return ""
	}
}

// pidfd opens a pidfd for pid, to wait for its end even when it is not our child.
func pidfd(t *testing.T, pid int) int {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// exited reports whether the process behind fd has ended within timeout.
func exited(fd int, timeout time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		return n == 1
	}
}

// TestDaemonKill9RestartsAtOnce: each kill -9 within the burst of rapid runs
// is seen as a crash and restarted with no delay (restart delay 0, and the
// restart floor, restart.go rule 5, adds its 10 ms, 20 ms, ... only past the
// burst). How fast the new pid comes is a speed target, measured by the
// kill9 benchmark (bench/, BENCHMARKS.md), not asserted here: a timed bound
// on a shared machine failed under load (112 ms against 100 ms).
func TestDaemonKill9RestartsAtOnce(t *testing.T) {
	delays := &restartDelays{}
	log := slog.New(delays.wrap(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	d := runDaemon(t, Spec{Argv: []string{"sleep", "1000"}, Restart: RestartPolicy{Delay: 0, MinUptime: time.Millisecond}},
		DaemonOptions{Logger: log})
	st := waitStatus(t, d, 10*time.Second, "online", online)
	const kills = floorBurst
	for i := range kills {
		old := st.Pid
		if st.StartTime.IsZero() {
			t.Fatalf("no start time for pid %d", old)
		}
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		st = waitStatus(t, d, 10*time.Second, "a new pid", func(s Status) bool { return online(s) && s.Pid != old })
		if st.LastExit == nil || st.LastExit.Signal != "SIGKILL" || st.LastRestartReason != ReasonCrash || st.Restarts != i+1 {
			t.Fatalf("status after kill -9: %+v", st)
		}
	}
	if got, want := delays.get(), []string{"0s", "0s", "0s"}; !slices.Equal(got, want) {
		t.Errorf("restart delays after %d kills -9 = %v, want %v (no delay within the burst)", kills, got, want)
	}
}

// restartDelays records the delay of every "daemon restarting" record.
type restartDelays struct {
	mu     sync.Mutex
	delays []string
}

func (r *restartDelays) wrap(h slog.Handler) slog.Handler { return delayHandler{h, r} }

func (r *restartDelays) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.delays)
}

type delayHandler struct {
	slog.Handler
	r *restartDelays
}

func (h delayHandler) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Message == "daemon restarting" {
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "delay" {
				h.r.mu.Lock()
				h.r.delays = append(h.r.delays, a.Value.String())
				h.r.mu.Unlock()
			}
			return true
		})
	}
	return h.Handler.Handle(ctx, rec)
}

func (h delayHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return delayHandler{h.Handler.WithAttrs(as), h.r}
}
func (h delayHandler) WithGroup(g string) slog.Handler {
	return delayHandler{h.Handler.WithGroup(g), h.r}
}

func TestDaemonStopKillsWholeGroup(t *testing.T) {
	path, lines := fifo(t)
	script := `sleep 1000 & echo "$!" > "$FIFO"
sh -c 'sleep 1000 & echo "$!" > "$FIFO"' &
wait`
	d := runDaemon(t, Spec{Argv: []string{"sh", "-c", script}, Env: map[string]string{"FIFO": path},
		Stop: StopPolicy{Timeout: 5 * time.Second}}, DaemonOptions{})
	st := waitStatus(t, d, 10*time.Second, "online", online)
	var fds []int
	for _, pid := range []string{recvLine(t, lines), recvLine(t, lines)} {
		var p int
		fmt.Sscan(pid, &p)
		fds = append(fds, pidfd(t, p))
	}
	fds = append(fds, pidfd(t, st.Pid))
	t0 := time.Now()
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	for i, fd := range fds {
		if !exited(fd, 5*time.Second) {
			t.Errorf("process %d (child, double-forked grandchild, leader) survived the stop", i)
		}
	}
	if n := liveGroupMembers(t, st.Pid); n != 0 {
		t.Errorf("process group %d still has %d live members", st.Pid, n)
	}
	if st := d.Status(); st.State != StateStopped || !st.Stopped || st.Pid != 0 {
		t.Errorf("status after stop: %+v", st)
	}
	t.Logf("stop of a group with a double-forked grandchild took %v", took)
}

func TestDaemonExitKillsLeftoverGroup(t *testing.T) {
	path, lines := fifo(t)
	d := runDaemon(t, Spec{
		Argv:    []string{"sh", "-c", `sleep 1000 & echo "$!" > "$FIFO"; read x < /dev/null; exit 3`},
		Env:     map[string]string{"FIFO": path},
		Restart: RestartPolicy{Policy: PolicyNever},
	}, DaemonOptions{})
	var p int
	fmt.Sscan(recvLine(t, lines), &p)
	fd := pidfd(t, p)
	st := waitStatus(t, d, 10*time.Second, "stopped", func(s Status) bool { return s.State == StateStopped && s.LastExit != nil })
	if !exited(fd, 5*time.Second) {
		t.Error("the leader's child survived the leader's exit")
	}
	if st.LastExit == nil || st.LastExit.Code != 3 || st.Stopped {
		t.Errorf("status = %+v, want stopped by policy after exit 3", st)
	}
}

func TestDaemonStopEscalatesToSIGKILL(t *testing.T) {
	path, lines := fifo(t)
	const timeout = 300 * time.Millisecond
	d := runDaemon(t, Spec{
		Argv: []string{"sh", "-c", `trap '' TERM; echo ready > "$FIFO"; exec sleep 1000`},
		Env:  map[string]string{"FIFO": path},
		Stop: StopPolicy{Signal: "SIGTERM", Timeout: timeout},
	}, DaemonOptions{})
	waitStatus(t, d, 10*time.Second, "online", online)
	recvLine(t, lines)
	t0 := time.Now()
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	st := d.Status()
	if st.LastExit == nil || st.LastExit.Signal != "SIGKILL" {
		t.Fatalf("last exit = %+v, want SIGKILL", st.LastExit)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("stop took %v, want the %v timeout then SIGKILL", took, timeout)
	}
	t.Logf("child ignoring SIGTERM: stop took %v (timeout %v)", took, timeout)
}

func TestDaemonMemoryLimitRestartsLeakingChild(t *testing.T) {
	const (
		limit    = 150 << 20
		rate     = 100 << 20 // bytes per second
		interval = 100 * time.Millisecond
	)
	var (
		mu       sync.Mutex
		peak     uint64
		overAt   time.Time
		firstPid int
	)
	mem := func(ctx context.Context, pid int) (uint64, error) {
		rss, err := GroupMemory(ctx, pid)
		mu.Lock()
		defer mu.Unlock()
		if firstPid == 0 {
			firstPid = pid
		}
		if pid == firstPid {
			peak = max(peak, rss)
			if rss > limit && overAt.IsZero() {
				overAt = time.Now()
			}
		}
		return rss, err
	}
	d := runDaemon(t, Spec{
		Argv:   helperArgv(),
		Env:    map[string]string{helperEnv: "leak", "HELPER_RATE": fmt.Sprint(rate)},
		Limits: Limits{Memory: limit, CheckInterval: interval},
	}, DaemonOptions{Memory: mem})
	st := waitStatus(t, d, 20*time.Second, "a memory restart", func(s Status) bool {
		return online(s) && s.LastRestartReason == ReasonMemory
	})
	restarted := time.Now()
	mu.Lock()
	defer mu.Unlock()
	ratio := float64(peak) / float64(limit)
	t.Logf("leak %d MB/s, limit %d MB, interval %v: peak sampled RSS %.1f MB (%.3fx the limit); over limit detected -> new pid in %v (time over limit <= %v)",
		rate>>20, limit>>20, interval, float64(peak)/(1<<20), ratio, restarted.Sub(overAt), interval+restarted.Sub(overAt))
	if ratio > 1.2 {
		t.Errorf("peak RSS %.2fx the limit, want below 1.2x", ratio)
	}
	if st.LastExit == nil || st.LastExit.Signal != "SIGTERM" {
		t.Errorf("last exit = %+v, want a graceful SIGTERM stop", st.LastExit)
	}
}

func TestDaemonLogs10000LinesWithPartialWrites(t *testing.T) {
	dir := t.TempDir()
	const layout = "2006-01-02 15:04:05.000 -07:00"
	logs := LogSpec{
		Out:        filepath.Join(dir, "out.log"),
		Error:      filepath.Join(dir, "err.log"),
		Combined:   filepath.Join(dir, "all.log"),
		Timestamps: true,
		DateFormat: layout,
	}
	d := NewDaemon(Spec{
		Name:    "lines",
		Argv:    helperArgv(),
		Dir:     dir,
		Env:     map[string]string{helperEnv: "lines", "HELPER_LINES": "10000"},
		Restart: RestartPolicy{Policy: PolicyNever},
		Logs:    logs,
	}, DaemonOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	st := waitStatus(t, d, 30*time.Second, "the helper to exit", func(s Status) bool { return s.State == StateStopped && s.LastExit != nil })
	cancel()
	if err := <-done; err != nil { // Run closes the log files before it returns
		t.Fatal(err)
	}
	if st.LastExit == nil || st.LastExit.Code != 0 || len(st.LastExit.LogTail) != tailLines {
		t.Errorf("last exit = %+v, want code 0 with the stderr tail", st.LastExit)
	}

	ts := `(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d): `
	outRe := regexp.MustCompile(`^` + ts + `line (\d{6}) x{50} end$`)
	errRe := regexp.MustCompile(`^` + ts + `err (\d{6}) end$`)
	check := func(path string, wantOut, wantErr int) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		var nOut, nErr, partial int
		for i, l := range lines {
			if m := outRe.FindStringSubmatch(l); m != nil {
				if want := fmt.Sprintf("%06d", nOut); m[2] != want {
					t.Fatalf("%s:%d: line %s out of order, want %s", path, i+1, m[2], want)
				}
				if _, err := time.Parse(layout, m[1]); err != nil {
					t.Fatalf("%s:%d: timestamp: %v", path, i+1, err)
				}
				nOut++
			} else if m := errRe.FindStringSubmatch(l); m != nil {
				nErr++
			} else if strings.HasSuffix(l, ": partial without newline") {
				partial++
			} else {
				t.Fatalf("%s:%d: split or foreign line %q", path, i+1, l)
			}
		}
		if nOut != wantOut || nErr != wantErr || partial != min(wantOut, 1) {
			t.Errorf("%s: %d out lines, %d err lines, %d partial; want %d, %d, %d", path, nOut, nErr, partial, wantOut, wantErr, min(wantOut, 1))
		}
	}
	check(logs.Out, 10000, 0)
	check(logs.Error, 0, 1000)
	check(logs.Combined, 10000, 1000)
}

func TestDaemonLogWriteFailureKeepsChildRunning(t *testing.T) {
	dir := t.TempDir()
	d := runDaemon(t, Spec{
		Argv: helperArgv(),
		Env:  map[string]string{helperEnv: "spam"},
		Logs: LogSpec{Out: "/dev/full", Combined: filepath.Join(dir, "all.log")},
	}, DaemonOptions{})
	st := waitStatus(t, d, 10*time.Second, "a log error", func(s Status) bool { return s.LogError != "" })
	if !strings.Contains(st.LogError, "no space left") || st.State != StateOnline || st.Restarts != 0 {
		t.Errorf("status = %+v, want online with a disk-full log error", st)
	}
	// The child keeps writing: the working file keeps receiving its lines.
	f, err := os.Open(filepath.Join(dir, "all.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if line, err := bufio.NewReader(f).ReadString('\n'); err != nil || !strings.HasPrefix(line, "spam ") {
		t.Errorf("combined log starts with %q (%v)", line, err)
	}
	if st := d.Status(); st.State != StateOnline || st.Pid == 0 {
		t.Errorf("child not running: %+v", st)
	}
}

func TestDaemonHealthFailuresRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := map[string]HealthSpec{
		"exec": {Check: CheckExec, Command: []string{"sh", "-c", "echo sick; exit 1"}},
		"tcp":  {Check: CheckTCP, Address: closed},
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			h.Interval, h.Timeout, h.Failures = 50*time.Millisecond, time.Second, 2
			d := runDaemon(t, Spec{Argv: []string{"sleep", "1000"}, Health: h}, DaemonOptions{})
			first := waitStatus(t, d, 10*time.Second, "online", online)
			st := waitStatus(t, d, 10*time.Second, "a health restart", func(s Status) bool {
				return online(s) && s.LastRestartReason == ReasonHealth
			})
			if st.Pid == first.Pid || st.Restarts != 1 {
				t.Errorf("status = %+v, want a new pid after one restart", st)
			}
		})
	}
}

func TestDaemonHealthy(t *testing.T) {
	ln := acceptingListener(t)
	tests := map[string]HealthSpec{
		"exec": {Check: CheckExec, Command: []string{"sh", "-c", `test "$BEADS_AUTO_START_DAEMON" = false`}},
		"tcp":  {Check: CheckTCP, Address: ln.Addr().String()},
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			h.Interval, h.Failures = 50*time.Millisecond, 1
			d := runDaemon(t, Spec{Argv: []string{"sleep", "1000"}, Health: h}, DaemonOptions{})
			st := waitStatus(t, d, 10*time.Second, "healthy", func(s Status) bool { return s.Health.Status == "healthy" })
			if st.Restarts != 0 || st.Health.CheckedAt.IsZero() {
				t.Errorf("status = %+v", st)
			}
		})
	}
}

// TestDaemonHealthyBeforeFirstInterval: the start phase probes fast, so a
// daemon with a 1h interval is known healthy long before the first interval.
func TestDaemonHealthyBeforeFirstInterval(t *testing.T) {
	ln := acceptingListener(t)
	h := HealthSpec{Check: CheckTCP, Address: ln.Addr().String(), Interval: time.Hour, Failures: 1}
	d := runDaemon(t, Spec{Argv: []string{"sleep", "1000"}, Health: h}, DaemonOptions{})
	st := waitStatus(t, d, 10*time.Second, "healthy", func(s Status) bool { return s.Health.Status == "healthy" })
	if st.Restarts != 0 {
		t.Errorf("restarts = %d, want 0", st.Restarts)
	}
}

// TestDaemonStartPhaseFailuresDoNotCount: a check failing while the daemon
// starts does not restart it before the first interval has passed.
func TestDaemonStartPhaseFailuresDoNotCount(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ok")
	h := HealthSpec{Check: CheckExec, Command: []string{"test", "-e", ready}, Interval: time.Hour, Failures: 1}
	d := runDaemon(t, Spec{Argv: []string{"sleep", "1000"}, Health: h}, DaemonOptions{})
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, d, 10*time.Second, "healthy", func(s Status) bool { return s.Health.Status == "healthy" })
	if st.Restarts != 0 {
		t.Errorf("restarts = %d, want 0: start-phase failures counted", st.Restarts)
	}
}

func TestDaemonEnvIsolation(t *testing.T) {
	t.Setenv("LEAKY_AGENT_VAR", "secret")
	dir := t.TempDir()
	ready, lines := fifo(t)
	spec := Spec{
		Argv:  helperArgv(),
		Beads: true,
		Dir:   beadsWorkspace(t),
		Env: map[string]string{helperEnv: "env", "HELPER_READY": ready,
			"HELPER_OUT": filepath.Join(dir, "env1"), "KEEP": "1", "GONE": "2"},
		EnvHash: "hmac-sha256:env1",
	}
	d := runDaemon(t, spec, DaemonOptions{})
	recvLine(t, lines)
	env := readEnv(t, filepath.Join(dir, "env1"))
	allowed := append(slices.Clone(baseEnvKeys), helperEnv, "HELPER_READY", "HELPER_OUT", "KEEP", "GONE", "BEADS_AUTO_START_DAEMON", DaemonMarkerEnv)
	for k := range env {
		if !slices.Contains(allowed, k) {
			t.Errorf("variable %s leaked into the child", k)
		}
	}
	if env["GONE"] != "2" || env["KEEP"] != "1" || env["BEADS_AUTO_START_DAEMON"] != "false" || env["PATH"] != os.Getenv("PATH") {
		t.Errorf("child env = %v", env)
	}
	if st := d.Status(); st.EnvHash != spec.EnvHash {
		t.Errorf("env hash %s, want the spec's %s (the client hashes the environment, with its key)", st.EnvHash, spec.EnvHash)
	}

	spec = d.Spec()
	spec.Env = map[string]string{helperEnv: "env", "HELPER_READY": ready,
		"HELPER_OUT": filepath.Join(dir, "env2"), "KEEP": "1", "BEADS_AUTO_START_DAEMON": "true"}
	if !d.Update(spec) {
		t.Fatal("an env change does not restart")
	}
	recvLine(t, lines)
	env = readEnv(t, filepath.Join(dir, "env2"))
	if _, ok := env["GONE"]; ok {
		t.Error("a variable removed from the spec survived the restart")
	}
	if env["BEADS_AUTO_START_DAEMON"] != "true" {
		t.Errorf("BEADS_AUTO_START_DAEMON = %q, want the spec's true", env["BEADS_AUTO_START_DAEMON"])
	}
	if st := d.Status(); st.LastRestartReason != ReasonConfig {
		t.Errorf("restart reason %q, want config", st.LastRestartReason)
	}
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func TestDaemonRecycledPidIsNotSignalled(t *testing.T) {
	d := runDaemon(t, Spec{Argv: []string{"sleep", "1000"}, Stop: StopPolicy{Timeout: 200 * time.Millisecond}},
		DaemonOptions{StartTime: func() func(int) (time.Time, error) {
			// The first reading is at the start; any later one disagrees (by
			// a second, well past proc's millisecond rule), as for a pid
			// recycled by another process.
			var readings atomic.Int64
			at := time.Now()
			return func(int) (time.Time, error) {
				return at.Add(time.Duration(readings.Add(1)-1) * time.Second), nil
			}
		}()})
	st := waitStatus(t, d, 10*time.Second, "online", online)
	fd := pidfd(t, st.Pid)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if exited(fd, 0) {
		t.Fatal("a process whose start time differs was signalled")
	}
	syscall.Kill(st.Pid, syscall.SIGKILL) // clean up behind the test
	if !exited(fd, 5*time.Second) {
		t.Fatal("cleanup kill failed")
	}
}

// liveGroupMembers counts the processes of group pgid that are not zombies
// (a zombie waits for its new parent, init, to reap it; it runs nothing).
func liveGroupMembers(t *testing.T, pgid int) int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[2] == fmt.Sprint(pgid) && f[0] != "Z" {
			n++
		}
	}
	return n
}

// acceptingListener is a TCP listener on loopback that accepts and closes every
// connection, until the test ends: a healthy target for tcp checks.
func acceptingListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
			c.Close()
		}
	}()
	return ln
}
