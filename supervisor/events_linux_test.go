//go:build linux

package supervisor

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAgentEventsStory: a follower of GET /v1/events sees a crash loop as it
// happens (applied, started with the pid and the client's argv hash, exited
// with the code, restarted for a crash, ..., errored), the history file holds
// the same story after the agent stopped (agent-start to agent-stop), the
// status carries the last event, and no environment value is in any of it.
func TestAgentEventsStory(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)

	got := followEvents(t, ta, "bad")

	const secret = "s3cret-token-value"
	bad := shSpec(dir, "bad", `echo "token $TOKEN" >&2; exit 3`)
	bad.Env = map[string]string{"TOKEN": secret}
	bad.Restart = RestartPolicy{Policy: "always", MinUptime: 10 * time.Second, MaxRestarts: 2}
	bad.ArgvHash = "hmac-sha256:argv"
	ta.put(t, bad)

	var kinds []string
	deadline := time.After(30 * time.Second)
	var started Event
	for len(kinds) == 0 || kinds[len(kinds)-1] != EventErrored {
		select {
		case ev, ok := <-got:
			if !ok {
				t.Fatalf("stream ended after %v", kinds)
			}
			if ev.Daemon != "bad" {
				t.Fatalf("a follower of bad got %+v", ev)
			}
			if ev.Kind == EventStarted && started.Pid == 0 {
				started = ev
			}
			if ev.Kind == EventExited && (ev.ExitCode == nil || *ev.ExitCode != 3 || ev.UptimeSeconds == nil) {
				t.Fatalf("exited event without its code 3 and uptime: %+v", ev)
			}
			kinds = append(kinds, ev.Kind)
		case <-deadline:
			t.Fatalf("no errored event within 30s; got %v", kinds)
		}
	}
	want := "applied started exited restarted started exited errored" // max_restarts 2: the second unstable run is the last
	if strings.Join(kinds, " ") != want {
		t.Fatalf("events %q, want %q", strings.Join(kinds, " "), want)
	}
	if started.Pid == 0 || started.ArgvHash != "hmac-sha256:argv" {
		t.Fatalf("started event without pid or the client's argv hash: %+v", started)
	}
	var st AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &st)
	if len(st.Daemons) != 1 || st.Daemons[0].LastEvent == nil || st.Daemons[0].LastEvent.Kind != EventErrored {
		t.Fatalf("status's last event: %+v", st.Daemons)
	}

	ta.stop(t)
	evs, warns, err := ReadEvents(dir)
	if err != nil || len(warns) > 0 {
		t.Fatalf("ReadEvents: %v %v", err, warns)
	}
	if evs[0].Kind != EventAgentStart || evs[len(evs)-1].Kind != EventAgentStop {
		t.Fatalf("history does not run from agent-start to agent-stop: first %+v last %+v", evs[0], evs[len(evs)-1])
	}
	b, _ := os.ReadFile(EventsPath(dir))
	if strings.Contains(string(b), secret) {
		t.Fatalf("the events file holds the secret:\n%s", b)
	}
}
