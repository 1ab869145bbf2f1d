//go:build linux

package supervisor

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/beadsctl/beadsctl/internal/alerton"
)

// followEvents follows the agent's GET /v1/events (of daemon, "" for all) into a channel.
func followEvents(t *testing.T, ta *testAgent, daemon string) <-chan Event {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://agent/v1/events?daemon="+daemon, nil)
	resp, err := ta.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/events: %d", resp.StatusCode)
	}
	got := make(chan Event, 1024)
	go func() {
		defer close(got)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var ev Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				got <- ev
			}
		}
	}()
	return got
}

// TestAlertCrashLoopOneAlertThenSummary: a real crash-looping daemon (false,
// restarted every 10 ms) makes its alert's command (which appends the JSON it
// reads to a file) run once at the third crash, then once with the summary at
// the window's end, while the daemon crashed dozens of times; the payload
// holds no environment value.
func TestAlertCrashLoopOneAlertThenSummary(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	evs := followEvents(t, ta, "")
	file := filepath.Join(dir, "alerts.jsonl")
	const window = 3 * time.Second
	ta.callJSON(t, http.MethodPut, "/v1/alerts", AlertsRequest{Alerts: []AlertSpec{{
		Name: "file", On: []string{alerton.CrashLoop, alerton.Errored}, Command: []string{"sh", "-c", "cat >> " + file},
		Dir: dir, Timeout: 10 * time.Second, Window: window,
	}}}, &AlertsRequest{})

	const secret = "s3cret-token-value"
	bad := shSpec(dir, "bad", `echo "token $TOKEN" >&2; exit 1`)
	bad.Env = map[string]string{"TOKEN": secret}
	bad.Restart = RestartPolicy{Policy: "always", Delay: 10 * time.Millisecond, Backoff: "constant", MinUptime: 10 * time.Second}
	ta.put(t, bad)

	var alerted []Event
	restarts := 0
	deadline := time.After(60 * time.Second)
	for len(alerted) < 2 {
		select {
		case ev := <-evs:
			switch ev.Kind {
			case EventAlerted:
				alerted = append(alerted, ev)
			case EventAlertFailed:
				t.Fatalf("alert failed: %+v", ev)
			case EventRestarted:
				restarts++
			}
		case <-deadline:
			t.Fatalf("%d alerts within 60s (restarts %d)", len(alerted), restarts)
		}
	}
	ta.stop(t)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("the alert ran %d times, want 2 (one alert, one summary); %d restarts:\n%s", len(lines), restarts, b)
	}
	var first, sum AlertPayload
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &sum); err != nil {
		t.Fatal(err)
	}
	if first.Trigger != alerton.CrashLoop || first.Summary || first.Daemon != "bad" || first.Event == nil || first.Event.Kind != EventRestarted {
		t.Fatalf("first alert: %s", lines[0])
	}
	if !sum.Summary || sum.Suppressed < 5 || sum.SuppressedBy[alerton.CrashLoop] != sum.Suppressed || !strings.Contains(sum.Message, "more alerts in the last 3s") {
		t.Fatalf("summary: %s", lines[1])
	}
	if restarts < sum.Suppressed+alerton.CrashLoopRestarts {
		t.Fatalf("%d restarts seen, fewer than the alerts counted (%d)", restarts, sum.Suppressed)
	}
	if strings.Contains(string(b), secret) {
		t.Fatalf("an alert's payload holds the secret:\n%s", b)
	}
	t.Logf("%d crash restarts, 2 runs of the alert; the summary counted %d", restarts, sum.Suppressed)
}

