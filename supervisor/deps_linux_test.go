//go:build linux

package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostedDaemon is the daemon name of ta.
func hostedDaemon(t *testing.T, ta *testAgent, name string) *Daemon {
	t.Helper()
	h, ok := ta.lookup(name)
	if !ok {
		t.Fatalf("no daemon %s", name)
	}
	return h.d
}

// TestAgentDependsOnHealthy: a dependent waits (StateWaiting, the reason
// named) while its dependency is unhealthy, and starts once the health check
// passes: after the transition, never before.
func TestAgentDependsOnHealthy(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	ready := filepath.Join(dir, "ready")
	db := shSpec(dir, "db", "exec sleep 1000")
	db.Health = HealthSpec{Check: CheckExec, Command: []string{"test", "-f", ready}, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond, Failures: 1000}
	// ui fails unless its dependency is ready when it starts.
	ui := shSpec(dir, "ui", "test -f "+ready+" || exit 9; exec sleep 1000")
	ui.DependsOn = []Dependency{{Name: "db", Condition: CondHealthy}}
	ta.put(t, ui) // before its dependency: it waits for the agent to host it
	st := waitStatus(t, hostedDaemon(t, ta, "ui"), 10*time.Second, "waiting", func(s Status) bool { return s.State == StateWaiting })
	if !strings.Contains(st.Reason, `waiting for "db", which the agent does not run`) {
		t.Errorf("reason %q", st.Reason)
	}
	ta.put(t, db)
	st = waitStatus(t, hostedDaemon(t, ta, "ui"), 10*time.Second, "waiting on health", func(s Status) bool {
		return s.State == StateWaiting && strings.Contains(s.Reason, `waiting for "db" to be healthy`)
	})
	if st.Pid != 0 || st.Blocked {
		t.Fatalf("ui started or blocked while db unhealthy: %+v", st)
	}
	dbSt := waitStatus(t, hostedDaemon(t, ta, "db"), 10*time.Second, "db checked unhealthy", func(s Status) bool { return s.Health.Status == "unhealthy" })
	if hostedDaemon(t, ta, "ui").Status().Pid != 0 {
		t.Fatal("ui started while db is unhealthy")
	}
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if dbSt.Pid == 0 {
		t.Fatal("db not running")
	}
	res := ta.wait(t, "ui", "for=online&timeout=10s&settle=300ms")
	if res.Result != WaitReached || res.Status.Restarts != 0 || res.Status.LastExit != nil {
		t.Errorf("wait ui (it fails when started before db is healthy): %+v", res)
	}
}

// TestAgentDependencyAddedInPlace: dependencies that an update brings in
// place (the daemon had none) gate its next start, and it starts once they
// hold: it is told of its dependencies' changes like a daemon put with them.
func TestAgentDependencyAddedInPlace(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	ui := shSpec(dir, "ui", "exec sleep 1000")
	ta.put(t, ui)
	ta.waitOnline(t, "ui")
	var res DaemonResult
	ta.callJSON(t, "POST", "/v1/daemons/ui/stop", nil, &res)
	ui.DependsOn = []Dependency{{Name: "db", Condition: CondStarted}}
	if pr := ta.put(t, ui); pr.Action != ActionUpdated {
		t.Fatalf("put of ui with a dependency: %s, want %s (in place)", pr.Action, ActionUpdated)
	}
	ta.callJSON(t, "POST", "/v1/daemons/ui/start", nil, &res)
	waitStatus(t, hostedDaemon(t, ta, "ui"), 10*time.Second, "waiting for db", func(s Status) bool { return s.State == StateWaiting })
	ta.put(t, shSpec(dir, "db", "exec sleep 1000"))
	if w := ta.wait(t, "ui", "for=online&timeout=10s"); w.Result != WaitReached {
		t.Fatalf("ui once db runs: %+v", w)
	}
}

// TestAgentDependencyFailedBlocks: a dependency that exits for good before
// it met the condition, or that errored, leaves its dependent not started,
// blocked, with the reason; a wait says so at once.
func TestAgentDependencyFailedBlocks(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	db := shSpec(dir, "db", "exit 3")
	db.Restart.Policy = PolicyNever
	db.Health = HealthSpec{Check: CheckExec, Command: []string{"false"}, Interval: time.Hour}
	ui := shSpec(dir, "ui", "exec sleep 1000")
	ui.DependsOn = []Dependency{{Name: "db", Condition: CondHealthy}}
	gone := shSpec(dir, "gone", "exec sleep 1000")
	gone.Argv = []string{filepath.Join(dir, "no-such-program")}
	web := shSpec(dir, "web", "exec sleep 1000")
	web.DependsOn = []Dependency{{Name: "gone", Condition: CondStarted}}
	top := shSpec(dir, "top", "exec sleep 1000") // two levels above the failure
	top.DependsOn = []Dependency{{Name: "ui", Condition: CondStarted}}
	for _, s := range []Spec{db, ui, gone, web, top} {
		ta.put(t, s)
	}
	res := ta.wait(t, "ui", "for=online&timeout=20s")
	if res.Result != WaitBlocked || !res.Status.Blocked || res.Status.Pid != 0 {
		t.Fatalf("wait ui: %+v", res)
	}
	if want := `not started: dependency "db" exited and is not restarted: exited (exit code 3); restart policy is never`; res.Status.Reason != want {
		t.Errorf("reason %q, want %q", res.Status.Reason, want)
	}
	res = ta.wait(t, "top", "for=online&timeout=20s")
	if want := `not started: dependency "ui" is not started: dependency "db" exited and is not restarted: exited (exit code 3); restart policy is never`; res.Result != WaitBlocked || res.Status.Reason != want {
		t.Errorf("wait top: %s %q, want blocked %q", res.Result, res.Status.Reason, want)
	}
	res = ta.wait(t, "web", "for=online&timeout=20s")
	if res.Result != WaitBlocked || !strings.HasPrefix(res.Status.Reason, `not started: dependency "gone" errored: start: `) {
		t.Errorf("wait web: %+v", res)
	}
}

