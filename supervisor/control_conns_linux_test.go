package supervisor

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestAgentAnswersUnderConnectionFlood: thousands of idle connections, some
// never sending a byte and some idle between keep-alive requests, hold every
// place the agent has; a status call from a fresh client is answered at
// once, and the agent's descriptors stay bounded (issue 13: 20,000 idle
// keep-alive connections took them all, and the CLI then said "The agent is
// not running"). The test's own descriptor limit is lowered to 4,096 so that
// an agent keeping every connection runs out.
func TestAgentAnswersUnderConnectionFlood(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	const limit, flood = 4096, 3000
	if old.Max < limit {
		t.Fatalf("hard descriptor limit %d, the test needs %d", old.Max, limit)
	}
	lowered := old
	lowered.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })

	ta := startAgent(t, t.TempDir(), nil)
	sock := ta.SocketPath()
	before, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range flood {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Logf("flood stopped after %d connections: %v", i, err)
			break
		}
		conns = append(conns, c)
		if i%2 == 1 {
			continue // idle, never sends a byte
		}
		// A keep-alive client, idle after one answer.
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /v1/status HTTP/1.1\r\nHost: agent\r\n\r\n"); err != nil {
			t.Fatalf("keep-alive request %d: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("keep-alive answer %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := unixClient(sock).Do(req)
	if err != nil {
		t.Fatalf("status with %d other connections open: %v", len(conns), err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status answered %s", resp.Status)
	}
	t.Logf("status answered in %v with %d other connections open", time.Since(start), len(conns))

	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	// What was open before, our client ends, the agent's side of at most
	// maxControlConns, and a few for the status call.
	if max := len(before) + len(conns) + maxControlConns + 16; len(fds) > max {
		t.Errorf("%d descriptors open with %d flood connections, want at most %d: the agent keeps every connection", len(fds), len(conns), max)
	}
}

// TestConnGateRefusesWhenEveryPlaceIsBusy: with every place holding a
// request in progress a newcomer is refused (answered 503) rather than
// queued; with one idle, that one makes room.
func TestConnGateRefusesWhenEveryPlaceIsBusy(t *testing.T) {
	g := newConnGate(2, nil)
	var pipes []net.Conn
	conn := func() net.Conn {
		a, b := net.Pipe()
		pipes = append(pipes, a, b)
		return a
	}
	defer func() {
		for _, p := range pipes {
			p.Close()
		}
	}()
	c1, c2 := conn(), conn()
	for _, c := range []net.Conn{c1, c2} {
		if !g.admit(c) {
			t.Fatal("refused below the cap")
		}
		g.connState(c, http.StateActive)
	}
	if g.admit(conn()) {
		t.Error("admitted a third connection while two requests are in progress")
	}
	g.connState(c1, http.StateIdle)
	if !g.admit(conn()) || g.open() != 2 {
		t.Errorf("not admitted in the place of an idle connection (open %d)", g.open())
	}
	if _, err := c1.Write([]byte("x")); err == nil {
		t.Error("the idle connection that made room is still open")
	}
}
