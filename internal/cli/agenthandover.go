package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
)

// beadsctl links no supervisor (its net/http, SQL driver and runtime/metrics
// were ~1 ms of every command's start): the agent runs as beadsctl-agent
// beside it, and so do the two jobs that need what it links. See
// agentapi's handover.go and internal/agentmain.

// AgentHere runs the agent of dir in this process: run nil is the detached
// agent, else the foreground one with run's daemons, logging to log.
type AgentHere func(ctx context.Context, dir string, run *agentapi.AgentRun, log *slog.Logger) error

// agentHere, when set, runs `beadsctl agent` in this process instead of
// handing it over (a test binary, whose agent must be of its version).
var agentHere AgentHere

// SetAgentHere makes `beadsctl agent` run the agent in this process with f.
func SetAgentHere(f AgentHere) { agentHere = f }

// handOverAgent runs the agent of dir as beadsctl-agent, as this process
// (exec): args are its flags, run (nil for the detached agent) what it reads.
func handOverAgent(ctx context.Context, g *globals, dir string, args []string, run *agentapi.AgentRun) error {
	if agentHere != nil {
		return agentHere(ctx, dir, run, g.log)
	}
	path, err := sibling(agentapi.LeanAgentName, "beadsctl agent")
	if err != nil {
		return err
	}
	env := withEnv(os.Environ(), agentapi.AgentVersionEnv, version, runtime.GOOS == "windows")
	if run != nil {
		b, err := json.Marshal(run)
		if err != nil {
			return err
		}
		where, err := handOverFile(b)
		if err != nil {
			return fmt.Errorf("hand the daemons over to %s: %w", agentapi.LeanAgentName, err)
		}
		env = append(env, agentapi.AgentRunEnv+"="+where)
	}
	argv := append([]string{agentapi.LeanAgentName}, args...)
	if err := execTool(path, argv, env); err != nil {
		return cannotRun("beadsctl agent", agentapi.LeanAgentName, path, err)
	}
	return nil
}

// agentJob runs the job kind in beadsctl-agent (a child): req as JSON on its
// standard input, its answer decoded into answer. what names the command that
// needs it, for the error when beadsctl-agent is missing.
func agentJob(ctx context.Context, what, kind string, req, answer any) error {
	path, err := sibling(agentapi.LeanAgentName, what)
	if err != nil {
		return err
	}
	in, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "--job", kind)
	cmd.Args[0] = agentapi.LeanAgentName
	cmd.Env = withEnv(os.Environ(), agentapi.AgentVersionEnv, version, runtime.GOOS == "windows")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ee *exec.ExitError
		if msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(stderr.String()), "Error: ")); errors.As(err, &ee) && msg != "" {
			return errors.New(msg)
		}
		return cannotRun(what, agentapi.LeanAgentName, path, err)
	}
	if err := json.Unmarshal(out.Bytes(), answer); err != nil {
		return fmt.Errorf("%s: the answer of %s --job %s: %w", what, path, kind, err)
	}
	return nil
}

// testAlertsInAgent sends the sample through the alert called name of specs
// (every one when "") in beadsctl-agent, with this environment: alert test
// when no agent runs.
func testAlertsInAgent(ctx context.Context, specs []agentapi.AlertSpec, name string, _ []string) ([]agentapi.AlertResult, error) {
	var a agentapi.AlertTestAnswer
	if err := agentJob(ctx, "beadsctl alert test without a running agent", agentapi.JobAlertTest, agentapi.AlertTestJob{Alerts: specs, Name: name}, &a); err != nil {
		return nil, err
	}
	if a.Error != "" {
		return nil, errors.New(a.Error)
	}
	return a.Results, nil
}

// flushDoltInAgent commits the working set of the Dolt server at t in
// beadsctl-agent (which links the SQL driver): before apply
// --replace-unmanaged stops a rival server.
func flushDoltInAgent(ctx context.Context, t bd.SQLTarget) (bd.FlushResult, error) {
	var a agentapi.DoltFlushAnswer
	if err := agentJob(ctx, "the flush of an unmanaged dolt sql-server", agentapi.JobDoltFlush, agentapi.DoltFlushJob{Addr: t.Addr, User: t.User}, &a); err != nil {
		return bd.FlushResult{}, err
	}
	res := bd.FlushResult{Committed: a.Committed, Failed: a.Failed}
	if a.Error != "" {
		return res, errors.New(a.Error)
	}
	return res, nil
}
