//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// App is one supervised process, described once and rendered for each tool
// (a PM2 process file or a beads.hcl daemon block) with the same meaning.
type App struct {
	Name string
	// Argv is the full command line (Argv[0] absolute).
	Argv []string
	Dir  string
	Env  map[string]string

	Autorestart  bool
	RestartDelay time.Duration
	MaxRestarts  int
	MinUptime    time.Duration
	MemoryLimit  uint64 // bytes, 0 = none
	KillTimeout  time.Duration

	Out, Err   string // log files (absolute)
	Timestamps bool

	// Dolt makes the app a dolt_server daemon for beadsctl (command, args and
	// dir derived from the workspace); PM2 runs Argv in Dir as for any app.
	Dolt *DoltApp
	// DependsOn and HealthExec are beadsctl's (depends_on blocks, an exec
	// health check): PM2 has neither, its apps retry instead (deps.go).
	DependsOn  []AppDep
	HealthExec []string
}

// AppDep is one depends_on block.
type AppDep struct {
	Name, Condition string
}

// DoltApp is a dolt_server block: the bd 1.x workspace and its pinned port.
type DoltApp struct {
	Workspace string
	Port      int
}

// DateFormat is the moment.js format both tools prefix log lines with.
const DateFormat = "YYYY-MM-DD HH:mm:ss Z"

// AppState is what a tool says about one app, normalized.
type AppState struct {
	Name     string
	Pid      int
	State    string // online | errored | stopped | other values as the tool says
	Restarts int
}

// Tool drives one supervisor in its own folder. Each instance is fresh: no
// supervisor runs until the first Start.
type Tool interface {
	Name() string
	// Start declares apps in addition to those already started and waits for
	// the tool's command to return. The first call starts the supervisor.
	Start(ctx context.Context, apps ...App) error
	// Remove stops and forgets an app.
	Remove(ctx context.Context, name string) error
	// Stop stops an app (the timed command of the stop scenario).
	Stop(ctx context.Context, name string) error
	// SupervisorPid is the long-lived process: PM2's God daemon, beadsctl's agent.
	SupervisorPid(ctx context.Context) (int, error)
	// Status reads every app's state (through the fastest way the tool offers).
	Status(ctx context.Context) ([]AppState, error)
	// StatusCommand is the user-facing status command of the status scenario.
	StatusCommand() *exec.Cmd
	// Down stops everything and the supervisor.
	Down(ctx context.Context) error
}

// run runs a command, returning its combined output in the error.
func run(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return out.Bytes(), fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, tail(out.String(), 1500))
		}
		return out.Bytes(), nil
	case <-ctx.Done():
		cmd.Process.Kill() //nolint:errcheck // the command is abandoned
		<-done
		return out.Bytes(), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), ctx.Err())
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

func mustMkdir(dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		panic(err)
	}
	return dir
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func abs(p string) string { a, _ := filepath.Abs(p); return a }
