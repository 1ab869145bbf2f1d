//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"strconv"
	"syscall"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/beadsctl/beadsctl/internal/bdsim"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"beadsctl": func() { os.Exit(Main()) },
		"bd":       func() { os.Exit(bdsim.Main()) },
	})
}

func TestScripts(t *testing.T) {
	// $REPO is the repository root, for scripts that check its own files.
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("BEADSCTL_ENV", "")
			env.Setenv("REPO", repo)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": cmdWaitfile,
			"signal":   cmdSignal,
		},
	})
}

// cmdWaitfile waits until a file exists (and, with a second argument, contains
// that text): a readiness barrier for processes started in the background.
// Usage: waitfile [-timeout 10s] path [text]
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	timeout := 10 * time.Second
	if len(args) >= 2 && args[0] == "-timeout" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout, args = d, args[2:]
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile [-timeout D] path [text]")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(timeout)
	for {
		ok := fileHas(path, args[1:])
		if ok != neg {
			return
		}
		if time.Now().After(deadline) {
			if neg {
				ts.Fatalf("%s still present after %v", args[0], timeout)
			}
			ts.Fatalf("%s not ready after %v", args[0], timeout)
		}
		waitForChange(filepath.Dir(path), 20*time.Millisecond)
	}
}

func fileHas(path string, text []string) bool {
	if len(text) == 0 {
		// Stat, not open: a unix socket exists but cannot be opened.
		_, err := os.Stat(path)
		return err == nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), text[0]) {
			return true
		}
	}
	return false
}

// cmdSignal sends a signal to the pid found in a file: the first integer of a
// plain pid file (bd's daemon.pid), or the "pid" field of a JSON file.
// testscript's own kill only knows -INT and -KILL.
// Usage: signal TERM|INT|HUP|KILL|QUIT|USR1|USR2 pidfile
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: signal SIG pidfile")
	}
	sigs := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP,
		"KILL": syscall.SIGKILL, "QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2}
	sig, ok := sigs[strings.TrimPrefix(strings.TrimPrefix(args[0], "-"), "SIG")]
	if !ok {
		ts.Fatalf("unknown signal %s", args[0])
	}
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	pid := 0
	var doc struct {
		Pid int `json:"pid"`
	}
	if json.Unmarshal(data, &doc) == nil && doc.Pid > 0 {
		pid = doc.Pid
	} else if pid, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
		ts.Fatalf("%s: no pid: %v", args[1], err)
	}
	err = syscall.Kill(pid, sig)
	if (err != nil) != neg {
		ts.Fatalf("signal %s %d: %v", args[0], pid, err)
	}
}
