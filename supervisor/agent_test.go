//go:build linux

package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
	"golang.org/x/sys/unix"
)

// testAgent is a real agent on a temporary project folder, and an HTTP client
// speaking to it over its socket.
type testAgent struct {
	*Agent
	dir    string
	hc     *http.Client
	cancel context.CancelFunc
	done   chan error
}

func startAgent(t *testing.T, dir string, tweak func(*Agent)) *testAgent {
	t.Helper()
	a := NewAgent(AgentOptions{Dir: dir, Version: "test"})
	if tweak != nil {
		tweak(a)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ta := &testAgent{Agent: a, dir: dir, cancel: cancel, done: make(chan error, 1), hc: unixClient(SocketPath(dir))}
	go func() { ta.done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-ta.done:
		t.Fatalf("agent did not start: %v", err)
	}
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

// runAgentWithSleeper runs an agent for dir that checks its folder and socket
// every 20ms, hosting one online daemon "s" (sleep 1000); it returns Run's
// result channel and the daemon's pid.
func runAgentWithSleeper(t *testing.T, dir string) (<-chan error, int) {
	t.Helper()
	a := NewAgent(AgentOptions{Dir: dir, Version: "test", FolderCheck: 20 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- a.Run(t.Context()) }()
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("agent did not start: %v", err)
	}
	if _, err := a.put(t.Context(), Spec{Name: "s", Argv: []string{"sleep", "1000"}, Dir: os.TempDir()}, true); err != nil {
		t.Fatal(err)
	}
	h, ok := a.lookup("s")
	if !ok {
		t.Fatal("daemon s not found after put")
	}
	return done, waitStatus(t, h.d, 10*time.Second, "online", func(s Status) bool { return s.Pid != 0 }).Pid
}

// stop cancels the agent and waits for Run to return nil.
func (ta *testAgent) stop(t *testing.T) {
	t.Helper()
	ta.cancel()
	if ta.done == nil {
		return
	}
	if err := <-ta.done; err != nil {
		t.Errorf("Run returned %v", err)
	}
	ta.done = nil
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

// call sends a request; body is JSON-encoded unless it is an io.Reader.
func (ta *testAgent) call(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, "http://agent"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ta.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (ta *testAgent) callJSON(t *testing.T, method, path string, body, out any) {
	t.Helper()
	code, b := ta.call(t, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
}

func (ta *testAgent) put(t *testing.T, spec Spec) PutResult {
	t.Helper()
	var res PutResult
	ta.callJSON(t, http.MethodPut, "/v1/daemons/"+spec.Name, spec, &res)
	return res
}

func (ta *testAgent) wait(t *testing.T, name, query string) WaitResult {
	t.Helper()
	var res WaitResult
	ta.callJSON(t, http.MethodGet, "/v1/daemons/"+name+"/wait?"+query, nil, &res)
	return res
}

func (ta *testAgent) waitOnline(t *testing.T, name string) Status {
	t.Helper()
	res := ta.wait(t, name, "for=online&timeout=10s&settle=100ms")
	if res.Result != WaitReached || res.Status.Pid == 0 {
		t.Fatalf("wait %s: %+v", name, res)
	}
	return res.Status
}

func shSpec(dir, name, script string) Spec {
	return Spec{
		Name:    name,
		Argv:    []string{"sh", "-c", script},
		Dir:     dir,
		Restart: RestartPolicy{Policy: "always", Backoff: "constant", MinUptime: time.Second, MaxRestarts: 3},
		Stop:    StopPolicy{Signal: "SIGTERM", Timeout: 3 * time.Second},
		Logs: LogSpec{
			Out:   filepath.Join(dir, name+".out.log"),
			Error: filepath.Join(dir, name+".err.log"),
		},
	}
}

// alive reports whether pid is a live (non-zombie) process.
func alive(pid int) bool {
	if unix.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

// groupMembers lists the live (non-zombie) processes of the group pgid.
func groupMembers(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGroupGone waits (on pidfds, for processes that are not our children) until
// no process of the group pgid is left; a signalled process takes a moment to die.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	for _, pid := range groupMembers(pgid) {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // already gone
		}
		n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 5000)
		unix.Close(fd)
		if n == 0 {
			t.Fatalf("pid %d of group %d still alive", pid, pgid)
		}
	}
	if left := groupMembers(pgid); len(left) > 0 {
		t.Fatalf("group %d still has %v", pgid, left)
	}
}

func TestAgentDaemonLifecycle(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)

	spec := shSpec(dir, "web", "exec sleep 1000")
	if res := ta.put(t, spec); res.Action != ActionCreated {
		t.Fatalf("first put: action %q, want created", res.Action)
	}
	st := ta.waitOnline(t, "web")
	pid1 := st.Pid

	var as AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &as)
	if as.Pid != os.Getpid() || as.Version != "test" || len(as.Daemons) != 1 || as.Daemons[0].Pid != pid1 {
		t.Fatalf("status: %+v", as)
	}

	if res := ta.put(t, spec); res.Action != ActionUnchanged {
		t.Fatalf("same put: action %q, want unchanged", res.Action)
	}
	inPlace := spec
	inPlace.Restart.MaxRestarts = 7
	if res := ta.put(t, inPlace); res.Action != ActionUpdated {
		t.Fatalf("restart-policy put: action %q, want updated", res.Action)
	}
	if st := ta.waitOnline(t, "web"); st.Pid != pid1 {
		t.Fatalf("in-place update changed the pid %d -> %d", pid1, st.Pid)
	}

	changed := inPlace
	changed.Argv = []string{"sh", "-c", "exec sleep 999"}
	if res := ta.put(t, changed); res.Action != ActionRestarted {
		t.Fatalf("argv put: action %q, want restarted", res.Action)
	}
	pid2 := waitNewPid(t, ta, "web", pid1)
	if alive(pid1) {
		t.Fatalf("old pid %d survived the restart", pid1)
	}

	var dr DaemonResult
	ta.callJSON(t, http.MethodPost, "/v1/daemons/web/restart", nil, &dr)
	pid3 := waitNewPid(t, ta, "web", pid2)

	ta.callJSON(t, http.MethodPost, "/v1/daemons/web/stop", nil, &dr)
	if dr.Status.State != StateStopped || !dr.Status.Stopped {
		t.Fatalf("after stop: %+v", dr.Status)
	}
	if alive(pid3) {
		t.Fatalf("pid %d alive after stop", pid3)
	}
	if res := ta.wait(t, "web", "for=online&timeout=5s"); res.Result != WaitStopped {
		t.Fatalf("wait on a stopped daemon: %+v", res)
	}

	ta.callJSON(t, http.MethodPost, "/v1/daemons/web/start", nil, &dr)
	pid4 := ta.waitOnline(t, "web").Pid

	ta.callJSON(t, http.MethodDelete, "/v1/daemons/web", nil, &dr)
	if alive(pid4) {
		t.Fatalf("pid %d alive after delete", pid4)
	}
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &as)
	if len(as.Daemons) != 0 {
		t.Fatalf("daemons after delete: %+v", as.Daemons)
	}
	if code, _ := ta.call(t, http.MethodPost, "/v1/daemons/web/restart", nil); code != http.StatusNotFound {
		t.Fatalf("restart after delete: %d, want 404", code)
	}
}

