package agentapi

import "errors"

// Put actions, in PutResult.Action.
const (
	ActionCreated   = "created"
	ActionUpdated   = "updated"
	ActionRestarted = "restarted"
	ActionUnchanged = "unchanged"
)

// PutResult is the answer to PUT /v1/daemons/{name}.
type PutResult struct {
	Status Status `json:"status"`
	// Action is "created", "updated" (in place), "restarted" or "unchanged".
	Action string `json:"action"`
}

// ErrUnknownDaemon means no daemon of that name is hosted.
var ErrUnknownDaemon = errors.New("unknown daemon")

// AgentReadyFDEnv names the environment variable holding the number of a file
// descriptor the agent writes "ready\n" to (and closes) once it answers on its
// socket: a readiness barrier for whoever started it detached.
const AgentReadyFDEnv = "BEADSCTL_AGENT_READY_FD"
