package agentapi

import "time"

// APIVersion is the control API's version. It grows with any change a client
// of another version could misread; GET /v1/status and POST /v1/shutdown keep
// their meaning across versions, so that any CLI can see an agent of another
// version and replace it (the client asks them without naming an API, which
// an agent of API 1 requires; this agent serves them whatever API is named).
// 2: Spec.EnvHash is the client's (the agent hashes no value).
const APIVersion = 2

// Handshake headers: a client names its API and beadsctl version on every
// request; the agent answers with its own on every response, and refuses (400)
// a request for an API it does not speak.
const (
	HeaderAPI     = "Beadsctl-Api"
	HeaderVersion = "Beadsctl-Version"
)

// MaxBodyBytes caps request bodies.
const MaxBodyBytes = 1 << 20

// MaxWait caps the timeout of a wait request.
const MaxWait = 10 * time.Minute

// DaemonResult is the answer of the verbs on one daemon.
type DaemonResult struct {
	Status Status `json:"status"`
}

// Wait results, in WaitResult.Result.
const (
	WaitReached = "reached" // the wanted state was reached
	WaitTimeout = "timeout" // the timeout passed first
	WaitErrored = "errored" // the daemon is errored: it will not get there by itself
	WaitStopped = "stopped" // the daemon was stopped (waiting for online)
	// WaitBlocked: the daemon waits on a dependency that failed (Status.Reason
	// says which); it will not start by itself.
	WaitBlocked = "blocked"
	// WaitExited: a run ended, after the wait's since, before the daemon was
	// online (and healthy when asked): apply reports it at once with the run's
	// own output instead of waiting out the restarts.
	WaitExited = "exited"
)

// WaitResult is the answer to GET /v1/daemons/{name}/wait.
type WaitResult struct {
	Status Status `json:"status"`
	Result string `json:"result"`
}

// APIError is the body of every error answer.
type APIError struct {
	Error string `json:"error"`
}

// FlushResult is the answer to POST /v1/daemons/{name}/logs/flush.
type FlushResult struct {
	Flushed []string `json:"flushed"`
	Error   string   `json:"error,omitempty"`
}