// waitNewPid waits until the daemon is online with a pid other than old.
func waitNewPid(t *testing.T, ta *testAgent, name string, old int) int {
	t.Helper()
	h, ok := ta.lookup(name)
	if !ok {
		t.Fatalf("no daemon %s", name)
	}
	deadline := time.After(10 * time.Second)
	for {
		ch := h.d.Changed()
		st := h.d.Status()
		if st.State == StateOnline && st.Pid != 0 && st.Pid != old {
			return st.Pid
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no new pid for %s (still %+v)", name, st)
		}
	}
}

func TestAgentWaitErroredAndTimeout(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)

	bad := shSpec(dir, "bad", "exit 3")
	bad.Restart = RestartPolicy{Policy: "always", MinUptime: 10 * time.Second, MaxRestarts: 2}
	ta.put(t, bad)
	res := ta.wait(t, "bad", "for=online&timeout=20s")
	if res.Result != WaitErrored || res.Status.State != StateErrored {
		t.Fatalf("wait on a crash loop: %+v", res)
	}

	sick := shSpec(dir, "sick", "exec sleep 1000")
	sick.Health = HealthSpec{Check: "exec", Command: []string{"false"}, Interval: time.Hour, Timeout: time.Second, Failures: 100}
	ta.put(t, sick)
	ta.waitOnline(t, "sick")
	res = ta.wait(t, "sick", "for=online&healthy=1&timeout=300ms")
	if res.Result != WaitTimeout || res.Status.State != StateOnline {
		t.Fatalf("wait healthy on an unhealthy daemon: %+v", res)
	}
}

