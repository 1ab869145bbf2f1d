//go:build unix

// Package testdolt gives tests a real Dolt: the binary (installed by `make
// dolt` into .tools/bin), a HOME with the identity dolt needs, and a bd 1.x
// server-mode workspace whose database holds bd's metadata row. Only tests
// import it. It imports nothing of beadsctl's but internal/testproc.
package testdolt

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/beadsctl/beadsctl/internal/testproc"
)

// Binary returns the path of a real dolt: $BEADSCTL_DOLT, else .tools/bin/dolt
// of the module, else dolt on PATH. It fails the test (never skips) when there
// is none: `make dolt` installs it.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BEADSCTL_DOLT"); p != "" {
		return p
	}
	if root := moduleRoot(); root != "" {
		p := filepath.Join(root, ".tools", "bin", "dolt")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("dolt"); err == nil {
		return p
	}
	t.Fatal("no dolt binary: run `make dolt` (installs dolt 1.88.1 into .tools/bin), or set BEADSCTL_DOLT")
	return ""
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Home makes a HOME folder with dolt's global identity set (dolt refuses to
// commit without one) and returns it. Commands run with Env(home, ...).
// Metrics are disabled there (MetricsDisabled), for a dolt run without Env's
// DOLT_DISABLE_EVENT_FLUSH (a server under a supervisor, which passes HOME but
// not the test's environment).
func Home(t testing.TB, dolt string) string {
	t.Helper()
	home := t.TempDir()
	for _, kv := range append([][2]string{{"user.name", "beadsctl-test"}, {"user.email", "test@beadsctl.invalid"}}, MetricsDisabled) {
		cmd := exec.Command(dolt, "config", "--global", "--add", kv[0], kv[1])
		cmd.Env = Env(home, dolt)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dolt config %s: %v\n%s", kv[0], err, out)
		}
	}
	return home
}

// MetricsDisabled is the global dolt setting that turns its usage events off.
// Every dolt that exits (a sql-server stopped by SIGTERM included) starts
// `dolt send-metrics` unless DOLT_DISABLE_EVENT_FLUSH is set; with events on,
// that process outlives the server in its working directory, writes into
// $HOME/.dolt and tries dolthub.com for up to a minute, and a test's cleanup
// removes a folder it still writes into. With this setting it writes nothing
// and exits at once (it is still started: testproc.Cleanup waits for it).
var MetricsDisabled = [2]string{"metrics.disabled", "true"}

// Env is a minimal environment for dolt: HOME and a PATH that finds it.
func Env(home, dolt string) []string {
	return []string{"HOME=" + home, "PATH=" + filepath.Dir(dolt) + ":/usr/bin:/bin", "DOLT_DISABLE_EVENT_FLUSH=1"}
}

// Workspace is a bd 1.x workspace in server mode, as `bd init --server` leaves it.
type Workspace struct {
	Dir, BeadsDir, DataDir string
	Database, ProjectID    string
}

// NewWorkspace creates dir/.beads in server mode with database db: metadata.json
// as bd writes it, the data dir initialised, and the database created with
// bd's metadata table holding _project_id and an issues table, committed.
// Every process still working in dir when the test ends (a server the test
// started there) is killed and waited for (testproc.Cleanup): pass a dir made
// by t.TempDir() before the call, so that this runs before its RemoveAll.
func NewWorkspace(t testing.TB, dolt, home, dir, db string) Workspace {
	t.Helper()
	testproc.Cleanup(t, dir)
	w := Workspace{Dir: dir, BeadsDir: filepath.Join(dir, ".beads"), Database: db,
		ProjectID: fmt.Sprintf("%08x-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffff, os.Getpid())}
	w.DataDir = filepath.Join(w.BeadsDir, "dolt")
	if err := os.MkdirAll(w.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	meta := fmt.Sprintf(`{"database":"dolt","backend":"dolt","dolt_mode":"server","dolt_database":%q,"project_id":%q}`+"\n", db, w.ProjectID)
	if err := os.WriteFile(filepath.Join(w.BeadsDir, "metadata.json"), []byte(meta), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		cmd := exec.Command(dolt, args...)
		cmd.Dir, cmd.Env = w.DataDir, Env(home, dolt)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dolt %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("init")
	port := FreePort(t)
	srv := Start(t, dolt, home, w.DataDir, port)
	defer srv.Stop(t)
	Exec(t, port, "",
		"CREATE DATABASE `"+db+"`",
		"USE `"+db+"`",
		"CREATE TABLE metadata (`key` VARCHAR(255) PRIMARY KEY, value TEXT)",
		"INSERT INTO metadata VALUES ('_project_id', '"+w.ProjectID+"')",
		"CREATE TABLE issues (id VARCHAR(64) PRIMARY KEY, title TEXT)",
		"CALL DOLT_COMMIT('-Am', 'bd init')")
	return w
}

// Server is a dolt sql-server a test started itself.
type Server struct {
	Cmd  *exec.Cmd
	Port int
}

// Start runs `dolt sql-server` in dataDir on port (as bd does) and waits until
// it accepts connections (deadline 60 s). The test's cleanup stops it.
func Start(t testing.TB, dolt, home, dataDir string, port int) *Server {
	t.Helper()
	cmd := exec.Command(dolt, "sql-server", "-H", "127.0.0.1", "-P", strconv.Itoa(port), "--loglevel=warning")
	cmd.Dir, cmd.Env = dataDir, Env(home, dolt)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{Cmd: cmd, Port: port}
	t.Cleanup(func() { s.Stop(t) })
	if err := WaitAccepting(port, 60*time.Second); err != nil {
		t.Fatalf("dolt sql-server on %d: %v\n%s", port, err, out.String())
	}
	return s
}

// Stop ends the server (SIGTERM to its group, SIGKILL after 10 s) and reaps it.
func (s *Server) Stop(t testing.TB) {
	if s.Cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// FreePort is a port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitAccepting waits until 127.0.0.1:port accepts TCP connections.
func WaitAccepting(port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// A foreign process's listen gives no event: probe the socket itself.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}

// DB opens a connection to the server on port (database db, "" for none).
func DB(t testing.TB, port int, db string) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), db
	cfg.Timeout = 10 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := sql.OpenDB(conn)
	d.SetMaxOpenConns(1)
	t.Cleanup(func() { d.Close() })
	return d
}

// Exec runs statements in order on one connection of the server on port.
func Exec(t testing.TB, port int, db string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := DB(t, port, db).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