// TestAlertCommandsThatFail: a command that hangs (its group killed at the
// timeout, the child it forked too), floods its output (the tail kept),
// exits non-zero or does not exist is each reported with the reason.
func TestAlertCommandsThatFail(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	specs := []AlertSpec{
		{Name: "hang", On: []string{"errored"}, Timeout: 300 * time.Millisecond, Dir: dir,
			Command: []string{"sh", "-c", "sleep 100 & echo $! > " + pidFile + "; wait"}},
		{Name: "flood", On: []string{"errored"}, Timeout: 10 * time.Second, Dir: dir,
			Command: []string{"sh", "-c", "head -c 5000000 /dev/zero | tr '\\0' x; echo; echo the-end; exit 4"}},
		{Name: "missing", On: []string{"errored"}, Timeout: time.Second, Dir: dir, Command: []string{"no-such-alert-command-xyz"}},
		{Name: "reads", On: []string{"crash_loop"}, Timeout: 10 * time.Second, Dir: dir, Daemons: []string{"web"},
			Command: []string{"sh", "-c", `read line; case "$line" in *'"test":true'*'"kind":"restarted","daemon":"web","reason":"crash"'*) echo "got $BEADSCTL_ALERT_TRIGGER";; *) echo "bad: $line"; exit 9;; esac`}},
	}
	res, err := TestAlerts(t.Context(), specs, "", os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]AlertResult{}
	for _, r := range res {
		by[r.Alert] = r
	}
	if r := by["hang"]; !strings.Contains(r.Error, "timed out after 300ms") || r.DurationMS > 5000 {
		t.Fatalf("hang: %+v", r)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// SIGKILLed with its group, the child may still be exiting (it was seen
	// running, 1 run in 9 of make test): its exit is waited for on a pidfd,
	// which answers for that process even if the pid is reused.
	if pid <= 0 || !exitsWithin(pid, 10*time.Second) {
		t.Fatalf("the hanging alert's child %d outlived its group's kill", pid)
	}
	if r := by["flood"]; r.ExitCode == nil || *r.ExitCode != 4 || len(r.Output) > alertOutputMax || !strings.HasSuffix(r.Output, "the-end") {
		t.Fatalf("flood: exit %v, %d bytes of output, error %q", r.ExitCode, len(r.Output), r.Error)
	}
	if r := by["missing"]; !strings.Contains(r.Error, `cannot start "no-such-alert-command-xyz"`) || r.ExitCode != nil {
		t.Fatalf("missing: %+v", r)
	}
	if r := by["reads"]; !r.OK() || r.Output != "got crash_loop" {
		t.Fatalf("reads: %+v", r)
	}
	if _, err := TestAlerts(t.Context(), specs, "nope", nil); err == nil || !strings.Contains(err.Error(), "hang, flood, missing, reads") {
		t.Fatalf("unknown alert: %v", err)
	}
}

// zombie reports whether pid is a zombie not yet reaped.
// exitsWithin reports whether pid has exited, or does within d (a pidfd
// turns readable when every thread has exited).
func exitsWithin(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err == unix.ESRCH
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for left := time.Until(deadline); left > 0; left = time.Until(deadline) {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
		if n > 0 {
			return true
		}
		if err != nil && err != unix.EINTR {
			return false
		}
	}
	return false
}

// TestAlertUnhealthyThenRecoveredRealDaemon: a real daemon whose exec health
// check fails (test -f ok) is restarted by it every few hundred ms, and stays
// unhealthy: its "unhealthy" alert runs once, unhealthy_for after the first
// failed check (not before), and not again while it stays unhealthy for more
// than another window; once the check passes (ok created), "recovered" runs
// once, at once. The alert's command appends the JSON it reads to a file.
func TestAlertUnhealthyThenRecoveredRealDaemon(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	evs := followEvents(t, ta, "")
	file := filepath.Join(dir, "alerts.jsonl")
	const unhealthyFor, window = time.Second, time.Second
	ta.callJSON(t, http.MethodPut, "/v1/alerts", AlertsRequest{Alerts: []AlertSpec{{
		Name: "file", On: []string{alerton.Unhealthy, alerton.Recovered}, Command: []string{"sh", "-c", "cat >> " + file},
		Dir: dir, Timeout: 10 * time.Second, UnhealthyFor: unhealthyFor, Window: window,
	}}}, &AlertsRequest{})
	web := shSpec(dir, "web", "exec sleep 1000")
	web.Restart = RestartPolicy{Policy: "always", Delay: 10 * time.Millisecond, Backoff: "constant", MinUptime: 10 * time.Millisecond, MaxRestarts: 1000}
	web.Health = HealthSpec{Check: CheckExec, Command: []string{"test", "-f", "ok"}, Interval: 100 * time.Millisecond, Timeout: 5 * time.Second, Failures: 3}
	ta.put(t, web)

	deadline := time.After(60 * time.Second)
	next := func(what string) Event {
		t.Helper()
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("the events' stream ended, waiting for %s", what)
			}
			if ev.Kind == EventAlertFailed {
				t.Fatalf("alert failed: %+v", ev)
			}
			return ev
		case <-deadline:
			t.Fatalf("no %s within 60s", what)
		}
		return Event{}
	}
	var firstFail time.Time
	restarts := 0
	for {
		ev := next("unhealthy alert")
		if ev.Kind == EventHealth && ev.Health == "unhealthy" && firstFail.IsZero() {
			firstFail = ev.At
		}
		if ev.Kind == EventRestarted && ev.Reason == ReasonHealth {
			restarts++
		}
		if ev.Kind == EventAlerted {
			if ev.Detail != alerton.Unhealthy {
				t.Fatalf("first alert: %+v", ev)
			}
			break
		}
	}
	// Still unhealthy: restarted by its check until well past the window.
	alertedAt, after := time.Now(), 0
	for after < 3 || time.Since(alertedAt) < unhealthyFor+window {
		ev := next("restarts after the alert")
		switch {
		case ev.Kind == EventAlerted:
			t.Fatalf("alerted again while unhealthy: %+v", ev)
		case ev.Kind == EventRestarted && ev.Reason == ReasonHealth:
			after++
		case ev.Kind == EventHealth && ev.Health != "unhealthy" && ev.Health != "unknown":
			t.Fatalf("health check passed without ok: %+v", ev)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ok"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next("recovered alert")
		if ev.Kind == EventAlerted {
			if ev.Detail != alerton.Recovered {
				t.Fatalf("alert after ok: %+v", ev)
			}
			break
		}
	}
	ta.stop(t)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("the alert ran %d times, want 2 (unhealthy, recovered):\n%s", len(lines), b)
	}
	var un, rec AlertPayload
	if err := json.Unmarshal([]byte(lines[0]), &un); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if un.Trigger != alerton.Unhealthy || un.Summary || un.Event == nil || !un.Event.At.Equal(firstFail) {
		t.Fatalf("unhealthy alert (first failed check at %s): %s", firstFail, lines[0])
	}
	if d := un.At.Sub(firstFail); d < unhealthyFor {
		t.Fatalf("alerted %s after the first failed check, before unhealthy_for (%s)", d, unhealthyFor)
	}
	if rec.Trigger != alerton.Recovered || rec.Summary || rec.Message != "web is healthy again" {
		t.Fatalf("recovered alert: %s", lines[1])
	}
	t.Logf("unhealthy alert %s after the first failed check (%d health restarts before it, %d after)",
		un.At.Sub(firstFail).Round(time.Millisecond), restarts, after)
}

