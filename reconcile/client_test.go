//go:build linux

package reconcile

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/testproc"
	"github.com/beadsctl/beadsctl/supervisor"
)

// When StartAgent runs this test binary as "beadsctl agent --dir D", it is the
// agent (what cmd/beadsctl's agent command does, without cobra).
func init() {
	if filepath.Base(os.Args[0]) != "beadsctl" || len(os.Args) < 2 || os.Args[1] != "agent" {
		return
	}
	fs := flag.NewFlagSet("agent", flag.ExitOnError)
	dir := fs.String("dir", ".", "")
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := supervisor.NewAgent(supervisor.AgentOptions{Dir: *dir, Version: "helper", Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	go func() {
		fd, err := strconv.Atoi(os.Getenv(agentapi.AgentReadyFDEnv))
		if err != nil {
			return
		}
		f := os.NewFile(uintptr(fd), "ready")
		<-a.Ready()
		f.WriteString("ready\n")
		f.Close()
	}()
	err := a.Run(ctx)
	stop()
	if err != nil {
		os.Stderr.WriteString("Error: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

func runAgent(t *testing.T, dir string) (done <-chan error) {
	t.Helper()
	return runAgentWith(t, supervisor.AgentOptions{Dir: dir, Version: "test"})
}

// runAgentWith runs an agent in-process until the test ends.
func runAgentWith(t *testing.T, o supervisor.AgentOptions) (done <-chan error) {
	t.Helper()
	a := supervisor.NewAgent(o)
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan error, 1)
	go func() { ch <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-ch:
		t.Fatalf("agent: %v", err)
	}
	t.Cleanup(func() { cancel(); <-ch })
	return ch
}

func TestClientAgentDown(t *testing.T) {
	c := Dial(t.TempDir())
	if _, err := c.Status(t.Context()); !errors.Is(err, ErrAgentDown) {
		t.Fatalf("Status without agent: %v, want ErrAgentDown", err)
	}
	if _, err := c.Put(t.Context(), agentapi.Spec{Name: "x", Argv: []string{"true"}}); !errors.Is(err, ErrAgentDown) {
		t.Fatalf("Put without agent: %v, want ErrAgentDown", err)
	}
}

func TestClientAgainstAgent(t *testing.T) {
	dir := t.TempDir()
	runAgent(t, dir)
	ctx := t.Context()
	c := Dial(dir)
	defer c.Close()

	spec := agentapi.Spec{
		Name:    "web",
		Argv:    []string{"sh", "-c", "echo hello; exec sleep 1000"},
		Dir:     dir,
		Restart: agentapi.RestartPolicy{Policy: "always", MinUptime: 200 * time.Millisecond, MaxRestarts: 3},
		Stop:    agentapi.StopPolicy{Timeout: 3 * time.Second},
		Logs:    agentapi.LogSpec{Out: filepath.Join(dir, "web.out.log")},
	}
	res, err := c.Put(ctx, spec)
	if err != nil || res.Action != agentapi.ActionCreated {
		t.Fatalf("Put: %+v %v", res, err)
	}
	st, err := c.Wait(ctx, "web", WaitFor{Healthy: true, Timeout: 10 * time.Second})
	if err != nil || st.State != agentapi.StateOnline || st.Pid == 0 {
		t.Fatalf("Wait: %+v %v", st, err)
	}
	as, err := c.Status(ctx)
	if err != nil || len(as.Daemons) != 1 || as.Daemons[0].Pid != st.Pid || as.Dir != dir {
		t.Fatalf("Status: %+v %v", as, err)
	}
	if res, err := c.Put(ctx, spec); err != nil || res.Action != agentapi.ActionUnchanged {
		t.Fatalf("Put again: %+v %v", res, err)
	}

	if st, err = c.Stop(ctx, "web"); err != nil || st.State != agentapi.StateStopped {
		t.Fatalf("Stop: %+v %v", st, err)
	}
	if _, err := c.Wait(ctx, "web", WaitFor{Timeout: 5 * time.Second}); !errors.Is(err, ErrDaemonStopped) {
		t.Fatalf("Wait on stopped: %v", err)
	}
	if _, err = c.Start(ctx, "web"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if _, err := c.Wait(ctx, "web", WaitFor{Timeout: 10 * time.Second}); err != nil {
		t.Fatalf("Wait after start: %v", err)
	}
	if _, err = c.Restart(ctx, "web"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	first, err := c.Wait(ctx, "web", WaitFor{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Wait after restart: %v", err)
	}
	if _, err := c.Delete(ctx, "web"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if processRunning(first.Pid) {
		t.Fatalf("pid %d alive after delete", first.Pid)
	}
	_, err = c.Restart(ctx, "web")
	var ae *APIError
	if !errors.Is(err, ErrUnknownDaemon) || !errors.As(err, &ae) || ae.Code != 404 || !strings.Contains(ae.Message, "web") {
		t.Fatalf("Restart unknown: %v", err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// processRunning reports whether pid is alive and not a zombie.
func processRunning(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i+2 < len(b) && b[i+2] != 'Z'
}

// startDetached starts this test binary as the detached agent of dir and
// returns a client and its first status.
func startDetached(t *testing.T, dir string) (string, *Client, agentapi.AgentStatus) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Runs after the test's own cleanups (a Shutdown answers before the agent
	// has exited; its last writes into .beadsctl raced TempDir's RemoveAll,
	// 1 run in 20): the agent is waited for, killed if it is still there.
	testproc.Cleanup(t, dir)
	if err := StartAgent(t.Context(), dir, exe); err != nil {
		t.Fatalf("StartAgent: %v", err)
	}
	c := Dial(dir)
	t.Cleanup(c.Close)
	as, err := c.Status(t.Context())
	if err != nil || as.Version != "helper" || as.Pid == os.Getpid() {
		t.Fatalf("Status of the detached agent: %+v %v", as, err)
	}
	return exe, c, as
}

func TestStartAgentDetached(t *testing.T) {
	dir := t.TempDir()
	exe, c, as := startDetached(t, dir)
	// Its own session: not in our process group.
	if sid, _ := syscall.Getpgid(as.Pid); sid != as.Pid {
		t.Fatalf("agent pgid %d, want its own (%d)", sid, as.Pid)
	}
	// A second start for the same folder fails and says who holds it.
	err := StartAgent(t.Context(), dir, exe)
	if err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(as.Pid)) {
		t.Fatalf("second StartAgent: %v", err)
	}
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, agentapi.StateDir, "agent.log"))
	if !strings.Contains(string(b), "agent listening") {
		t.Fatalf("agent.log: %s", b)
	}
}

// TestStartAgentWithRefusesAnotherVersion: an agent binary that reports
// another version than the CLI's is shut down again, and the folder is free
// for the next start at once.
func TestStartAgentWithRefusesAnotherVersion(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	err = StartAgentWith(t.Context(), dir, AgentCommand{Path: exe, Args: []string{"beadsctl", "agent"}, Version: "9.9.9"})
	if !errors.Is(err, ErrAgentVersion) || !strings.Contains(err.Error(), "helper") {
		t.Fatalf("StartAgentWith of another version: %v, want ErrAgentVersion naming both", err)
	}
	// The refused agent is gone and the folder free: a start of the right version works.
	if err := StartAgentWith(t.Context(), dir, AgentCommand{Path: exe, Args: []string{"beadsctl", "agent"}, Version: "helper"}); err != nil {
		t.Fatalf("StartAgentWith after the refusal: %v", err)
	}
	c := Dial(dir)
	defer c.Close()
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestLeanAgent finds beadsctl-agent beside the beadsctl binary only when it
// is an executable file.
func TestLeanAgent(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "beadsctl")
	if _, ok := LeanAgent(exe, "1.0"); ok {
		t.Fatal("found a lean agent in an empty folder")
	}
	lean := filepath.Join(dir, LeanAgentName)
	if err := os.WriteFile(lean, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := LeanAgent(exe, "1.0"); ok {
		t.Fatal("a file without execute permission counted as the lean agent")
	}
	if err := os.Chmod(lean, 0o755); err != nil {
		t.Fatal(err)
	}
	ac, ok := LeanAgent(exe, "1.0")
	if !ok || ac.Path != lean || ac.Version != "1.0" || ac.Args[0] != LeanAgentName {
		t.Fatalf("LeanAgent = %+v, %v", ac, ok)
	}
}

// TestClientAgentStopped: an agent process stopped with SIGSTOP is told from a
// dead one. A question fails within the client's deadline, and a long request
// (a stop that may take a minute) within two liveness pings, both with
// ErrAgentNotAnswering naming the agent's pid; after SIGCONT it answers again.
func TestClientAgentStopped(t *testing.T) {
	dir := t.TempDir()
	_, c, as := startDetached(t, dir)
	t.Cleanup(func() {
		_ = syscall.Kill(as.Pid, syscall.SIGCONT)
		_ = c.Shutdown(context.Background())
	})
	spec := agentapi.Spec{Name: "s", Argv: []string{"sleep", "1000"}, Dir: dir, Stop: agentapi.StopPolicy{Timeout: time.Minute}}
	if _, err := c.Put(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(t.Context(), "s", WaitFor{Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(as.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if !allThreadsStopped(as.Pid, 5*time.Second) {
		t.Fatalf("agent pid %d not stopped 5s after SIGSTOP", as.Pid)
	}
	c.SetTimeout(500 * time.Millisecond) // the agent is stopped: no answer will come
	start := time.Now()
	_, err := c.Status(t.Context())
	var na *NotAnsweringError
	if !errors.As(err, &na) || na.Pid != as.Pid || errors.Is(err, ErrAgentDown) {
		t.Fatalf("Status of a stopped agent: %v, want ErrAgentNotAnswering naming pid %d", err, as.Pid)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Status took %v with a 500ms deadline", d)
	}
	start = time.Now()
	_, err = c.Stop(t.Context(), "s")
	if !errors.As(err, &na) || na.Pid != as.Pid || !strings.Contains(err.Error(), "status ping during POST /v1/daemons/s/stop") {
		t.Fatalf("Stop on a stopped agent: %v, want ErrAgentNotAnswering from a ping", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Stop took %v to find the agent stopped; the pings should find it within about 1s", d)
	}
	if err := syscall.Kill(as.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(0)
	if _, err := c.Status(t.Context()); err != nil {
		t.Fatalf("Status after SIGCONT: %v", err)
	}
}

// allThreadsStopped waits until every thread of pid is in state T: kill(2)
// returns before a thread running on another core has taken the stop, and
// /proc offers nothing to wait on, so it looks again after each yield.
func allThreadsStopped(pid int, max time.Duration) bool {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "stat"))
		stopped := len(tasks) > 0
		for _, p := range tasks {
			b, err := os.ReadFile(p)
			i := bytes.LastIndexByte(b, ')')
			stopped = stopped && err == nil && i > 0 && i+2 < len(b) && b[i+2] == 'T'
		}
		if stopped {
			return true
		}
		runtime.Gosched()
	}
	return false
}

// TestClientSocketGoneAgentAlive: a live agent whose socket file is gone is
// not reported as down (destroy would then remove its files and apply start
// a second agent). (The agent listens again on its own: supervisor's
// TestAgentRecreatesRemovedSocket.)
func TestClientSocketGoneAgentAlive(t *testing.T) {
	dir := t.TempDir()
	runAgent(t, dir)
	c := Dial(dir)
	defer c.Close()
	if err := os.Remove(c.SocketPath()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, err := c.Status(t.Context())
	var na *NotAnsweringError
	if !errors.As(err, &na) || na.Pid != os.Getpid() || !strings.Contains(err.Error(), "socket") {
		t.Fatalf("Status with the socket gone: %v, want ErrAgentNotAnswering naming pid %d and the socket", err, os.Getpid())
	}
}

// TestClientRefusesToDriveAnotherVersion: a client of another beadsctl
// version reads the agent's status and may shut it down, but does not send it
// specs or verbs (the agent would carry them out by its own rules).
func TestClientRefusesToDriveAnotherVersion(t *testing.T) {
	dir := t.TempDir()
	runAgent(t, dir)
	c := Dial(dir)
	defer c.Close()
	c.SetVersion("9.9.9")
	as, err := c.Status(t.Context())
	if err != nil || as.Version != "test" || as.API != agentapi.APIVersion {
		t.Fatalf("Status across versions: %+v %v", as, err)
	}
	_, err = c.Put(t.Context(), agentapi.Spec{Name: "x", Argv: []string{"sleep", "1000"}, Dir: dir})
	var ve *AgentVersionError
	if !errors.As(err, &ve) || ve.AgentVersion != "test" || ve.Version != "9.9.9" {
		t.Fatalf("Put across versions: %v, want an AgentVersionError naming test and 9.9.9", err)
	}
	if _, err := c.Stop(t.Context(), "x"); !errors.As(err, &ve) {
		t.Fatalf("Stop across versions: %v, want an AgentVersionError", err)
	}
	if err := c.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown across versions: %v", err)
	}
}

// TestClientSeesAnAgentOfAnotherAPI: an agent of control API 1 (every
// beadsctl before this one) refuses any request that names another API. A
// newer CLI asks its status and shuts it down without naming one, so it sees
// that agent (with its API) instead of "not running", and apply can replace
// it; the requests that drive it still name the API, and are refused.
func TestClientSeesAnAgentOfAnotherAPI(t *testing.T) {
	dir := t.TempDir()
	sock := agentapi.SocketPath(dir)
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var shutdown atomic.Bool
	old := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(agentapi.HeaderAPI, "1")
		if want := r.Header.Get(agentapi.HeaderAPI); want != "" && want != "1" { // API 1's handshake
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"this agent speaks control API 1"}`))
			return
		}
		switch r.URL.Path {
		case "/v1/status":
			w.Write([]byte(`{"pid":4242,"dir":"` + dir + `","version":"0.9.0","api":1,"daemons":[]}`))
		case "/v1/shutdown":
			shutdown.Store(true)
			w.Write([]byte(`{}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})}
	go old.Serve(ln)
	t.Cleanup(func() { old.Close() })

	c := Dial(dir)
	defer c.Close()
	c.SetVersion("test")
	as, err := c.Status(t.Context())
	if err != nil || as.Pid != 4242 || as.API != 1 || as.Version != "0.9.0" {
		t.Fatalf("Status of an API 1 agent: %+v %v, want pid 4242 API 1", as, err)
	}
	var ve *AgentVersionError
	if _, err := c.Put(t.Context(), agentapi.Spec{Name: "x", Argv: []string{"sleep", "1"}, Dir: dir}); !errors.As(err, &ve) || ve.AgentAPI != 1 {
		t.Fatalf("Put to an API 1 agent: %v, want an AgentVersionError naming API 1", err)
	}
	if err := c.Shutdown(t.Context()); err != nil || !shutdown.Load() {
		t.Fatalf("Shutdown of an API 1 agent: %v (served %v)", err, shutdown.Load())
	}
}
