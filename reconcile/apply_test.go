package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/bd"
	"github.com/beadsctl/beadsctl/schema"
)

// fakeAgent is an in-memory agent: Put runs (or updates) the spec at once, and
// specs whose Argv contains "fail" end errored.
type fakeAgent struct {
	mu      sync.Mutex // apply converges several daemons at once
	calls   []string
	daemons map[string]agentapi.Status
	pid     int
}

var _ Destroyer = (*fakeAgent)(nil)

func newFakeAgent() *fakeAgent { return &fakeAgent{daemons: map[string]agentapi.Status{}, pid: 1000} }

func (f *fakeAgent) run(spec agentapi.Spec) agentapi.Status {
	f.pid++
	s := agentapi.Status{Name: spec.Name, State: agentapi.StateOnline, Pid: f.pid, StartTime: time.Unix(int64(f.pid), 0),
		Argv: spec.Argv, Dir: spec.Dir, EnvHash: "env1", SpecHash: spec.Hash}
	if strings.Contains(strings.Join(spec.Argv, " "), "fail") {
		s.State, s.Pid, s.Reason = agentapi.StateErrored, 0, "exited 1"
		s.LastExit = &agentapi.Exit{Code: 1, LogTail: []string{"boom"}}
	}
	return s
}

func (f *fakeAgent) Status(context.Context) (agentapi.AgentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	as := agentapi.AgentStatus{Pid: 7, API: agentapi.APIVersion}
	for _, s := range f.daemons {
		as.Daemons = append(as.Daemons, s)
	}
	return as, nil
}

func (f *fakeAgent) Put(_ context.Context, spec agentapi.Spec) (agentapi.PutResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "put "+spec.Name)
	old, ok := f.daemons[spec.Name]
	switch {
	case !ok:
		f.daemons[spec.Name] = f.run(spec)
		return agentapi.PutResult{Status: f.daemons[spec.Name], Action: agentapi.ActionCreated}, nil
	case old.SpecHash == spec.Hash:
		return agentapi.PutResult{Status: old, Action: agentapi.ActionUnchanged}, nil
	case strings.Join(old.Argv, " ") != strings.Join(spec.Argv, " "):
		f.daemons[spec.Name] = f.run(spec)
		return agentapi.PutResult{Status: f.daemons[spec.Name], Action: agentapi.ActionRestarted}, nil
	}
	old.SpecHash = spec.Hash
	f.daemons[spec.Name] = old
	return agentapi.PutResult{Status: old, Action: agentapi.ActionUpdated}, nil
}

func (f *fakeAgent) Delete(_ context.Context, name string) (agentapi.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "delete "+name)
	delete(f.daemons, name)
	return f.daemons[name], nil
}

func (f *fakeAgent) Restart(_ context.Context, name string) (agentapi.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "restart "+name)
	return f.rerun(name), nil
}

func (f *fakeAgent) Start(_ context.Context, name string) (agentapi.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start "+name)
	return f.rerun(name), nil
}

// rerun runs daemon name again, with a new pid, from the spec it had (f.mu held).
func (f *fakeAgent) rerun(name string) agentapi.Status {
	s := f.daemons[name]
	f.daemons[name] = f.run(agentapi.Spec{Name: name, Argv: s.Argv, Dir: s.Dir, Hash: s.SpecHash})
	return f.daemons[name]
}

func (f *fakeAgent) Stop(_ context.Context, name string) (agentapi.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+name)
	s := f.daemons[name]
	s.State, s.Pid, s.Stopped = agentapi.StateStopped, 0, true
	f.daemons[name] = s
	return f.daemons[name], nil
}

func (f *fakeAgent) Wait(_ context.Context, name string, w WaitFor) (agentapi.Status, error) {
	healthy := w.Healthy
	f.mu.Lock()
	defer f.mu.Unlock()
	call := fmt.Sprintf("wait %s healthy=%v", name, healthy)
	if w.Settle > 0 {
		call += " online_after=" + w.Settle.String()
	}
	f.calls = append(f.calls, call)
	s := f.daemons[name]
	if s.State != agentapi.StateOnline {
		return s, fmt.Errorf("daemon is %s", s.State)
	}
	return s, nil
}

