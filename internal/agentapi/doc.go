// Package agentapi is the agent's control API as its clients see it: the
// types that travel over .beadsctl/agent.sock (Spec, Status, AgentStatus,
// Event, the answers of each request), their constants, and the files of a
// project's state folder that the CLI reads itself (the socket's path, the
// agent's lock and record, the event history, the log files).
//
// It is a leaf: it imports nothing of beadsctl's but other leaves, and
// nothing heavy (no net/http, no crypto/tls, no SQL driver, no
// runtime/metrics), so that the commands that only talk to the agent start
// fast. supervisor, which runs the agent, re-exports every name (type
// aliases), so its own code and its importers are unchanged.
package agentapi
