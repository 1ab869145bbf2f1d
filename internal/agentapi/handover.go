package agentapi

// What beadsctl hands over to beadsctl-agent, the binary that links the
// supervisor (and with it net/http, the SQL driver, runtime/metrics): the
// agent itself (`beadsctl agent`, every mode) and the two jobs of the CLI
// that need what it links. beadsctl runs none of them itself, so that its
// own start stays small.

// LeanAgentName is the agent's binary beside beadsctl (cmd/beadsctl-agent).
const LeanAgentName = "beadsctl-agent"

// AgentVersionEnv carries beadsctl's version to beadsctl-agent when beadsctl
// hands a command over to it: beadsctl-agent refuses to run for another
// version (the specs, jobs and state files must be the same build's).
const AgentVersionEnv = "BEADSCTL_AGENT_VERSION"

// AgentRunEnv names where beadsctl-agent --foreground reads its AgentRun:
// "fd:N" (an open file descriptor, read from its start) or a file's path,
// which it removes once read.
const AgentRunEnv = "BEADSCTL_AGENT_RUN"

// AgentRun is what `beadsctl agent --foreground` (and --restore) worked out
// from beads.hcl or the last apply, for beadsctl-agent to run: the daemons to
// start, the alerts and the metrics listener, or (ResumeObservers) those the
// last apply set.
type AgentRun struct {
	Specs           []Spec      `json:"specs"`
	Alerts          []AlertSpec `json:"alerts,omitempty"`
	MetricsListen   string      `json:"metrics_listen,omitempty"`
	ResumeObservers bool        `json:"resume_observers,omitempty"`
}

// The jobs beadsctl-agent --job runs: the request as JSON on its standard
// input, the answer as JSON on its standard output.
const (
	// JobAlertTest runs alerts as `beadsctl alert test` does when no agent
	// runs (AlertTestJob -> AlertTestAnswer).
	JobAlertTest = "alert-test"
	// JobDoltFlush commits a Dolt server's working set before apply
	// --replace-unmanaged stops it (DoltFlushJob -> DoltFlushAnswer).
	JobDoltFlush = "dolt-flush"
)

// AlertTestJob sends the sample through the alert called Name of Alerts
// ("" for all), with beadsctl-agent's environment (beadsctl's).
type AlertTestJob struct {
	Alerts []AlertSpec `json:"alerts"`
	Name   string      `json:"name,omitempty"`
}

// AlertTestAnswer is what the commands did, or why none ran (Error: no
// such alert).
type AlertTestAnswer struct {
	Results []AlertResult `json:"results,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// DoltFlushJob names the server (host:port) and the SQL user.
type DoltFlushJob struct {
	Addr string `json:"addr"`
	User string `json:"user,omitempty"`
}

// DoltFlushAnswer is what the flush committed, and Error when it failed.
type DoltFlushAnswer struct {
	Committed []string          `json:"committed,omitempty"`
	Failed    map[string]string `json:"failed,omitempty"`
	Error     string            `json:"error,omitempty"`
}