func (f *fakeAgent) Shutdown(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "shutdown")
	return nil
}

// converge applies desired against the fake and returns the calls made.
func converge(t *testing.T, f *fakeAgent, desired *schema.Config, st *State, agentUp bool, opts ApplyOptions) ([]string, error) {
	t.Helper()
	live := Observe(t.Context(), desired, st, f, Probes{})
	live.AgentUp = agentUp
	p := ComputePlan(desired, live)
	f.calls = nil
	_, err := applyPlan(t.Context(), desired, p, live, st, f, opts)
	return byDaemon(f.calls), err
}

// byDaemon orders calls by daemon name, keeping each daemon's own order: apply
// converges daemons side by side, so only the order per daemon is defined.
func byDaemon(calls []string) []string {
	out := slices.Clone(calls)
	slices.SortStableFunc(out, func(a, b string) int { return strings.Compare(callDaemon(a), callDaemon(b)) })
	return out
}

func callDaemon(call string) string {
	f := strings.Fields(call)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func TestApplyConverges(t *testing.T) {
	beads := beadsDaemon("beads")
	slower := beadsDaemon("beads", func(d *schema.Daemon) { d.Interval = 10 * time.Second })
	bigger := beadsDaemon("beads", func(d *schema.Daemon) { d.Limits.Memory = 300 << 20 })
	web := beadsDaemon("web", func(d *schema.Daemon) { d.Command, d.Args, d.Health.Check = "node", []string{"web.js"}, "none" })

	f := newFakeAgent()
	st := &State{}
	ensured := 0
	opts := ApplyOptions{EnsureAgent: func(context.Context) error { ensured++; return nil }}
	steps := []struct {
		name    string
		desired *schema.Config
		want    []string
	}{
		{"create", config("", beads, web), []string{"put beads", "wait beads healthy=true", "put web", "wait web healthy=false"}},
		{"no-op", config("", beads, web), nil},
		{"replace", config("", slower, web), []string{"put beads", "wait beads healthy=true"}},
		{"in place", config("", bigger, web), []string{"put beads", "wait beads healthy=true"}},
		{"delete", config("", bigger), []string{"delete web"}},
	}
	for i, s := range steps {
		calls, err := converge(t, f, s.desired, st, i > 0, opts)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(byDaemon(s.want), calls); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", s.name, diff)
		}
		if p := ComputePlan(s.desired, Observe(t.Context(), s.desired, st, f, Probes{})); p.HasChanges() {
			t.Errorf("%s: not converged: %+v", s.name, summarize(p))
		}
	}
	if ensured != 1 {
		t.Errorf("EnsureAgent called %d times, want 1", ensured)
	}
	if st.Daemons["beads"].Hash != bigger.Hash || st.Daemons["beads"].Pid == 0 {
		t.Errorf("state of beads = %+v", st.Daemons["beads"])
	}
}

// TestApplyWaitsOnlineAfter: health.online_after is what apply's wait asks
// the agent for; set on a running daemon it is an update in place (the
// agent's spec is the same: no restart), and apply waits that long again.
func TestApplyWaitsOnlineAfter(t *testing.T) {
	web := beadsDaemon("web", func(d *schema.Daemon) { d.Command, d.Args, d.Health.Check = "node", []string{"web.js"}, "none" })
	slow := beadsDaemon("web", func(d *schema.Daemon) {
		d.Command, d.Args, d.Health = "node", []string{"web.js"}, schema.Health{Check: "none", OnlineAfter: 2 * time.Second}
	})
	f := newFakeAgent()
	st := &State{}
	opts := ApplyOptions{EnsureAgent: func(context.Context) error { return nil }}
	if calls, err := converge(t, f, config("", web), st, false, opts); err != nil || !slices.Equal(calls, []string{"put web", "wait web healthy=false"}) {
		t.Fatalf("create: %v, %v", calls, err)
	}
	p := ComputePlan(config("", slow), Observe(t.Context(), config("", slow), st, f, Probes{}))
	if got := summarize(p); len(got) != 1 || got[0].Actions[0] != ActionUpdate {
		t.Fatalf("plan after setting online_after: %+v, want an update in place", got)
	}
	calls, err := converge(t, f, config("", slow), st, true, opts)
	if err != nil || !slices.Equal(calls, []string{"put web", "wait web healthy=false online_after=2s"}) {
		t.Fatalf("online_after set: %v, %v; want the wait to ask for 2s", calls, err)
	}
	if r := f.daemons["web"].Restarts; r != 0 {
		t.Errorf("restarts %d, want none: only apply's wait reads online_after", r)
	}
}

