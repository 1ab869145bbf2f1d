package migrate

import (
	"context"
	"errors"
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

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/proc"
	"github.com/beadsctl/beadsctl/internal/testdolt"
)

// fakeDoltEnv makes the test binary a fake `dolt sql-server` (see TestMain):
// bd's identity rules hold (argv "dolt sql-server -P port", cwd the data
// dir), but every connection is closed at once, so a flush can only fail.
const fakeDoltEnv = "BEADSCTL_TEST_FAKE_DOLT"

func TestMain(m *testing.M) {
	if os.Getenv(fakeDoltEnv) == "1" {
		fakeDolt()
		return
	}
	// The beadsctl these tests run never looks for beads.hcl above the
	// temporary folder (BEADSCTL_CEILING_DIRECTORIES): a stray /tmp/beads.hcl
	// was found upwards from a test's folder and broke migrate's validate.
	os.Setenv("BEADSCTL_CEILING_DIRECTORIES", os.TempDir())
	os.Exit(m.Run())
}

func fakeDolt() {
	port := ""
	for i, a := range os.Args {
		if a == "-P" && i+1 < len(os.Args) {
			port = os.Args[i+1]
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Close()
	}
}

// doltWorld is a bd 1.x workspace in server mode with a bd on PATH that only
// answers `bd version` (these tests never reach the bd list of verify).
type doltWorld struct {
	dir, beads, data, home string
	env                    []string
}

func newDoltWorld(t *testing.T, home string) *doltWorld {
	t.Helper()
	root := t.TempDir()
	w := &doltWorld{dir: filepath.Join(root, "proj"), home: home}
	w.beads, w.data = filepath.Join(w.dir, ".beads"), filepath.Join(w.dir, ".beads", "dolt")
	if home == "" {
		w.home = filepath.Join(root, "home")
	}
	bin := filepath.Join(root, "bin")
	for _, d := range []string{w.data, w.home, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "bd"), []byte("#!/bin/sh\necho 'bd version 1.0.5 (dev)'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + w.home}
	return w
}

func (w *doltWorld) writeMeta(t *testing.T) {
	t.Helper()
	meta := `{"database":"dolt","backend":"dolt","dolt_mode":"server","dolt_database":"demo","project_id":"11111111-0000-4000-8000-000000000001"}`
	if err := os.WriteFile(filepath.Join(w.beads, "metadata.json"), []byte(meta), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (w *doltWorld) writeServerFiles(t *testing.T, pid, port int) {
	t.Helper()
	write := func(p string, b []byte, perm os.FileMode) error { return os.WriteFile(p, b, perm) }
	if err := (bd.ServerFiles{Dir: w.beads}).Write(pid, port, write); err != nil {
		t.Fatal(err)
	}
}

func (w *doltWorld) opts() Options {
	return Options{Dir: w.dir, Environ: w.env, StopTimeout: 5 * time.Second, ApplyTimeout: 30 * time.Second}
}

// startFake runs the fake dolt sql-server in the data dir and waits until it
// accepts connections.
func startFake(t *testing.T, w *doltWorld) (*exec.Cmd, int) {
	t.Helper()
	port := testdolt.FreePort(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: exe, Args: []string{"dolt", "sql-server", "-H", "127.0.0.1", "-P", strconv.Itoa(port), "--loglevel=warning"},
		Dir: w.data, Env: append(os.Environ(), fakeDoltEnv+"=1")}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := testdolt.WaitAccepting(port, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return cmd, port
}

func lastStep(r *Report) Step {
	if r == nil || len(r.Steps) == 0 {
		return Step{}
	}
	return r.Steps[len(r.Steps)-1]
}

// A flush that fails stops nothing and leaves every file as it was: the old
// server runs on, bd's files still name it, no beads.hcl, config.yaml as before.
func TestMigrateDoltFlushFailureStopsNothing(t *testing.T) {
	w := newDoltWorld(t, "")
	w.writeMeta(t)
	const yaml = "# the user's own\nissue-prefix: demo\n"
	cfgYAML := filepath.Join(w.beads, "config.yaml")
	if err := os.WriteFile(cfgYAML, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, port := startFake(t, w)
	w.writeServerFiles(t, cmd.Process.Pid, port)
	start, err := proc.StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}

	det, err := Detect(t.Context(), w.opts())
	if err != nil {
		t.Fatal(err)
	}
	if det.Dolt == nil || det.Dolt.Server == nil || det.Dolt.Server.Pid != cmd.Process.Pid || det.Dolt.Port != port || det.Dolt.Via != bd.ServerPidFile {
		t.Fatalf("Detect: %+v, want the fake server pid %d on port %d via the pid file", det.Dolt, cmd.Process.Pid, port)
	}

	r, err := Run(t.Context(), w.opts())
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Run: err = %v, want ErrFailed", err)
	}
	if s := lastStep(r); s.Name != "flush" || s.OK {
		t.Fatalf("last step = %+v, want a failed flush", s)
	}
	if !strings.Contains(r.Resume, "nothing was changed: bd's server still runs") {
		t.Errorf("Resume = %q", r.Resume)
	}
	if h := (proc.Handle{Pid: cmd.Process.Pid, Start: start}); !h.Alive() {
		t.Errorf("the old server was stopped")
	}
	if pid, p := (bd.ServerFiles{Dir: w.beads}).Read(); pid != cmd.Process.Pid || p != port {
		t.Errorf("bd's files say pid %d port %d, want %d %d", pid, p, cmd.Process.Pid, port)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "beads.hcl")); err == nil {
		t.Errorf("beads.hcl was written")
	}
	if b, _ := os.ReadFile(cfgYAML); string(b) != yaml {
		t.Errorf("config.yaml changed:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(w.dir, ".beadsctl")); err == nil {
		t.Errorf(".beadsctl was created")
	}
}

// A dolt sql-server on the data dir that the pid file names is found; one
// on another data dir that the pid file names is refused before anything.
func TestDetectDoltPidFileOfAnotherDataDir(t *testing.T) {
	w := newDoltWorld(t, "")
	w.writeMeta(t)
	other := newDoltWorld(t, "")
	cmd, port := startFake(t, other)
	w.writeServerFiles(t, cmd.Process.Pid, port)
	_, err := Detect(t.Context(), w.opts())
	if err == nil || !strings.Contains(err.Error(), "not this workspace's data dir") {
		t.Fatalf("Detect: err = %v, want a refusal naming the data dir", err)
	}
	r, err := Run(t.Context(), w.opts())
	if err == nil || r.Steps[0].Name != "detect" || r.Steps[0].OK {
		t.Fatalf("Run: err = %v, steps %+v", err, r.Steps)
	}
	if syscall.Kill(cmd.Process.Pid, 0) != nil {
		t.Errorf("the other workspace's server was signalled")
	}
}

// An apply that fails after bd's server was stopped says so plainly, with
// how to bring bd's server back; the stop itself flushed and removed bd's files.
func TestMigrateDoltApplyFailureAfterStopSaysHowToGoBack(t *testing.T) {
	dolt := testdolt.Binary(t)
	home := testdolt.Home(t, dolt)
	// Observe looks dolt up on this process's PATH.
	t.Setenv("PATH", filepath.Dir(dolt)+":"+os.Getenv("PATH"))
	w := newDoltWorld(t, home)
	ws := testdolt.NewWorkspace(t, dolt, home, w.dir, "demo")
	port := testdolt.FreePort(t)
	srv := testdolt.Start(t, dolt, home, ws.DataDir, port)
	w.writeServerFiles(t, srv.Cmd.Process.Pid, port)

	o := w.opts()
	o.StartAgent = func(context.Context, string) error { return errors.New("agent refused (test)") }
	r, err := Run(t.Context(), o)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Run: err = %v, want ErrFailed; steps %+v", err, r.Steps)
	}
	var names []string
	for _, s := range r.Steps {
		names = append(names, fmt.Sprintf("%s:%v", s.Name, s.OK))
	}
	want := "detect:true flush:true write beads.hcl:true disable bd auto-start:true stop bd's server:true apply:false"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("steps = %s\nwant    %s", got, want)
	}
	for _, s := range []string{"the old server is stopped", "`bd dolt start` brings bd's server back", fmt.Sprintf("BEADS_DOLT_SERVER_PORT=%d", port)} {
		if !strings.Contains(r.Resume, s) {
			t.Errorf("Resume lacks %q: %s", s, r.Resume)
		}
	}
	if servers, _ := bd.FindServers(t.Context(), ws.DataDir); len(servers) != 0 {
		t.Errorf("servers still on the data dir: %+v", servers)
	}
	if pid, p := (bd.ServerFiles{Dir: w.beads}).Read(); pid != 0 || p != 0 {
		t.Errorf("bd's files left: pid %d port %d", pid, p)
	}
	hcl, err := os.ReadFile(filepath.Join(w.dir, "beads.hcl"))
	if err != nil || !strings.Contains(string(hcl), "port      = "+strconv.Itoa(port)) {
		t.Errorf("beads.hcl (%v):\n%s", err, hcl)
	}
}
