package agentapi

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/beadsctl/beadsctl/internal/jsoncodec/jsoncodectest"
)

// encodeOf is what the agent wrote through encoding/json's Encoder.
func encodeOf(st *AgentStatus) ([]byte, error) {
	var b bytes.Buffer
	err := json.NewEncoder(&b).Encode(st)
	return b.Bytes(), err
}

// TestAgentStatusIsEncodingJSONs: AppendAgentStatus writes the bytes
// encoding/json's Encoder writes, for random values in every field of the
// types (a field added to one of them and not to the writer fails here),
// some of them zero (omitempty, omitzero, null), brief or not.
func TestAgentStatusIsEncodingJSONs(t *testing.T) {
	brief := func(i int, st *AgentStatus) {
		if i%3 == 0 {
			st.Brief()
		}
	}
	jsoncodectest.WritesAsEncodingJSON(t, rand.New(rand.NewPCG(23, 5)), 3000, brief, encodeOf, AppendAgentStatus)
}

// TestAgentStatusRefusesWhatEncodingJSONRefuses: a float encoding/json
// cannot write or a time out of RFC 3339's years is an error, and nothing is
// appended.
func TestAgentStatusRefusesWhatEncodingJSONRefuses(t *testing.T) {
	jsoncodectest.RefusesAsEncodingJSON(t, map[string]AgentStatus{
		"NaN":      {Daemons: []Status{{CPUPercent: math.NaN()}}},
		"infinite": {Daemons: []Status{{LastEvent: &Event{UptimeSeconds: new(math.Inf(1))}}}},
		"year":     {StartTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}, encodeOf, AppendAgentStatus)
}

func BenchmarkAgentStatusJSON(b *testing.B) {
	st := AgentStatus{Pid: 1, StartTime: time.Now(), Dir: "/tmp/p", Version: "v", API: 3}
	for i := range 50 {
		st.Daemons = append(st.Daemons, Status{Name: "d" + string(rune('a'+i%26)), State: StateOnline, Pid: 1000 + i,
			StartTime: time.Now(), Restarts: 1, LastRestartReason: "crash", LastExit: &Exit{Code: -1, Signal: "SIGKILL", At: time.Now(), Uptime: time.Second},
			LastChange: time.Now(), MemoryBytes: 1 << 21, MemoryLimitBytes: 200 << 20,
			LastEvent: &Event{At: time.Now(), Kind: "started", Daemon: "d", Pid: 1000 + i, ArgvHash: "hmac-sha256:56fa805a501b0f7d8d646cfea2b4c720a37be492a0e798fd415683f93655574a", Reason: "crash"}})
	}
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeOf(&st); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsoncodec", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = AppendAgentStatus(buf[:0], &st); err != nil {
				b.Fatal(err)
			}
		}
	})
}
