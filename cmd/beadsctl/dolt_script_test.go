//go:build linux

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/testdolt"
)

// cmdNeeddolt puts the real dolt (make dolt) first on the script's PATH and
// gives the script a HOME with dolt's identity and metrics off; it fails,
// never skips, when there is no dolt.
func cmdNeeddolt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: needdolt")
	}
	dolt := os.Getenv("BEADSCTL_DOLT")
	if dolt == "" {
		dolt = filepath.Join(ts.Getenv("REPO"), ".tools", "bin", "dolt")
	}
	if _, err := os.Stat(dolt); err != nil {
		if p, lerr := exec.LookPath("dolt"); lerr == nil {
			dolt = p
		} else {
			ts.Fatalf("no dolt binary (%v): run `make dolt`, or set BEADSCTL_DOLT", err)
		}
	}
	home := ts.MkAbs("home")
	ts.Check(os.MkdirAll(home, 0o700))
	ts.Setenv("HOME", home)
	ts.Setenv("PATH", filepath.Dir(dolt)+string(os.PathListSeparator)+ts.Getenv("PATH"))
	// No `dolt send-metrics` from the dolts bd runs (they get the script's
	// environment); the servers the agent runs get HOME only, where metrics
	// are off, so theirs exits at once (testdolt.MetricsDisabled) and the
	// Setup's killStrays waits for it.
	ts.Setenv("DOLT_DISABLE_EVENT_FLUSH", "1")
	for _, kv := range [][2]string{{"user.name", "beadsctl-test"}, {"user.email", "test@beadsctl.invalid"}, testdolt.MetricsDisabled} {
		cmd := exec.Command(dolt, "config", "--global", "--add", kv[0], kv[1])
		cmd.Env = []string{"HOME=" + home}
		if out, err := cmd.CombinedOutput(); err != nil {
			ts.Fatalf("dolt config: %v\n%s", err, out)
		}
	}
}

// cmdDoltcount waits (up to 30 s) until exactly N dolt sql-servers serve the
// data dir DIR, identified as bd does (command line and working directory).
func cmdDoltcount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: doltcount DIR N")
	}
	dir := ts.MkAbs(args[0])
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		servers, err := bd.FindServers(context.Background(), dir)
		ts.Check(err)
		if (len(servers) == want) != neg {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%d dolt sql-server(s) on %s after 30s, want %s%d: %+v", len(servers), dir, map[bool]string{true: "not ", false: ""}[neg], want, servers)
		}
		<-tick.C
	}
}

// cmdWaitdiffer waits (up to 30 s) until FILE exists, is not empty and differs
// from OLD (a copy taken before a change, e.g. the pid file before a kill -9).
func cmdWaitdiffer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitdiffer FILE OLD")
	}
	path, old := ts.MkAbs(args[0]), ts.ReadFile(args[1])
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(bytes.TrimSpace(b)) > 0 && string(b) != old {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s still %q after 30s", args[0], b)
		}
		waitForChange(filepath.Dir(path), 50*time.Millisecond)
	}
}

// cmdWaitport waits (up to 60 s) until 127.0.0.1 accepts connections on the
// port written in FILE (dolt-server.port).
func cmdWaitport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitport FILE")
	}
	port, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[0])))
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !bd.Accepting(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))) {
		select {
		case <-ctx.Done():
			ts.Fatalf("nothing accepts on port %d after 60s", port)
		case <-tick.C:
		}
	}
}

// cmdSetenvfile sets VAR to the content of FILE, trimmed (a pid or a port
// that a later assertion names, e.g. stdout '"pid": '$PID).
func cmdSetenvfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: setenvfile VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}

// cmdFreeport sets the environment variable VAR to a TCP port on 127.0.0.1
// that nothing listens on now (scripts that run side by side, or beside
// other tests, must never share a fixed port).
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ts.Check(ln.Close())
	ts.Setenv(args[0], strconv.Itoa(port))
}