// TestAgentOnRestart: when a dependency restarts, a dependent with
// on_restart = "ignore" keeps its process; one with "restart" is stopped and
// started again after the dependency's new run, with reason "dependency".
func TestAgentOnRestart(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	db := shSpec(dir, "db", "exec sleep 1000")
	keep := shSpec(dir, "keep", "exec sleep 1000")
	keep.DependsOn = []Dependency{{Name: "db", Condition: CondStarted, OnRestart: OnRestartIgnore}}
	bound := shSpec(dir, "bound", "exec sleep 1000")
	bound.DependsOn = []Dependency{{Name: "db", Condition: CondStarted, OnRestart: OnRestartRestart}}
	for _, s := range []Spec{db, keep, bound} {
		ta.put(t, s)
	}
	dbPid := ta.waitOnline(t, "db").Pid
	keepPid := ta.waitOnline(t, "keep").Pid
	boundPid := ta.waitOnline(t, "bound").Pid

	var res DaemonResult
	ta.callJSON(t, "POST", "/v1/daemons/db/restart", nil, &res)
	newDB := waitNewPid(t, ta, "db", dbPid)
	newBound := waitNewPid(t, ta, "bound", boundPid)
	bst := hostedDaemon(t, ta, "bound").Status()
	dst := hostedDaemon(t, ta, "db").Status()
	if bst.LastRestartReason != ReasonDependency || bst.StartTime.Before(dst.StartTime) {
		t.Errorf("bound: reason %q, started %v, db's new run %v (pid %d)", bst.LastRestartReason, bst.StartTime, dst.StartTime, newDB)
	}
	if alive(boundPid) {
		t.Errorf("bound's old pid %d lives on beside %d", boundPid, newBound)
	}
	if st := hostedDaemon(t, ta, "keep").Status(); st.Pid != keepPid || st.Restarts != 0 {
		t.Errorf("keep was restarted with its dependency: %+v (pid was %d)", st, keepPid)
	}
}

// TestAgentStopsInReverseDependencyOrder: a <- b <- c stop as c, b, a.
func TestAgentStopsInReverseDependencyOrder(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	order := filepath.Join(dir, "order")
	script := func(name string) string {
		return `trap 'echo ` + name + ` >> ` + order + `; exit 0' TERM; while :; do sleep 0.05; done`
	}
	a := shSpec(dir, "a", script("a"))
	b := shSpec(dir, "b", script("b"))
	b.DependsOn = []Dependency{{Name: "a", Condition: CondStarted}}
	c := shSpec(dir, "c", script("c"))
	c.DependsOn = []Dependency{{Name: "b", Condition: CondStarted}}
	for _, s := range []Spec{c, b, a} {
		ta.put(t, s)
	}
	for _, n := range []string{"a", "b", "c"} {
		ta.waitOnline(t, n)
	}
	ta.stop(t)
	got, err := os.ReadFile(order)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "c\nb\na\n" {
		t.Errorf("stop order %q, want c b a", got)
	}
}

// TestAgentOneShot: a once daemon runs until it exits 0, then is completed;
// its dependent (completed_successfully) starts after; a spec marked
// Completed is hosted as completed without running.
func TestAgentOneShot(t *testing.T) {
	dir := t.TempDir()
	ta := startAgent(t, dir, nil)
	runs := filepath.Join(dir, "runs")
	setup := shSpec(dir, "setup", `echo run >> `+runs+`; test "$(wc -l < `+runs+`)" -ge 2`) // fails once, then succeeds
	setup.Restart = RestartPolicy{Policy: PolicyOnce, MaxRestarts: 5, MinUptime: time.Second}
	app := shSpec(dir, "app", `test "$(wc -l < `+runs+`)" -ge 2 || exit 7; exec sleep 1000`)
	app.DependsOn = []Dependency{{Name: "setup", Condition: CondCompleted}}
	ta.put(t, app)
	ta.put(t, setup)
	res := ta.wait(t, "setup", "for=online&timeout=20s")
	if res.Result != WaitReached || res.Status.State != StateCompleted || res.Status.CompletedAt.IsZero() {
		t.Fatalf("wait setup: %+v", res)
	}
	if appSt := ta.waitOnline(t, "app"); appSt.Restarts != 0 {
		t.Errorf("app started before setup completed (it exits 7 then): %+v", appSt)
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 2 {
		t.Errorf("setup ran %q, want twice", b)
	}

	// Hosted as completed: recorded, not run again.
	again := setup
	again.Name, again.Completed = "setup2", true
	ta.put(t, again)
	res = ta.wait(t, "setup2", "for=online&timeout=10s")
	if res.Result != WaitReached || res.Status.State != StateCompleted || res.Status.Restarts != 0 || res.Status.LastExit != nil {
		t.Errorf("setup2: %+v", res)
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 2 {
		t.Errorf("a completed spec ran again: %q", b)
	}
}
