package schema

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDaemonJSON: durations are written as duration strings and read back
// (numbers of nanoseconds are read too), and the round trip loses nothing.
func TestDaemonJSON(t *testing.T) {
	d := Daemon{
		Name: "beads", Command: "bd", Args: []string{"daemon"}, Interval: 5 * time.Second, Dir: "/w",
		Restart: Restart{Policy: "always", Delay: 5 * time.Second, Backoff: "constant", MaxDelay: time.Minute, MaxRestarts: 10, MinUptime: 10 * time.Second},
		Limits:  Limits{Memory: 200 << 20, CheckInterval: 250 * time.Millisecond},
		Stop:    Stop{Signal: "SIGTERM", Timeout: 5 * time.Second},
		Health:  Health{Check: "tcp", Interval: 30 * time.Second, Timeout: 5 * time.Second, Failures: 3, Address: "127.0.0.1:1"},
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"interval":"5s"`, `"delay":"5s"`, `"max_delay":"1m0s"`, `"min_uptime":"10s"`,
		`"check_interval":"250ms"`, `"timeout":"5s"`, `"interval":"30s"`, `"max_restarts":10`, `"memory":209715200`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back Daemon
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, back, cmpopts.IgnoreFields(Daemon{}, "DeclRange")); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	var old Daemon
	if err := json.Unmarshal([]byte(`{"name":"x","interval":5000000000,"stop":{"signal":"SIGTERM","timeout":2000000000}}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Interval != 5*time.Second || old.Stop.Timeout != 2*time.Second {
		t.Errorf("nanoseconds read as %v and %v", old.Interval, old.Stop.Timeout)
	}
	if err := json.Unmarshal([]byte(`{"stop":{"timeout":"soon"}}`), &old); err == nil {
		t.Error("a bad duration string was accepted")
	}
}