func TestAgentBadRequests(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	huge := `{"name":"x","argv":["` + strings.Repeat("a", MaxBodyBytes+10) + `"]}`
	cases := map[string]struct {
		method, path string
		body         any
		code         int
	}{
		"malformed json":   {http.MethodPut, "/v1/daemons/x", strings.NewReader("{not json"), http.StatusBadRequest},
		"huge body":        {http.MethodPut, "/v1/daemons/x", strings.NewReader(huge), http.StatusRequestEntityTooLarge},
		"name mismatch":    {http.MethodPut, "/v1/daemons/x", Spec{Name: "y", Argv: []string{"true"}}, http.StatusBadRequest},
		"no command":       {http.MethodPut, "/v1/daemons/x", Spec{Name: "x"}, http.StatusBadRequest},
		"unknown daemon":   {http.MethodPost, "/v1/daemons/nope/restart", nil, http.StatusNotFound},
		"unknown delete":   {http.MethodDelete, "/v1/daemons/nope", nil, http.StatusNotFound},
		"unknown wait":     {http.MethodGet, "/v1/daemons/nope/wait", nil, http.StatusNotFound},
		"unknown path":     {http.MethodGet, "/v2/status", nil, http.StatusNotFound},
		"wrong method":     {http.MethodGet, "/v1/daemons/x", nil, http.StatusMethodNotAllowed},
		"wrong method 2":   {http.MethodDelete, "/v1/status", nil, http.StatusMethodNotAllowed},
		"bad wait timeout": {http.MethodGet, "/v1/daemons/x/wait?timeout=soon", nil, http.StatusBadRequest},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, body := ta.call(t, tc.method, tc.path, tc.body)
			var ae APIError
			if code != tc.code || json.Unmarshal(body, &ae) != nil || ae.Error == "" {
				t.Fatalf("%s %s: %d %q, want %d with a JSON error", tc.method, tc.path, code, body, tc.code)
			}
		})
	}
	var as AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &as)
	if as.Pid != os.Getpid() || len(as.Daemons) != 0 {
		t.Fatalf("status after bad requests: %+v", as)
	}
}

func TestAgentSecondAgentRefused(t *testing.T) {
	dir := t.TempDir()
	startAgent(t, dir, nil)
	err := NewAgent(AgentOptions{Dir: dir}).Run(t.Context())
	if !errors.Is(err, ErrAgentRunning) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second agent: %v, want ErrAgentRunning naming pid %d", err, os.Getpid())
	}
}

func TestAgentStaleSocketReplaced(t *testing.T) {
	dir := t.TempDir()
	sock := SocketPath(dir)
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	ta := startAgent(t, dir, nil)
	var as AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &as)
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Dir(sock)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state folder mode: %v %v", fi, err)
	}
}

