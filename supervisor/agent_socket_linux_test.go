package supervisor

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A control socket removed under a running agent (as an old destroy did while
// the agent was stopped) is created again, and the agent answers on it.
func TestAgentRecreatesRemovedSocket(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, func(a *Agent) { a.opts.FolderCheck = 20 * time.Millisecond })
	sock := SocketPath(dir)
	before, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Lstat(sock); err == nil && !os.SameFile(fi, before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("control socket not created again after 10s")
		}
		faultWaitDir(filepath.Dir(sock), 50*time.Millisecond)
	}
	ta.hc.CloseIdleConnections()
	if code, body := ta.call(t, http.MethodGet, "/v1/status", nil); code != http.StatusOK {
		t.Fatalf("status on the new socket = %d %s", code, body)
	}
}

// A control socket replaced by another file leaves the agent unreachable: it
// stops its daemons and exits, and leaves the file that took its place alone.
func TestAgentExitsWhenSocketReplaced(t *testing.T) {
	dir := t.TempDir()
	done, pid := runAgentWithSleeper(t, dir)
	sock := SocketPath(dir)
	tmp := sock + ".planted"
	if err := os.WriteFile(tmp, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, sock); err != nil {
		t.Fatal(err)
	}
	awaitAgentExitWith(t, done, pid, "its socket was replaced")
	if b, err := os.ReadFile(sock); err != nil || string(b) != "not a socket" {
		t.Errorf("the file that replaced the socket = %q, %v; want it left alone", b, err)
	}
}

// The holder of agent.lock is the live process holding its flock, never the
// pid written in it alone.
func TestAgentLockHolder(t *testing.T) {
	dir := t.TempDir()
	if pid, err := AgentLockHolder(dir); pid != 0 || err != nil {
		t.Fatalf("no agent ever ran: holder = %d, %v; want 0, nil", pid, err)
	}
	ta := startAgent(t, dir, nil)
	if pid, err := AgentLockHolder(dir); pid != os.Getpid() || err != nil {
		t.Fatalf("running agent: holder = %d, %v; want %d", pid, err, os.Getpid())
	}
	ta.stop(t)
	if pid, err := AgentLockHolder(dir); pid != 0 || err != nil {
		t.Fatalf("stopped agent: holder = %d, %v; want 0", pid, err)
	}
	// A pid planted in the file, of a live process holding no lock on it.
	if err := os.WriteFile(AgentLockPath(dir), []byte(strconv.Itoa(os.Getppid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid, err := AgentLockHolder(dir); pid != 0 || err != nil {
		t.Fatalf("planted pid: holder = %d, %v; want 0", pid, err)
	}
}
