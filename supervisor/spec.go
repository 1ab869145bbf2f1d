// Package supervisor runs processes and keeps them in the state a Spec describes:
// one Daemon per process (start in its own process group, restart policy with backoff,
// memory limit, health checks, log files, graceful stop then SIGKILL to the group),
// and the Agent that hosts the daemons of one project behind a control socket.
//
// It imports nothing else from beadsctl. It never calls signal.Notify: the agent's
// entry point in cmd/beadsctl does.
package supervisor

import (
	"slices"
)

// knownCheck reports whether the agent can carry out the health check kind ("" is none).
func knownCheck(kind string) bool { return kind == "" || slices.Contains(HealthChecks, kind) }
