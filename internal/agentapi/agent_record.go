package agentapi

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// AgentRecord is the content of .beadsctl/agent.json: what the agent knows,
// written on every status change so that a CLI can answer while the agent is
// down, and so that a restarted agent can stop the daemons a dead one left
// behind without ever signalling a recycled pid.
type AgentRecord struct {
	AgentStatus
	// UpdatedAt is when the record was written.
	UpdatedAt time.Time `json:"updated_at"`
	// StopPolicies per daemon name: how a restarted agent stops an orphan.
	StopPolicies map[string]StopPolicy `json:"stop_policies,omitempty"`
}

// AgentRecordPath is .beadsctl/agent.json in the project folder dir.
func AgentRecordPath(dir string) string { return agentRecordPath(dir) }

func agentRecordPath(dir string) string { return filepath.Join(dir, StateDir, "agent.json") }

// ReadAgentRecord reads .beadsctl/agent.json of the project folder dir. The error
// wraps os.ErrNotExist when no agent ever ran there.
func ReadAgentRecord(dir string) (AgentRecord, error) {
	var rec AgentRecord
	b, err := os.ReadFile(agentRecordPath(dir))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("parse %s: %w", agentRecordPath(dir), err)
	}
	return rec, nil
}
