package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/internal/doltsql"
	"github.com/beadsctl/beadsctl/internal/tailbuf"
)

// Health check defaults.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 5 * time.Second
	defaultHealthFailures = 3
)

func healthInterval(h HealthSpec) time.Duration {
	if h.Interval > 0 {
		return h.Interval
	}
	return defaultHealthInterval
}

func healthTimeout(h HealthSpec) time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return defaultHealthTimeout
}

func healthFailures(h HealthSpec) int {
	if h.Failures > 0 {
		return h.Failures
	}
	return defaultHealthFailures
}

// healthEnabled reports whether h asks for a periodic check.
func healthEnabled(h HealthSpec) bool {
	return h.Check != "" && h.Check != CheckNone
}

// healthResult is one check's outcome.
type healthResult struct {
	Healthy bool
	Status  string // healthy, degraded, unhealthy
	Message string
	Version string
	DBMS    float64
	SQL     *bd.SQLReport
}

// checkHealth runs one check of spec against the run whose leader is pid,
// with env the daemon's environment; a "sql" check goes over sql's kept
// connection (nil: one of its own).
func checkHealth(ctx context.Context, spec Spec, env []string, pid int, sql *doltsql.SQLChecker) healthResult {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout(spec.Health))
	defer cancel()
	switch spec.Health.Check {
	case CheckBeadsRPC:
		return checkBeads(ctx, spec, pid)
	case CheckExec:
		return checkExec(ctx, spec, env)
	case CheckSQL:
		return checkSQL(ctx, spec, sql)
	case CheckHTTP:
		return checkHTTP(ctx, spec.Health.HTTP)
	case CheckTCP:
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", spec.Health.Address)
		if err != nil {
			return unhealthy(err.Error())
		}
		c.Close()
		return healthResult{Healthy: true, Status: "healthy"}
	}
	return unhealthy(fmt.Sprintf("unknown health check %q", spec.Health.Check))
}

func unhealthy(msg string) healthResult {
	return healthResult{Status: "unhealthy", Message: msg}
}

// checkBeads is healthy when bd answers healthy or degraded and the daemon
// answering is our child, not a rival that holds the workspace.
func checkBeads(ctx context.Context, spec Spec, pid int) healthResult {
	p, err := bd.ProbeDaemon(ctx, spec.Dir, spec.Health.ClientVersion)
	if err != nil {
		r := unhealthy(err.Error())
		r.Version, r.DBMS = p.Version, p.DBResponseMS
		return r
	}
	r := healthResult{Status: p.Status, Version: p.Version, DBMS: p.DBResponseMS}
	switch {
	case p.Pid != pid:
		r.Status = "unhealthy"
		r.Message = fmt.Sprintf("bd daemon pid %d answers, not our child pid %d", p.Pid, pid)
	case p.Status == "healthy" || p.Status == "degraded":
		r.Healthy = true
	default:
		r.Status = "unhealthy"
		r.Message = "bd says " + p.Status
	}
	return r
}

// checkOutputMax is how much of an exec check's output is kept: the tail,
// where the reason for a failure usually is. The rest is read and discarded,
// so a check that writes without end costs the agent no memory.
const checkOutputMax = 64 << 10

// checkExec runs the check command in Dir with the daemon's environment and
// BEADS_AUTO_START_DAEMON=false, so that a bd call cannot spawn a rival daemon.
//
// The check runs in its own process group (ExecRunner): on timeout, or when
// ctx is done (the daemon stops, the agent exits), the whole group gets
// SIGKILL, and so does whatever is left of it when the check's leader exits.
// A `sleep` the check's shell forked never outlives the check.
func checkExec(ctx context.Context, spec Spec, env []string) healthResult {
	argv := spec.Health.Command
	if len(argv) == 0 {
		return unhealthy("exec check has no command")
	}
	out := tailbuf.New(checkOutputMax)
	p, err := ExecRunner{}.Start(ctx, Command{Argv: argv, Dir: spec.Dir,
		Env: withEnv(env, "BEADS_AUTO_START_DAEMON", "false"), Stdout: out, Stderr: out})
	if err != nil {
		return unhealthy("start check: " + err.Error())
	}
	if !waitOrKill(ctx, p) {
		return unhealthy(fmt.Sprintf("check pid %d survived SIGKILL", p.Pid()))
	}
	err = p.Err()
	if err == nil && ctx.Err() == nil {
		return healthResult{Healthy: true, Status: "healthy"}
	}
	msg := "check failed"
	if err != nil {
		msg = err.Error()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg = "timed out after " + healthTimeout(spec.Health).String()
	}
	if o := strings.TrimSpace(strings.ToValidUTF8(string(out.Bytes()), "")); o != "" {
		if len(o) > 200 {
			o = strings.ToValidUTF8(o[len(o)-200:], "")
		}
		msg += ": " + o
	}
	return unhealthy(msg)
}

// waitOrKill waits for p to exit; once ctx is done it kills p's group and
// waits killWait more. It reports false when p survived that.
func waitOrKill(ctx context.Context, p Process) bool {
	select {
	case <-p.Done():
		return true
	case <-ctx.Done():
	}
	_ = p.Signal(killSignal)
	k := time.NewTimer(killWait)
	defer k.Stop()
	select {
	case <-p.Done():
		return true
	case <-k.C:
		return false
	}
}

// withEnv returns env with key set to value (replacing an existing entry).
func withEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}
