package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/jsoncodec/jsoncodectest"
)

// writeJSONOf is what status --json wrote through encoding/json.
func writeJSONOf(r *StatusReport) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	err := enc.Encode(r)
	return b.Bytes(), err
}

// TestStatusJSONIsEncodingJSONs: AppendStatusJSON writes the bytes
// encoding/json's indented Encoder writes, for random values in every field
// of the report's types (so a field added to one of them and not to the
// writer fails here), some of them zero (omitempty, omitzero, null).
func TestStatusJSONIsEncodingJSONs(t *testing.T) {
	jsoncodectest.WritesAsEncodingJSON(t, rand.New(rand.NewPCG(17, 2)), 3000, nil, writeJSONOf, AppendStatusJSON)
}

// TestStatusJSONRefusesWhatEncodingJSONRefuses: a float encoding/json
// cannot write (NaN, infinite) or a time out of RFC 3339's years is an
// error, and nothing is appended.
func TestStatusJSONRefusesWhatEncodingJSONRefuses(t *testing.T) {
	jsoncodectest.RefusesAsEncodingJSON(t, map[string]StatusReport{
		"NaN":      {Daemons: []DaemonRow{{CPUPercent: math.NaN()}}},
		"infinite": {Daemons: []DaemonRow{{LastEvent: &agentapi.Event{UptimeSeconds: new(math.Inf(1))}}}},
		"year":     {Agent: AgentReport{Started: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}, writeJSONOf, AppendStatusJSON)
}
