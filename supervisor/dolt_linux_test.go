package supervisor

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/testdolt"
)

// doltSpec is a Spec that runs a real dolt sql-server for ws the way
// reconcile derives it from a dolt_server block.
func doltTestSpec(dolt, home string, ws testdolt.Workspace, port int, projectID string) Spec {
	return Spec{
		Name: "dolt",
		Argv: append([]string{dolt}, bd.ServerArgs("127.0.0.1", port)...),
		Dir:  ws.DataDir,
		Env:  map[string]string{"HOME": home, "DOLT_DISABLE_EVENT_FLUSH": "1"}, // no send-metrics at the stop
		Dolt: &DoltSpec{ServerDir: ws.BeadsDir, Host: "127.0.0.1", Port: port},
		Restart: RestartPolicy{Policy: "always", Backoff: "constant", MaxRestarts: 5,
			MinUptime: 100 * time.Millisecond},
		Stop: StopPolicy{Timeout: 10 * time.Second},
		Health: HealthSpec{Check: CheckSQL, Interval: 2 * time.Second, Timeout: 2 * time.Second, Failures: 3,
			SQL: &SQLHealth{Address: "127.0.0.1:" + strconv.Itoa(port), Databases: []bd.Database{{Name: ws.Database, ProjectID: projectID}}}},
	}
}

func healthy(st Status) bool { return online(st) && st.Health.Status == "healthy" }

// A dolt sql-server under a Daemon is found by bd (pid and port files), is
// SQL-healthy for the right reasons, comes back on the same port after
// kill -9 with the pid file updated, and a stop commits a pending write.
func TestDoltServerSupervisedAsBdExpects(t *testing.T) {
	dolt := testdolt.Binary(t)
	home := testdolt.Home(t, dolt)
	ws := testdolt.NewWorkspace(t, dolt, home, t.TempDir(), "demo")
	port := testdolt.FreePort(t)
	d := runDaemon(t, doltTestSpec(dolt, home, ws, port, ws.ProjectID), DaemonOptions{})
	files := bd.ServerFiles{Dir: ws.BeadsDir}

	st := waitStatus(t, d, 60*time.Second, "SQL-healthy", healthy)
	if pid, p := files.Read(); pid != st.Pid || p != port {
		t.Fatalf("dolt-server.pid/.port say %d/%d, want the child %d and port %d", pid, p, st.Pid, port)
	}
	sp, ok := bd.InspectServer(t.Context(), st.Pid)
	if !ok || !bd.SameDir(sp.DataDir, ws.DataDir) || sp.Port != port {
		t.Fatalf("pid %d is not a dolt sql-server on %s port %d as bd checks: %+v", st.Pid, ws.DataDir, port, sp)
	}
	rep := st.Health.SQL
	if rep == nil || rep.DoltVersion == "" || !slices.Contains(rep.Databases, "demo") || rep.ProjectID != ws.ProjectID {
		t.Fatalf("health report lacks the server's facts: %+v", rep)
	}

	// kill -9: a new child on the same port, and the files follow it.
	old := st.Pid
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st = waitStatus(t, d, 60*time.Second, "a new healthy pid after kill -9", func(s Status) bool { return healthy(s) && s.Pid != old })
	if pid, p := files.Read(); pid != st.Pid || p != port {
		t.Fatalf("after kill -9: files say %d/%d, want %d/%d", pid, p, st.Pid, port)
	}
	if st.Restarts != 1 || st.LastRestartReason != ReasonCrash {
		t.Fatalf("restarts %d reason %q, want 1 crash", st.Restarts, st.LastRestartReason)
	}

	// A write left in the working set (as a bd command leaves it until it
	// commits) is committed by the flush before the stop signal.
	testdolt.Exec(t, port, "demo", "INSERT INTO issues VALUES ('bd-1', 'written, not committed')")
	if err := d.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	st = d.Status()
	if st.Dolt == nil || st.Dolt.LastFlush == nil || st.Dolt.LastFlush.Error != "" || !slices.Equal(st.Dolt.LastFlush.Committed, []string{"demo"}) {
		t.Fatalf("flush before stop: %+v", st.Dolt)
	}
	for _, p := range []string{files.PidPath(), files.PortPath()} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still there after stop (err %v)", p, err)
		}
	}
	cmd := exec.Command(dolt, "log", "-n", "1")
	cmd.Dir, cmd.Env = filepath.Join(ws.DataDir, "demo"), testdolt.Env(home, dolt)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), bd.FlushCommitMessage) {
		t.Fatalf("dolt log after the stop: %v\n%s", err, out)
	}
	cmd = exec.Command(dolt, "sql", "-q", "SELECT title FROM issues WHERE id = 'bd-1'")
	cmd.Dir, cmd.Env = filepath.Join(ws.DataDir, "demo"), testdolt.Env(home, dolt)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "written, not committed") {
		t.Fatalf("the pending row is not in the database after the stop: %v\n%s", err, out)
	}
}

