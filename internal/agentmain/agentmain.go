// Package agentmain is beadsctl-agent: the project's agent, linked with the
// supervisor and nothing of the CLI's (no HCL, no cobra), and the jobs of
// beadsctl that need what the supervisor links (net/http, the SQL driver).
// beadsctl hands them over to it (agentapi's handover.go):
//
//	beadsctl-agent --dir D                 the detached agent (apply starts it; so does `beadsctl agent`)
//	beadsctl-agent --foreground --dir D    `beadsctl agent --foreground [--restore]`: the daemons
//	                                       beadsctl worked out (agentapi.AgentRun, from AgentRunEnv),
//	                                       logging to stderr as --log-format says
//	beadsctl-agent --job KIND              a job: its request as JSON on stdin, the answer on stdout
//
// With agentapi.AgentVersionEnv set (beadsctl hands over) it refuses to run
// for a beadsctl of another version.
package agentmain

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/clilog"
	"github.com/beadsctl/beadsctl/internal/doltsql"
	"github.com/beadsctl/beadsctl/supervisor"
)

// Main runs beadsctl-agent, of version, with os.Args and returns the exit code.
func Main(version string) int {
	fs := flag.NewFlagSet(agentapi.LeanAgentName, flag.ContinueOnError)
	dir := fs.String("dir", ".", "the project folder (the folder holding beads.hcl)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	foreground := fs.Bool("foreground", false, "run attached, logging to stderr, the daemons beadsctl agent --foreground hands over")
	logFormat := fs.String("log-format", "auto", "with --foreground: auto, text or json")
	noColor := fs.Bool("no-color", false, "with --foreground: no colours")
	job := fs.String("job", "", "run one of beadsctl's jobs ("+agentapi.JobAlertTest+", "+agentapi.JobDoltFlush+"): JSON in on stdin, out on stdout")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Println(agentapi.LeanAgentName, version)
		return 0
	}
	if !checkVersion(version) {
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills outright.
		<-ctx.Done()
		stop()
	}()
	if *job != "" {
		if err := runJob(ctx, *job, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			return 1
		}
		return 0
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	var run *agentapi.AgentRun
	var log *slog.Logger
	if *foreground {
		if run, err = readRun(); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			return 1
		}
		if log, err = clilog.New(*logFormat, os.Stderr, *noColor); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			return 2
		}
	}
	if err := Run(ctx, abs, run, log, version); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}

// checkVersion refuses to run for a beadsctl of another version.
func checkVersion(version string) bool {
	want, ok := os.LookupEnv(agentapi.AgentVersionEnv)
	os.Unsetenv(agentapi.AgentVersionEnv) // not for the daemons or alerts
	if !ok || want == version {
		return true
	}
	exe, _ := os.Executable()
	fmt.Fprintf(os.Stderr, "Error: %s (%s) is version %s, beadsctl is %s: install both from the same build (make install).\n",
		agentapi.LeanAgentName, exe, version, want)
	return false
}

// Run runs the agent of dir until ctx is done: detached (run nil: logging
// as JSON to .beadsctl/agent.log, the alerts and metrics listener the last
// apply set), or in the foreground with run's daemons, logging to log.
func Run(ctx context.Context, dir string, run *agentapi.AgentRun, log *slog.Logger, version string) error {
	opts := supervisor.AgentOptions{Dir: dir, Logger: log, Version: version}
	if run == nil {
		logf, err := supervisor.OpenAgentLog(dir) // rotated; stderr, which StartAgent points there too, follows it
		if err != nil {
			return err
		}
		defer logf.Close()
		opts.Logger = slog.New(slog.NewJSONHandler(logf, nil))
		// Started by apply (which hands beads.hcl's on at once) or by a verb
		// with the agent down (start after the agent died): the alerts and
		// the metrics listener are the last apply's until an apply changes them.
		opts.ResumeObservers = true
	} else {
		opts.Specs, opts.Alerts, opts.MetricsListen = run.Specs, run.Alerts, run.MetricsListen
		opts.ResumeObservers = run.ResumeObservers
	}
	a := supervisor.NewAgent(opts)
	go supervisor.SignalReady(ctx, a, opts.Logger)
	return a.Run(ctx)
}

// readRun reads the AgentRun beadsctl left where AgentRunEnv says.
func readRun() (*agentapi.AgentRun, error) {
	where, ok := os.LookupEnv(agentapi.AgentRunEnv)
	os.Unsetenv(agentapi.AgentRunEnv)
	if !ok {
		return nil, fmt.Errorf("--foreground runs what beadsctl agent --foreground hands over (%s is not set): run beadsctl agent --foreground", agentapi.AgentRunEnv)
	}
	var f *os.File
	if n, isFD := strings.CutPrefix(where, "fd:"); isFD {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < 3 {
			return nil, fmt.Errorf("%s=%s: not a descriptor", agentapi.AgentRunEnv, where)
		}
		if f, err = openFD(fd); err != nil {
			return nil, fmt.Errorf("read the daemons beadsctl handed over: %w", err)
		}
	} else {
		var err error
		if f, err = os.Open(where); err != nil {
			return nil, fmt.Errorf("read the daemons beadsctl handed over: %w", err)
		}
		defer os.Remove(where)
	}
	defer f.Close()
	var run agentapi.AgentRun
	if err := json.NewDecoder(f).Decode(&run); err != nil {
		return nil, fmt.Errorf("read the daemons beadsctl handed over: %w", err)
	}
	return &run, nil
}

// runJob runs the job kind: its request read from in, its answer written to out.
func runJob(ctx context.Context, kind string, in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(in)
	var answer any
	switch kind {
	case agentapi.JobAlertTest:
		var j agentapi.AlertTestJob
		if err := dec.Decode(&j); err != nil {
			return fmt.Errorf("job %s: %w", kind, err)
		}
		res, err := supervisor.TestAlerts(ctx, j.Alerts, j.Name, os.Environ())
		a := agentapi.AlertTestAnswer{Results: res}
		if err != nil {
			a.Error = err.Error()
		}
		answer = a
	case agentapi.JobDoltFlush:
		var j agentapi.DoltFlushJob
		if err := dec.Decode(&j); err != nil {
			return fmt.Errorf("job %s: %w", kind, err)
		}
		res, err := doltsql.Flush(ctx, bd.SQLTarget{Addr: j.Addr, User: j.User})
		a := agentapi.DoltFlushAnswer{Committed: res.Committed, Failed: res.Failed}
		if err != nil {
			a.Error = err.Error()
		}
		answer = a
	default:
		return errors.New("unknown job " + strconv.Quote(kind))
	}
	return json.NewEncoder(out).Encode(answer)
}
