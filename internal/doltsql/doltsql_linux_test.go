package doltsql

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/testdolt"
	"golang.org/x/sys/unix"
)

// connID is the server's id of the checker's kept connection (0: none).
func connID(t *testing.T, c *SQLChecker) int64 {
	t.Helper()
	if c.conn == nil {
		return 0
	}
	var id int64
	if err := c.conn.QueryRowContext(t.Context(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// checkWithin runs c.Check bounded by timeout, and fails the test if it
// does not return long after that bound (instead of hanging the test).
func checkWithin(t *testing.T, c *SQLChecker, target bd.SQLTarget, timeout time.Duration) (bd.SQLReport, error, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	type result struct {
		rep bd.SQLReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := c.Check(ctx, target)
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		return r.rep, r.err, ctx.Err()
	case <-time.After(timeout + 30*time.Second):
		t.Fatalf("Check still running 30 s after its %v deadline", timeout)
		return bd.SQLReport{}, nil, nil
	}
}

// waitStopped waits until the group stop of pid (our child) is complete:
// SIGSTOP reaches each thread as it next runs, not at kill(2).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOWAIT, nil); err != nil {
		t.Fatalf("waitid for the stop of pid %d: %v", pid, err)
	}
}

// The SQL health check keeps its connection between checks (no connect and
// handshake each time), still proves the project's database on every check,
// opens a new connection when the kept one was closed under it, and fails a
// server that hangs at its deadline, then recovers once the server answers.
func TestSQLCheckerKeepsItsConnection(t *testing.T) {
	dolt := testdolt.Binary(t)
	home := testdolt.Home(t, dolt)
	ws := testdolt.NewWorkspace(t, dolt, home, t.TempDir(), "demo")
	port := testdolt.FreePort(t)
	srv := testdolt.Start(t, dolt, home, ws.DataDir, port)
	target := bd.SQLTarget{Addr: "127.0.0.1:" + strconv.Itoa(port), Databases: []bd.Database{{Name: "demo", ProjectID: ws.ProjectID}}}
	var c SQLChecker
	defer c.Close()

	rep, err, _ := checkWithin(t, &c, target, 10*time.Second)
	if err != nil || rep.ProjectID != ws.ProjectID || rep.DoltVersion == "" {
		t.Fatalf("first check: %+v, %v", rep, err)
	}
	first := connID(t, &c)
	rep, err, _ = checkWithin(t, &c, target, 10*time.Second)
	if err != nil || rep.ProjectID != ws.ProjectID || rep.DoltVersion == "" {
		t.Fatalf("second check: %+v, %v", rep, err)
	}
	if id := connID(t, &c); first == 0 || id != first {
		t.Fatalf("second check on connection %d, the first on %d: want the same one kept", id, first)
	}

	// Every check asks again: another project's id under the same name is
	// seen on the kept connection.
	testdolt.Exec(t, port, "demo", "UPDATE metadata SET value = 'another' WHERE `key` = '_project_id'")
	if rep, err, _ := checkWithin(t, &c, target, 10*time.Second); err == nil || rep.ProjectID != "another" {
		t.Fatalf("check after the project id changed: %+v, %v; want ErrWrongProject", rep, err)
	}
	testdolt.Exec(t, port, "demo", "UPDATE metadata SET value = '"+ws.ProjectID+"' WHERE `key` = '_project_id'")
	// No project id, or no metadata table: unhealthy, and the message says so.
	testdolt.Exec(t, port, "demo", "UPDATE metadata SET `key` = 'moved' WHERE `key` = '_project_id'")
	if _, err, _ := checkWithin(t, &c, target, 10*time.Second); err == nil || !strings.Contains(err.Error(), "read _project_id") {
		t.Fatalf("check without the _project_id row: %v; want it named", err)
	}
	testdolt.Exec(t, port, "demo", "UPDATE metadata SET `key` = '_project_id' WHERE `key` = 'moved'", "RENAME TABLE metadata TO moved")
	if _, err, _ := checkWithin(t, &c, target, 10*time.Second); err == nil || !strings.Contains(err.Error(), "read _project_id") {
		t.Fatalf("check without the metadata table: %v; want it named", err)
	}
	testdolt.Exec(t, port, "demo", "RENAME TABLE moved TO metadata")

	// The server closes the kept connection: the next check is healthy, on
	// a new connection.
	if _, err, _ := checkWithin(t, &c, target, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	killed := connID(t, &c)
	testdolt.Exec(t, port, "", "KILL "+strconv.FormatInt(killed, 10))
	if rep, err, _ := checkWithin(t, &c, target, 10*time.Second); err != nil || rep.ProjectID != ws.ProjectID {
		t.Fatalf("check after the server closed the kept connection: %+v, %v; want healthy on a new one", rep, err)
	}
	if id := connID(t, &c); id == killed {
		t.Fatalf("still on connection %d, which the server killed", id)
	}

	// A server that stops answering (SIGSTOP: the kernel still accepts and
	// buffers) fails the check when its deadline ends, not later.
	pid := srv.Cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	waitStopped(t, pid)
	defer func() {
		if stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	if _, err, ctxErr := checkWithin(t, &c, target, 500*time.Millisecond); err == nil || ctxErr == nil {
		t.Fatalf("check of a stopped server: err %v, deadline %v; want a failure at the deadline", err, ctxErr)
	}
	// On a new connection the handshake may fail first: unhealthy all the
	// same, and by the deadline (checkWithin).
	if _, err, _ := checkWithin(t, &c, target, 500*time.Millisecond); err == nil {
		t.Fatal("check of a stopped server on a new connection passed")
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	if rep, err, _ := checkWithin(t, &c, target, 30*time.Second); err != nil || rep.ProjectID != ws.ProjectID {
		t.Fatalf("check once the server answers again: %+v, %v", rep, err)
	}
}
