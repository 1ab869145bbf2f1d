package agentapi

// Restart policies.
const (
	PolicyAlways    = "always"
	PolicyOnFailure = "on-failure"
	PolicyNever     = "never"
	PolicyOnce      = "once"
)

// Backoff kinds.
const (
	BackoffConstant    = "constant"
	BackoffExponential = "exponential"
)
