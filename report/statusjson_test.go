package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
	r := rand.New(rand.NewPCG(17, 2))
	for i := range 3000 {
		var in StatusReport
		jsoncodectest.Fill(&in, r)
		want, err := writeJSONOf(&in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendStatusJSON([]byte("kept"), &in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got, []byte("kept")) || !bytes.Equal(got[4:], want) {
			t.Fatalf("%d: (-encoding/json +AppendStatusJSON):\n%s", i, cmp.Diff(string(want), string(got[4:])))
		}
	}
}

// TestStatusJSONRefusesWhatEncodingJSONRefuses: a float encoding/json
// cannot write (NaN, infinite) or a time out of RFC 3339's years is an
// error, and nothing is appended.
func TestStatusJSONRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for name, in := range map[string]StatusReport{
		"NaN":      {Daemons: []DaemonRow{{CPUPercent: math.NaN()}}},
		"infinite": {Daemons: []DaemonRow{{LastEvent: &agentapi.Event{UptimeSeconds: new(math.Inf(1))}}}},
		"year":     {Agent: AgentReport{Started: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		if _, err := writeJSONOf(&in); err == nil {
			t.Fatalf("%s: encoding/json wrote it", name)
		}
		b, err := AppendStatusJSON([]byte("kept"), &in)
		if err == nil || string(b) != "kept" {
			t.Errorf("%s: AppendStatusJSON = %q, %v; want an error and nothing appended", name, b, err)
		}
	}
}