func TestApplyRestartsWhenSpecIsUnchanged(t *testing.T) {
	beads := beadsDaemon("beads")
	f := newFakeAgent()
	st := &State{}
	if _, err := converge(t, f, config("", beads), st, false, ApplyOptions{EnsureAgent: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	desired := config("", beads)
	live := Observe(t.Context(), desired, st, f, Probes{})
	live.Beads = map[string]BeadsLive{"beads": {Installed: "0.28.0", Running: "0.26.0"}}
	p := ComputePlan(desired, live)
	f.calls = nil
	if _, err := applyPlan(t.Context(), desired, p, live, st, f, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"put beads", "restart beads", "wait beads healthy=true"}, f.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestApplyFailureKeepsSuccesses(t *testing.T) {
	good := beadsDaemon("a")
	bad := beadsDaemon("b", func(d *schema.Daemon) { d.Args = []string{"daemon", "fail"} })
	f := newFakeAgent()
	st := &State{}
	_, err := converge(t, f, config("", good, bad), st, false, ApplyOptions{EnsureAgent: func(context.Context) error { return nil }})
	if !errors.Is(err, ErrApplyFailed) {
		t.Fatalf("err = %v, want ErrApplyFailed", err)
	}
	if _, ok := st.Daemons["a"]; !ok {
		t.Error("the daemon that came online is not recorded")
	}
	if p := ComputePlan(config("", good, bad), Observe(t.Context(), config("", good, bad), st, f, Probes{})); !p.Changes[1].Replace() {
		t.Errorf("next plan for the errored daemon: %+v", summarize(p))
	}
}

func TestApplyRefusesUnmanaged(t *testing.T) {
	beads := beadsDaemon("beads")
	desired := config("", beads)
	probes := Probes{ReadLock: func(string) (bd.Lock, bool, error) {
		return bd.Lock{Pid: 4242, Version: "0.26.0"}, true, nil
	}}
	f := newFakeAgent()
	live := Observe(t.Context(), desired, &State{}, f, probes)
	p := ComputePlan(desired, live)
	_, err := applyPlan(t.Context(), desired, p, live, &State{}, f, ApplyOptions{})
	var ue *UnmanagedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnmanagedError", err)
	}
	for _, s := range []string{"pid 4242", "version 0.26.0", "--replace-unmanaged"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("the agent was called: %v", f.calls)
	}

	var stopped []int
	_, err = applyPlan(t.Context(), desired, p, live, &State{}, f, ApplyOptions{ReplaceUnmanaged: true,
		StopUnmanaged: func(_ context.Context, u Unmanaged) ([]string, error) {
			stopped = append(stopped, u.Pid)
			return nil, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{4242}, stopped); diff != "" {
		t.Errorf("stopped (-want +got):\n%s", diff)
	}
}

func TestVerbsAndDestroy(t *testing.T) {
	beads := beadsDaemon("beads")
	desired := config("", beads)
	f := newFakeAgent()
	st := &State{Lineage: "lin"}
	if _, err := converge(t, f, desired, st, false, ApplyOptions{EnsureAgent: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	obs := func() *Live { return Observe(t.Context(), desired, st, f, Probes{}) }
	if _, err := runVerb(t.Context(), VerbStop, desired, nil, obs(), st, f, VerbOptions{}); err != nil {
		t.Fatal(err)
	}
	if !st.Daemons["beads"].Stopped {
		t.Fatal("stop not recorded")
	}
	fs := Findings(desired, obs(), false)
	if HasDrift(fs) || len(fs) != 1 || fs[0].Kind != KindStoppedOnPurpose {
		t.Errorf("findings after stop: %+v", fs)
	}
	if got := summarize(ComputePlan(desired, obs())); got[0].Reason != "stopped on purpose (beadsctl stop); apply starts it" {
		t.Errorf("plan after stop: %+v", got)
	}
	if _, err := runVerb(t.Context(), VerbStart, desired, []string{"beads"}, obs(), st, f, VerbOptions{}); err != nil {
		t.Fatal(err)
	}
	if st.Daemons["beads"].Stopped || ComputePlan(desired, obs()).HasChanges() {
		t.Errorf("after start: state %+v", st.Daemons["beads"])
	}
	if _, err := runVerb(t.Context(), VerbRestart, desired, []string{"nope"}, obs(), st, f, VerbOptions{}); err == nil {
		t.Error("restart of an unknown daemon succeeded")
	}
	f.calls = nil
	desired.Dir = t.TempDir()
	if err := destroyAll(t.Context(), desired, obs(), st, f, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"delete beads", "shutdown"}, f.calls); diff != "" {
		t.Errorf("destroy calls (-want +got):\n%s", diff)
	}
	if !st.Daemons["beads"].Stopped || st.Daemons["beads"].Pid != 0 {
		t.Errorf("state after destroy: %+v", st.Daemons["beads"])
	}

	// An agent of another control API refuses deletes: its shutdown, which
	// keeps its meaning across APIs, stops its daemons.
	if _, err := f.Put(t.Context(), SpecFor(*declaredDaemon(desired, "beads"), "", nil)); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	other := obs()
	other.Agent.API = agentapi.APIVersion + 1
	var steps []string
	if err := destroyAll(t.Context(), desired, other, st, f, func(p Progress) { steps = append(steps, p.Daemon+" "+p.Step) }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shutdown"}, f.calls); diff != "" {
		t.Errorf("destroy of an agent of another API: calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{" agent-stopping", "beads stopped"}, steps); diff != "" {
		t.Errorf("destroy of an agent of another API: progress (-want +got):\n%s", diff)
	}
}

// bd auto-starts its own daemon after beadsctl stop: start and restart see it
// first, name it (pid, socket) and offer their own --replace-unmanaged, which
// stops it and starts ours (was: start waited 30 s and crash-looped, and the
// refusal offered only apply's flag).
func TestVerbsSeeAnUnmanagedDaemonFirst(t *testing.T) {
	beads := beadsDaemon("beads")
	desired := config("", beads)
	f := newFakeAgent()
	st := &State{Lineage: "lin"}
	if _, err := converge(t, f, desired, st, false, ApplyOptions{EnsureAgent: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	if _, err := runVerb(t.Context(), VerbStop, desired, nil, Observe(t.Context(), desired, st, f, Probes{}), st, f, VerbOptions{}); err != nil {
		t.Fatal(err)
	}
	probes := Probes{ReadLock: func(string) (bd.Lock, bool, error) { return bd.Lock{Pid: 4242, Version: "0.28.0"}, true, nil }}
	for _, verb := range []Verb{VerbStart, VerbRestart} {
		f.calls = nil
		_, err := runVerb(t.Context(), verb, desired, nil, Observe(t.Context(), desired, st, f, probes), st, f, VerbOptions{})
		var ue *UnmanagedError
		if !errors.As(err, &ue) {
			t.Fatalf("%s: err = %v, want *UnmanagedError", verb, err)
		}
		for _, s := range []string{"pid 4242", "socket " + beads.Dir + "/.beads/bd.sock", "beadsctl " + string(verb) + " --replace-unmanaged"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q lacks %q", verb, err, s)
			}
		}
		if len(f.calls) != 0 {
			t.Errorf("%s: the agent was called: %v", verb, f.calls)
		}
	}
	var stopped []int
	_, err := runVerb(t.Context(), VerbStart, desired, nil, Observe(t.Context(), desired, st, f, probes), st, f, VerbOptions{ReplaceUnmanaged: true,
		StopUnmanaged: func(_ context.Context, u Unmanaged) ([]string, error) {
			stopped = append(stopped, u.Pid)
			return nil, nil
		}})
	if err != nil || !slices.Equal(stopped, []int{4242}) || f.daemons["beads"].State != agentapi.StateOnline {
		t.Fatalf("start --replace-unmanaged: err %v, stopped %v, ours %+v", err, stopped, f.daemons["beads"])
	}
}

// A bd daemon's folder without a workspace (bd init not run) blocks apply and
// start before anything starts, saying to run bd init there; a parent's
// workspace, which bd would use instead, is named with the dir to set.
func TestBdWorkspaceIsCheckedBeforeAStart(t *testing.T) {
	root := t.TempDir()
	beads := beadsDaemon("beads", func(d *schema.Daemon) { d.Dir = filepath.Join(root, "proj") })
	desired := config("", beads)
	f := newFakeAgent()
	probes := Probes{FindBeadsDir: bd.FindBeadsDir}
	live := Observe(t.Context(), desired, &State{}, f, probes)
	p := ComputePlan(desired, live)
	_, err := applyPlan(t.Context(), desired, p, live, &State{}, f, ApplyOptions{ReplaceUnmanaged: true})
	var ue *UnmanagedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "run bd init in "+beads.Dir) || strings.Contains(err.Error(), "replace-unmanaged") {
		t.Fatalf("apply: err = %v, want a refusal saying to run bd init in %s", err, beads.Dir)
	}
	if len(f.calls) != 0 {
		t.Errorf("the agent was called: %v", f.calls)
	}
	_, err = runVerb(t.Context(), VerbStart, desired, nil, live, &State{}, f, VerbOptions{EnsureAgent: func(context.Context) error { return nil }})
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "run bd init in") {
		t.Fatalf("start: err = %v, want the same refusal", err)
	}
	// bd init in a parent: bd would use that workspace, beadsctl would watch another.
	if err := os.MkdirAll(filepath.Join(root, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".beads", "beads.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	live = Observe(t.Context(), desired, &State{}, f, probes)
	if b := live.Beads["beads"].Workspace; !strings.Contains(b, "a parent folder's workspace") || !strings.Contains(b, "set dir = ") {
		t.Errorf("under a parent's workspace: %q", b)
	}
	// bd init in the folder itself: nothing in the way.
	if err := os.MkdirAll(filepath.Join(beads.Dir, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(beads.Dir, ".beads", "beads.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	live = Observe(t.Context(), desired, &State{}, f, probes)
	if p := ComputePlan(desired, live); len(p.Blocking()) != 0 {
		t.Errorf("after bd init: blocking %+v", p.Blocking())
	}
}

// barrierAgent's Stop returns only once n stops are under way at once (or
// the test's deadline passes): stops one after the other never get there.
type barrierAgent struct {
	*fakeAgent
	n       int
	arrived chan struct{}
	all     chan struct{}
	once    sync.Once
}

func (b *barrierAgent) Stop(ctx context.Context, name string) (agentapi.Status, error) {
	b.arrived <- struct{}{}
	if len(b.arrived) == b.n {
		b.once.Do(func() { close(b.all) })
	}
	select {
	case <-b.all:
	case <-time.After(10 * time.Second):
		return agentapi.Status{}, fmt.Errorf("stop of %s ran alone", name)
	}
	return b.fakeAgent.Stop(ctx, name)
}

// TestStopRunsSideBySide: beadsctl stop sends the stops of one dependency
// level at once (250 daemons took 1.3 s one after the other), and records
// every one.
func TestStopRunsSideBySide(t *testing.T) {
	var ds []schema.Daemon
	for _, n := range []string{"a", "b", "c"} {
		ds = append(ds, beadsDaemon(n, func(d *schema.Daemon) { d.Command, d.Args, d.Health.Check = "sleep", []string{"1000"}, "none" }))
	}
	desired := config("", ds...)
	f := newFakeAgent()
	st := &State{Lineage: "lin"}
	if _, err := converge(t, f, desired, st, false, ApplyOptions{EnsureAgent: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	b := &barrierAgent{fakeAgent: f, n: 3, arrived: make(chan struct{}, 3), all: make(chan struct{})}
	if _, err := runVerb(t.Context(), VerbStop, desired, nil, Observe(t.Context(), desired, st, f, Probes{}), st, b, VerbOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if !st.Daemons[n].Stopped {
			t.Errorf("stop of %s not recorded", n)
		}
	}
}