func TestAgentLiveSocketNotStolen(t *testing.T) {
	dir := t.TempDir()
	sock := SocketPath(dir)
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = NewAgent(AgentOptions{Dir: dir}).Run(t.Context())
	if !errors.Is(err, ErrSocketInUse) {
		t.Fatalf("agent over a live socket: %v, want ErrSocketInUse", err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("live socket was taken: %v", err)
	}
	c.Close()
	// The lock was released: a real agent starts once the socket is free.
	l.Close()
	startAgent(t, dir, nil)
}

func TestAgentLongPathFallback(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	dir := t.TempDir()
	for len(dir) < 120 {
		dir = filepath.Join(dir, strings.Repeat("d", 30))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := SocketPath(dir)
	if sock == filepath.Join(dir, StateDir, "agent.sock") || len(sock) >= 108 || !strings.HasPrefix(sock, os.Getenv("XDG_RUNTIME_DIR")) {
		t.Fatalf("SocketPath(%d-byte dir) = %s", len(dir), sock)
	}
	if SocketPath(dir+"/") != sock || SocketPath(filepath.Join(dir, "..", filepath.Base(dir))) != sock {
		t.Fatalf("SocketPath depends on the spelling of dir")
	}
	short := t.TempDir()
	if SocketPath(short) != filepath.Join(short, StateDir, "agent.sock") {
		t.Fatalf("short dir: %s", SocketPath(short))
	}
	ta := startAgent(t, dir, nil)
	var as AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &as)
	if as.Dir != dir {
		t.Fatalf("status dir %q, want %q", as.Dir, dir)
	}
	ta.stop(t)
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left after stop: %v", err)
	}
}

func TestAgentPeerCredentials(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "p.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	cc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc := <-accepted
	defer sc.Close()
	if err := checkPeerUID(sc, os.Getuid()); err != nil {
		t.Fatalf("own uid refused: %v", err)
	}
	if err := checkPeerUID(sc, os.Getuid()+1); !errors.Is(err, ErrPeerRefused) {
		t.Fatalf("other uid: %v, want ErrPeerRefused", err)
	}

	if os.Getuid() != 0 {
		t.Logf("not root: the cross-uid dial is tested only as root")
		return
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is needed to dial as another uid: %v", err)
	}
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}

	// A listener open to everyone at the file level: the peer check refuses.
	open, err := os.MkdirTemp("", "beadsctl-peer")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(open)
	os.Chmod(open, 0o777)
	osock := filepath.Join(open, "o.sock")
	ol, err := net.Listen("unix", osock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(osock, 0o777)
	refusedErr := make(chan error, 1)
	pl := &peerListener{Listener: ol, uid: os.Getuid(), refused: func(err error) { refusedErr <- err }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "served") })}
	go srv.Serve(pl)
	defer srv.Close()
	cmd := exec.Command(curl, "-sS", "-w", "\n%{http_code}", "--unix-socket", osock, "http://agent/v1/status")
	cmd.SysProcAttr = nobody
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "403") || !strings.Contains(string(out), "uid 65534") {
		t.Fatalf("uid 65534 through the peer check: %v %q, want 403", err, out)
	}
	if err := <-refusedErr; !errors.Is(err, ErrPeerRefused) {
		t.Fatalf("refusal reported as %v", err)
	}
	// Our own uid is served by the same listener.
	own, err := exec.Command(curl, "-sS", "--unix-socket", osock, "http://agent/").CombinedOutput()
	if err != nil || string(own) != "served" {
		t.Fatalf("own uid: %v %q", err, own)
	}

	// The real agent: its 0700 folder already refuses uid 65534 at the file level.
	adir, err := os.MkdirTemp("", "beadsctl-agent")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(adir)
	os.Chmod(adir, 0o755)
	startAgent(t, adir, nil)
	cmd = exec.Command(curl, "-sS", "--unix-socket", SocketPath(adir), "http://agent/v1/status")
	cmd.SysProcAttr = nobody
	out, err = cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), `"pid"`) {
		t.Fatalf("uid 65534 got an answer from the agent: %q", out)
	}
}

