package supervisor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestExitJSONUptimeSeconds: last_exit's uptime is in seconds, as the
// uptime_seconds of the status row beside it (it was nanoseconds); the
// nanoseconds of an older agent or agent.json still read.
func TestExitJSONUptimeSeconds(t *testing.T) {
	at := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	e := Exit{Code: 1, At: at, Uptime: 1500 * time.Millisecond, LogTail: []string{"boom"}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"code":1,"at":"2026-12-03T18:00:00Z","uptime_seconds":1.5,"log_tail":["boom"]}`; string(b) != want {
		t.Errorf("marshal = %s, want %s", b, want)
	}
	tests := map[string]string{
		"seconds":           string(b),
		"older nanoseconds": `{"code":1,"at":"2026-12-03T18:00:00Z","uptime":1500000000,"log_tail":["boom"]}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			var got Exit
			if err := json.Unmarshal([]byte(in), &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(e, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
	// Inside a Status (the control API, agent.json) and through a pointer.
	b, err = json.Marshal(Status{Name: "x", LastExit: &e})
	if err != nil || !strings.Contains(string(b), `"last_exit":{"code":1,"at":"2026-12-03T18:00:00Z","uptime_seconds":1.5`) {
		t.Errorf("status = %s (%v)", b, err)
	}
}