// TestExitLogTailMasksSensitiveValues: a daemon that prints its sensitive
// token as it fails leaves "(sensitive)" in the log lines the agent keeps of
// the run (status, agent.json, apply's failure), its other values as they
// are; the log file itself is the daemon's own output, kept whole.
func TestExitLogTailMasksSensitiveValues(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	bad := shSpec(dir, "bad", `echo "token $TOKEN in $MODE" >&2; exit 1`)
	bad.Env = map[string]string{"TOKEN": "hunter2-token", "MODE": "production"}
	bad.Sensitive = []string{"TOKEN"}
	bad.Restart = RestartPolicy{Policy: "never"}
	ta.put(t, bad)
	if res := ta.wait(t, "bad", "for=stopped&timeout=60s"); res.Result != WaitReached || res.Status.LastExit == nil {
		t.Fatalf("bad did not exit and stop: %+v", res)
	}
	if err := ta.flushRecord(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadAgentRecord(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Daemons) != 1 || rec.Daemons[0].LastExit == nil {
		t.Fatalf("agent.json: %+v", rec.Daemons)
	}
	got := strings.Join(rec.Daemons[0].LastExit.LogTail, "\n")
	if got != "token (sensitive) in production" {
		t.Fatalf("agent.json's log tail %q", got)
	}
	var st AgentStatus
	ta.callJSON(t, http.MethodGet, "/v1/status", nil, &st)
	if tail := strings.Join(st.Daemons[0].LastExit.LogTail, "\n"); tail != got {
		t.Fatalf("status's log tail %q", tail)
	}
}