func TestAgentPanicIsolated(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, func(a *Agent) {
		a.runHook = func(ctx context.Context, d *Daemon) error {
			if d.Spec().Name == "boom" {
				panic("kaboom")
			}
			return d.Run(ctx)
		}
	})
	ta.put(t, shSpec(dir, "ok", "exec sleep 1000"))
	ta.put(t, shSpec(dir, "boom", "exec sleep 1000"))
	pid := ta.waitOnline(t, "ok").Pid
	res := ta.wait(t, "boom", "for=online&timeout=10s")
	if res.Result != WaitErrored || !strings.Contains(res.Status.Reason, "kaboom") {
		t.Fatalf("panicked daemon: %+v", res)
	}
	var as AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &as)
	if len(as.Daemons) != 2 || as.Daemons[1].Name != "ok" || as.Daemons[1].Pid != pid || !alive(pid) {
		t.Fatalf("the other daemon after a panic: %+v", as.Daemons)
	}
}

func TestAgentStopsEverythingAndRecords(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	var pids []int
	for _, n := range []string{"a", "b"} {
		// A trap that takes a moment shows the stops run in parallel and gracefully.
		ta.put(t, shSpec(dir, n, `trap 'echo bye; exit 0' TERM; sleep 1000 & wait`))
		pids = append(pids, ta.waitOnline(t, n).Pid)
	}
	var ok struct{}
	ta.callJSON(t, http.MethodPost, "/v1/shutdown", nil, &ok)
	if err := <-ta.done; err != nil {
		t.Fatalf("Run after shutdown: %v", err)
	}
	ta.done = nil
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("pid %d alive after shutdown", pid)
		}
		// Nothing of the group survives either (the background sleep).
		waitGroupGone(t, pid)
	}
	fi, err := os.Stat(AgentRecordPath(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("agent.json: %v %v", fi, err)
	}
	rec, err := ReadAgentRecord(dir)
	if err != nil || rec.Pid != os.Getpid() || len(rec.Daemons) != 2 || rec.StopPolicies["a"].Signal != "SIGTERM" {
		t.Fatalf("record: %+v %v", rec, err)
	}
	for _, st := range rec.Daemons {
		if st.State != StateStopped || st.Pid != 0 {
			t.Fatalf("recorded after shutdown: %+v", st)
		}
	}
	if _, err := os.Lstat(SocketPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left after shutdown: %v", err)
	}
}