// A server that serves another project's data under the same database name
// is unhealthy, as bd refuses it (GH#2372), even though it answers SQL.
func TestDoltServerWrongProjectIsUnhealthy(t *testing.T) {
	dolt := testdolt.Binary(t)
	home := testdolt.Home(t, dolt)
	ws := testdolt.NewWorkspace(t, dolt, home, t.TempDir(), "demo")
	port := testdolt.FreePort(t)
	spec := doltTestSpec(dolt, home, ws, port, "00000000-0000-0000-0000-00000000beef")
	spec.Health.Interval = 2500 * time.Millisecond
	spec.Health.Timeout = 2 * time.Second // generous: a loaded machine must not turn the verdict into a timeout
	spec.Health.Failures = 1000           // stay up: the test reads the verdict, not the restart
	d := runDaemon(t, spec, DaemonOptions{})
	st := waitStatus(t, d, 60*time.Second, "a health verdict", func(s Status) bool {
		return s.Health.Status == "unhealthy" && s.Health.SQL != nil && s.Health.SQL.ProjectID != ""
	})
	if !strings.Contains(st.Health.Message, "another project") || !strings.Contains(st.Health.Message, ws.ProjectID) {
		t.Fatalf("message %q does not say which project the server serves", st.Health.Message)
	}
}

// A flush that cannot reach the server is reported (status, log), never
// silent, and the stop still happens within its timeout.
func TestDoltFlushFailureIsReported(t *testing.T) {
	dir := t.TempDir()
	port := testdolt.FreePort(t) // nothing listens there
	spec := Spec{Name: "fake-dolt", Argv: []string{"sleep", "1000"}, Dir: dir,
		Dolt:    &DoltSpec{ServerDir: dir, Host: "127.0.0.1", Port: port},
		Restart: RestartPolicy{Policy: "never"}, Stop: StopPolicy{Timeout: time.Second}}
	d := runDaemon(t, spec, DaemonOptions{})
	waitStatus(t, d, 10*time.Second, "online", online)
	start := time.Now()
	if err := d.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := d.Status()
	if st.Dolt == nil || st.Dolt.LastFlush == nil || !strings.Contains(st.Dolt.LastFlush.Error, "connect") {
		t.Fatalf("flush failure not reported: %+v", st.Dolt)
	}
	if st.State != StateStopped || time.Since(start) > 5*time.Second {
		t.Fatalf("stop after a failed flush: %s after %v", st.State, time.Since(start))
	}
	// It never listened: bd's files were never written for it.
	if pid, p := (bd.ServerFiles{Dir: dir}).Read(); pid != 0 || p != 0 {
		t.Fatalf("files written for a server that never listened: %d/%d", pid, p)
	}
}

// A memory limit on a Dolt server is enforced as on any daemon (the field's
// orphaned servers reached 2 GB): driven over its limit over SQL, the server
// is restarted with reason memory, its working set flushed first, back on the
// same port with bd's files naming the new pid.
func TestDoltServerMemoryLimitRestarts(t *testing.T) {
	dolt := testdolt.Binary(t)
	home := testdolt.Home(t, dolt)
	ws := testdolt.NewWorkspace(t, dolt, home, t.TempDir(), "demo")
	port := testdolt.FreePort(t)
	const limit = 256 << 20 // dolt 1.88 idles at ~130 MB here
	spec := doltTestSpec(dolt, home, ws, port, ws.ProjectID)
	spec.Limits = Limits{Memory: limit, CheckInterval: 100 * time.Millisecond}
	d := runDaemon(t, spec, DaemonOptions{})
	files := bd.ServerFiles{Dir: ws.BeadsDir}

	st := waitStatus(t, d, 60*time.Second, "SQL-healthy", healthy)
	if st.Restarts != 0 {
		t.Fatalf("restarted %d times (%s) before any load: dolt idles over %d MB?", st.Restarts, st.LastRestartReason, limit>>20)
	}
	old := st.Pid
	testdolt.Exec(t, port, "demo", "INSERT INTO issues VALUES ('bd-1', 'pending when the limit is crossed')")

	// One connection holds 20 MB more per statement (session variables live
	// until it closes), up to 600 MB in all: the server is gone long before.
	ctx := t.Context()
	conn, err := testdolt.DB(t, port, "").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	grew := 0
	for ; grew < 30; grew++ {
		if _, err := conn.ExecContext(ctx, "SET @grow"+strconv.Itoa(grew)+" = REPEAT('x', 20000000)"); err != nil {
			break // the server was stopped under us
		}
	}
	conn.Close()

	st = waitStatus(t, d, 60*time.Second, "a new healthy server after the memory limit",
		func(s Status) bool { return healthy(s) && s.Pid != old })
	if st.Restarts != 1 || st.LastRestartReason != ReasonMemory {
		t.Fatalf("restarts %d reason %q after %d steps of 20 MB, want 1 memory", st.Restarts, st.LastRestartReason, grew)
	}
	if pid, p := files.Read(); pid != st.Pid || p != port {
		t.Fatalf("after the memory restart: files say %d/%d, want %d/%d", pid, p, st.Pid, port)
	}
	if f := st.Dolt.LastFlush; f == nil || f.Error != "" || !slices.Equal(f.Committed, []string{"demo"}) {
		t.Fatalf("the memory restart did not flush the pending write first: %+v", f)
	}
}
