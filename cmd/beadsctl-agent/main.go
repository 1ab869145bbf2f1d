// Command beadsctl-agent is the detached per-project agent that `beadsctl
// apply` starts when this binary sits beside beadsctl: the same agent as
// `beadsctl agent`, linked with only the supervisor, so that it keeps less
// resident memory (about 7 MB idle against 14 MB for the whole CLI). The specs
// come through its control socket; for the agent that reads beads.hcl itself
// (under systemd, Nomad or a container) run `beadsctl agent --foreground`.
//
// GOMAXPROCS is not re-read from the cgroup limits every second (Go 1.25's
// updatemaxprocs): an idle agent's sysmon did it at each wakeup (a
// sched_getaffinity and cgroup reads a second, the agent's whole idle work
// being ~60 small reads a second for 50 daemons).
//
//go:debug updatemaxprocs=0
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/beadsctl/beadsctl/supervisor"
)

// version is set at build time, as beadsctl's is; apply checks that they match.
var version = "0.1.0-dev"

func main() { os.Exit(run()) }

func run() int {
	fs := flag.NewFlagSet("beadsctl-agent", flag.ContinueOnError)
	dir := fs.String("dir", ".", "the project folder (the folder holding beads.hcl)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Println("beadsctl-agent", version)
		return 0
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills outright.
		<-ctx.Done()
		stop()
	}()
	logf, err := supervisor.OpenAgentLog(abs) // rotated; stderr, which StartAgent points there too, follows it
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	defer logf.Close()
	log := slog.New(slog.NewJSONHandler(logf, nil))
	// ResumeObservers: the last apply's alerts and metrics listener, when a
	// verb starts the agent after the last one died (apply sets beads.hcl's).
	a := supervisor.NewAgent(supervisor.AgentOptions{Dir: abs, Logger: log, Version: version, ResumeObservers: true})
	go supervisor.SignalReady(ctx, a, log)
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}