func TestAgentReapsOrphansNotRecycledPids(t *testing.T) {
	dir := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command("sh", "-c", "sleep 1000 & wait")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	orphan, stranger := start(), start()
	defer func() { _ = unix.Kill(-stranger.Process.Pid, unix.SIGKILL); stranger.Wait() }()
	orphanDone := make(chan error, 1)
	go func() { orphanDone <- orphan.Wait() }()
	ostart, err := proc.StartTime(orphan.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	sstart, err := proc.StartTime(stranger.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	rec := AgentRecord{
		AgentStatus: AgentStatus{Pid: 999999, Daemons: []Status{
			{Name: "orphan", State: StateOnline, Pid: orphan.Process.Pid, StartTime: ostart},
			// A recycled pid: same number, another start time. Never signalled.
			{Name: "stranger", State: StateOnline, Pid: stranger.Process.Pid, StartTime: sstart.Add(-time.Hour)},
		}},
		StopPolicies: map[string]StopPolicy{"orphan": {Signal: "SIGTERM", Timeout: 5 * time.Second}},
	}
	b, _ := json.Marshal(rec)
	os.MkdirAll(filepath.Join(dir, StateDir), 0o700)
	if err := os.WriteFile(AgentRecordPath(dir), b, 0o600); err != nil {
		t.Fatal(err)
	}
	startAgent(t, dir, nil)
	select {
	case err := <-orphanDone:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("orphan ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("orphan %d still running after the agent started", orphan.Process.Pid)
	}
	waitGroupGone(t, orphan.Process.Pid)
	if !alive(stranger.Process.Pid) {
		t.Fatalf("a pid with another start time was signalled")
	}
}

// TestAgentExitsWhenFolderRemoved: an agent whose project folder is deleted
// stops its daemons and exits instead of living on unreachable.
func TestAgentExitsWhenFolderRemoved(t *testing.T) {
	dir := t.TempDir()
	done, pid := runAgentWithSleeper(t, dir)
	// Rename, not RemoveAll: the agent may be writing agent.json at this very
	// moment; to it, the folder vanishes at once either way.
	if err := os.Rename(filepath.Join(dir, StateDir), filepath.Join(t.TempDir(), "gone")); err != nil {
		t.Fatal(err)
	}
	awaitAgentExitWith(t, done, pid, "its folder was removed")
}

// TestAgentExitsWhenFolderReplaced: a folder created again where it was
// removed (a writer that opened a file in it afterwards: the event history, a
// daemon's log) is not the agent's: it exits all the same.
func TestAgentExitsWhenFolderReplaced(t *testing.T) {
	dir := t.TempDir()
	done, pid := runAgentWithSleeper(t, dir)
	state := filepath.Join(dir, StateDir)
	if err := os.Rename(state, filepath.Join(t.TempDir(), "gone")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	awaitAgentExitWith(t, done, pid, "its folder was replaced")
}

// awaitAgentExitWith waits up to 30s for Run to return nil after what
// happened, and checks that the daemon pid went with it.
func awaitAgentExitWith(t *testing.T, done <-chan error, pid int, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("agent still running 30s after %s", what)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("daemon pid %d still alive after the agent exited", pid)
	}
}

// TestAgentStatusBrief: GET /v1/status?brief=1 leaves out what beadsctl
// status does not show (argv, folder, hashes, recent restarts and health
// checks, restarts by reason, the alerts) and keeps what it shows.
func TestAgentStatusBrief(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	spec := shSpec(dir, "web", "exec sleep 1000")
	spec.Limits.Memory = 100 << 20
	ta.put(t, spec)
	on := ta.waitOnline(t, "web")
	var full, brief AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &full)
	ta.callJSON(t, http.MethodGet, "/v1/status?brief=1", nil, &brief)
	if len(full.Daemons) != 1 || len(full.Daemons[0].Argv) == 0 || full.Daemons[0].Dir == "" {
		t.Fatalf("full status lacks what brief leaves out: %+v", full.Daemons)
	}
	if len(brief.Daemons) != 1 {
		t.Fatalf("brief status: %+v", brief)
	}
	b := brief.Daemons[0]
	if b.Argv != nil || b.Dir != "" || b.EnvHash != "" || b.SpecHash != "" || b.RecentRestarts != nil || b.RecentHealth != nil || b.RestartsByReason != nil {
		t.Errorf("brief status keeps what status does not show: %+v", b)
	}
	if b.Name != "web" || b.State != StateOnline || b.Pid != on.Pid || !b.StartTime.Equal(on.StartTime) || b.MemoryLimitBytes != 100<<20 || b.LastEvent == nil ||
		brief.Pid != full.Pid || brief.Version != full.Version || brief.API != full.API {
		t.Errorf("brief status lacks what status shows: %+v of %+v", brief, b)
	}
}

// TestStatusAnswerHasItsLength: GET /v1/status says its length
// (Content-Length, not chunks), brief or not, past net/http's 2 KB below
// which it counts it itself: the client reads the answer into one buffer
// of that size.
func TestStatusAnswerHasItsLength(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	for i := range 8 {
		name := fmt.Sprintf("web%d", i)
		ta.put(t, shSpec(dir, name, "exec sleep 1000"))
		ta.waitOnline(t, name)
	}
	for _, path := range []string{"/v1/status", "/v1/status?brief=1"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://agent"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ta.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		if resp.ContentLength != int64(len(b)) || len(resp.TransferEncoding) > 0 || len(b) <= 2048 {
			t.Errorf("%s: Content-Length %d, transfer encoding %v, body of %d bytes", path, resp.ContentLength, resp.TransferEncoding, len(b))
		}
	}
}
