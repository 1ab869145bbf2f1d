package agentapi

// Dependency conditions (schema documents them for beads.hcl).
const (
	// CondStarted holds while the dependency runs (online), or once a
	// one-shot completed.
	CondStarted = "started"
	// CondHealthy holds while the dependency runs and its health check passes
	// (healthy or degraded); without a check, while it runs.
	CondHealthy = "healthy"
	// CondCompleted holds once the dependency exited 0 and is not restarted:
	// a one-shot that completed, or a never/on-failure daemon whose last run
	// exited 0.
	CondCompleted = "completed_successfully"
)

// What a dependent does when a dependency restarts.
const (
	// OnRestartIgnore: the dependent keeps running; a start of its own (a
	// crash restart) still waits for the condition.
	OnRestartIgnore = "ignore"
	// OnRestartRestart: the dependent is stopped as soon as the run it
	// started against ends (systemd's PartOf= and BindsTo=), and started
	// again once the condition holds again, with reason "dependency".
	OnRestartRestart = "restart"
)
