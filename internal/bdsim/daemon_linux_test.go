//go:build linux

package bdsim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary is also the simulator: with BDSIM_TEST_MAIN=1 it runs Main.
func TestMain(m *testing.M) {
	if os.Getenv("BDSIM_TEST_MAIN") == "1" {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

// bdCmd returns the simulator as a command in a fresh workspace (.beads/
// with beads.db, as bd init leaves it).
func bdCmd(t *testing.T, env ...string) (*exec.Cmd, string) {
	t.Helper()
	ws := t.TempDir()
	if err := os.Mkdir(filepath.Join(ws, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, ".beads", "beads.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "daemon", "--start", "--foreground")
	cmd.Dir = ws
	cmd.Env = append(append(os.Environ(), "BDSIM_TEST_MAIN=1"), env...)
	return cmd, ws
}

// waitIn waits until cond holds, woken by inotify events in ws/.beads.
func waitIn(t *testing.T, ws, what string, cond func() bool) {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(ws, ".beads"), unix.IN_CREATE|unix.IN_MODIFY|unix.IN_DELETE); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 4096)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50)
		for {
			if n, _ := unix.Read(fd, buf); n <= 0 {
				break
			}
		}
	}
}

func logHas(ws, text string) bool {
	b, _ := os.ReadFile(filepath.Join(ws, ".beads", "daemon.log"))
	return strings.Contains(string(b), text)
}

func TestPartialLinesAndOutputLines(t *testing.T) {
	const n = 2000
	cmd, _ := bdCmd(t, "BDSIM_PARTIAL_LINE=1", "BDSIM_OUTPUT_LINES="+strconv.Itoa(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var all strings.Builder
	partialReads := 0
	buf := make([]byte, 4096)
	for strings.Count(all.String(), "\n") < n+1 {
		k, err := out.Read(buf)
		if k > 0 {
			all.Write(buf[:k])
			if buf[k-1] != '\n' {
				partialReads++
			}
		}
		if err != nil {
			t.Fatalf("read after %d bytes: %v", all.Len(), err)
		}
	}
	if partialReads == 0 {
		t.Error("no read ended mid-line")
	}
	lines := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	if lines[0] != "Starting bd daemon (interval: 5s, auto-commit: false, auto-push: false)" {
		t.Errorf("first line %q", lines[0])
	}
	for i, l := range lines[1:] {
		want := fmt.Sprintf("bdsim line %06d of %06d: the quick brown fox jumps over the lazy dog", i+1, n)
		if l != want {
			t.Fatalf("line %d = %q, want %q", i+1, l, want)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if rest, _ := io.ReadAll(out); len(rest) != 0 {
		t.Errorf("unexpected output after the lines: %q", rest)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

func TestSlowStart(t *testing.T) {
	cmd, ws := bdCmd(t, "BDSIM_SLOW_START=1s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pidFile := filepath.Join(ws, ".beads", "daemon.pid")
	sock := filepath.Join(ws, ".beads", "bd.sock")
	waitIn(t, ws, "daemon.pid", func() bool { _, err := os.Stat(pidFile); return err == nil })
	if _, err := os.Stat(sock); err == nil {
		t.Error("bd.sock exists before the slow start elapsed")
	}
	waitIn(t, ws, "the socket", func() bool { return logHas(ws, "RPC server ready") })
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("bd.sock after the slow start: %v %v", fi, err)
	}
}

func TestLeakRate(t *testing.T) {
	cmd, ws := bdCmd(t, "BDSIM_LEAK_RATE=100M")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitIn(t, ws, "the socket", func() bool { return logHas(ws, "RPC server ready") })
	// RSS has no event to wait for: sample it, as the supervisor does.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		if rss := vmRSS(t, cmd.Process.Pid); rss > 60<<20 {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("RSS %d bytes after 10s of leaking 100M/s", vmRSS(t, cmd.Process.Pid))
		}
	}
}

func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func TestSIGINTCleanExit(t *testing.T) {
	cmd, ws := bdCmd(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitIn(t, ws, "the socket", func() bool { return logHas(ws, "RPC server ready") })
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
	for _, name := range []string{"bd.sock", "daemon.pid"} {
		if _, err := os.Lstat(filepath.Join(ws, ".beads", name)); err == nil {
			t.Errorf("%s left after SIGINT", name)
		}
	}
	if !logHas(ws, "Daemon stopped") {
		t.Error("no Daemon stopped line")
	}
}

// As bd (cmd/bd/daemon.go ensureBeadsDir): without a database in the folder or
// a parent, every bd daemon command exits 1 at once with bd's message and
// creates nothing (the simulator used to create .beads/beads.db itself, so a
// folder bd refuses looked like a workspace). bd init makes one; a daemon
// started in a subfolder uses the parent's workspace, as bd finds it.
func TestDaemonNeedsAWorkspaceAsBd(t *testing.T) {
	ws := t.TempDir()
	run := func(dir string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(os.Args[0], args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "BDSIM_TEST_MAIN=1", "BEADS_DIR=", "BEADS_DB=")
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	// A .beads/ with only logs in it (beadsctl's log files) is no workspace either.
	if err := os.Mkdir(filepath.Join(ws, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"daemon", "--start", "--foreground"}, {"daemon", "--start"}, {"daemon", "--status"}} {
		_, stderr, code := run(ws, args...)
		if code != 1 || stderr != "Error: no database path configured (run 'bd init' or set BEADS_DB)\n" {
			t.Errorf("bd %v: exit %d, stderr %q; want 1 and bd's message", args, code, stderr)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(ws, ".beads")); len(entries) != 0 {
		t.Errorf(".beads holds %v after refused starts, want nothing", entries)
	}
	if out, _, code := run(ws, "init", "--prefix", "demo"); code != 0 || !strings.Contains(out, "bd initialized successfully") {
		t.Fatalf("bd init: exit %d, %q", code, out)
	}
	for _, f := range []string{"beads.db", "issues.jsonl", "metadata.json"} {
		if _, err := os.Stat(filepath.Join(ws, ".beads", f)); err != nil {
			t.Errorf("after bd init: %v", err)
		}
	}
	sub := filepath.Join(ws, "src", "deep")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, _, code := run(sub, "daemon", "--status"); code != 0 || out != "Daemon is not running\n" {
		t.Errorf("bd daemon --status in a subfolder: exit %d, %q", code, out)
	}
}
