package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

// stack is db <- api (healthy, on_restart restart) <- ui (started, ignore).
func stack(mod func(name string, d *schema.Daemon)) []schema.Daemon {
	mk := func(name string, deps ...schema.Dependency) schema.Daemon {
		return beadsDaemon(name, func(d *schema.Daemon) {
			d.Command, d.Args, d.Interval, d.DependsOn = "srv", []string{name}, 0, deps
			if mod != nil {
				mod(name, d)
			}
		})
	}
	return []schema.Daemon{
		mk("api", schema.Dependency{Daemon: "db", Condition: schema.CondHealthy, OnRestart: schema.OnRestartRestart}),
		mk("db"),
		mk("ui", schema.Dependency{Daemon: "api", Condition: schema.CondStarted, OnRestart: schema.OnRestartIgnore}),
	}
}

// TestComputePlanGraph: the plan carries the start order and the edges; a
// restart of db restarts api with it (Follows) and leaves ui running.
func TestComputePlanGraph(t *testing.T) {
	ds := stack(nil)
	st := applied("", ds...)
	live := agentUp(st, online(st, ds[0]), online(st, ds[1]), online(st, ds[2]))
	moved := stack(func(name string, d *schema.Daemon) {
		if name == "db" {
			d.Args = []string{"db", "--port", "2"}
		}
	})
	p := ComputePlan(config("", moved...), live)
	if diff := cmp.Diff([][]string{{"db"}, {"api"}, {"ui"}}, p.Graph.Order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	wantEdges := []Edge{{Daemon: "api", DependsOn: "db", Condition: "healthy", OnRestart: "restart"}, {Daemon: "ui", DependsOn: "api", Condition: "started", OnRestart: "ignore"}}
	if diff := cmp.Diff(wantEdges, p.Graph.Edges); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	byName := map[string]Change{}
	for _, c := range p.Changes {
		byName[c.Name] = c
	}
	if c := byName["db"]; !c.Replace() || len(c.Dependents) != 1 || c.Dependents[0] != (Dependent{Daemon: "api", OnRestart: "restart", Effect: "restarts with it"}) {
		t.Errorf("db: %+v", c)
	}
	if c := byName["api"]; !c.Replace() || c.Follows != "db" || !strings.Contains(c.Reason, `restarts with db, which restarts`) {
		t.Errorf("api: %+v", c)
	}
	if c := byName["api"]; len(c.Dependents) != 1 || c.Dependents[0].Effect != "keeps running" {
		t.Errorf("api's dependents: %+v", c.Dependents)
	}
	if c := byName["ui"]; !c.Is(ActionNoop) {
		t.Errorf("ui: %+v", c)
	}
}

// TestComputePlanOneShot: a one-shot recorded as completed with its spec is
// a no-op, agent down or not; with another spec it runs again.
func TestComputePlanOneShot(t *testing.T) {
	setup := beadsDaemon("setup", func(d *schema.Daemon) {
		d.Command, d.Args, d.Interval, d.Restart.Policy = "migrate", []string{"up"}, 0, agentapi.PolicyOnce
	})
	st := applied("", setup)
	s := st.Daemons["setup"]
	s.CompletedAt = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st.Daemons["setup"] = s
	done := agentapi.Status{Name: "setup", State: agentapi.StateCompleted, SpecHash: setup.Hash, CompletedAt: s.CompletedAt}
	for name, live := range map[string]*Live{"agent down": {State: st}, "agent up, completed": agentUp(st, done), "agent up, not hosted": agentUp(st)} {
		p := ComputePlan(config("", setup), live)
		if c := p.Changes[0]; !c.Is(ActionNoop) || !strings.HasPrefix(c.Reason, "completed successfully at ") {
			t.Errorf("%s: %+v", name, c)
		}
		if fs := Findings(config("", setup), live, false); HasDrift(fs) && name != "agent down" {
			t.Errorf("%s: drift %+v", name, fs)
		}
	}
	changed := beadsDaemon("setup", func(d *schema.Daemon) {
		d.Command, d.Args, d.Interval, d.Restart.Policy = "migrate", []string{"up", "--all"}, 0, agentapi.PolicyOnce
	})
	p := ComputePlan(config("", changed), agentUp(st, done))
	if c := p.Changes[0]; !c.Is(ActionCreate) || !c.Start || c.Reason != "the one-shot's spec changed: it runs again" {
		t.Errorf("changed: %+v", c)
	}
}

func TestDependencyOrder(t *testing.T) {
	ds := stack(nil)
	cfg := config("", ds...)
	st := applied("", ds...)
	if got := dependencyOrder([]string{"ui", "api", "db"}, cfg, st, false); !cmp.Equal(got, []string{"db", "api", "ui"}) {
		t.Errorf("start order %v", got)
	}
	if got := dependencyOrder([]string{"db", "ui", "api"}, cfg, st, true); !cmp.Equal(got, []string{"ui", "api", "db"}) {
		t.Errorf("stop order %v", got)
	}
	// Removed from the file: the state's record orders them.
	if got := dependencyOrder([]string{"db", "api"}, config(""), st, true); !cmp.Equal(got, []string{"api", "db"}) {
		t.Errorf("stop order of removed daemons %v", got)
	}
}

// TestComputePlanDependsOnInPlace: a changed condition or on_restart is an
// update in place, the attribute named.
func TestComputePlanDependsOnInPlace(t *testing.T) {
	ds := stack(nil)
	st := applied("", ds...)
	live := agentUp(st, online(st, ds[0]), online(st, ds[1]), online(st, ds[2]))
	changed := stack(func(name string, d *schema.Daemon) {
		if name == "ui" {
			d.DependsOn[0].OnRestart = schema.OnRestartRestart
		}
	})
	p := ComputePlan(config("", changed...), live)
	for _, c := range summarize(p) {
		if c.Name != "ui" {
			continue
		}
		want := []string{`depends_on.api: { condition = "started", on_restart = "ignore" } -> { condition = "started", on_restart = "restart" }`}
		if !cmp.Equal(c.Actions, []Action{ActionUpdate}) || !cmp.Equal(c.Attrs, want) {
			t.Errorf("ui: %+v", c)
		}
	}
}

func TestMarkCompleted(t *testing.T) {
	setup := beadsDaemon("setup", func(d *schema.Daemon) {
		d.Command, d.Args, d.Interval, d.Restart.Policy = "migrate", []string{"up"}, 0, agentapi.PolicyOnce
	})
	web := beadsDaemon("web", func(d *schema.Daemon) { d.Command, d.Interval = "node", 0 })
	st := applied("", setup, web)
	cfg := config("", setup, web)
	specs := []agentapi.Spec{{Name: "setup"}, {Name: "web"}}
	MarkCompleted(st, cfg, specs)
	if specs[0].Completed || specs[1].Completed {
		t.Errorf("marked without a recorded completion: %+v", specs)
	}
	s := st.Daemons["setup"]
	s.CompletedAt = time.Now()
	st.Daemons["setup"] = s
	MarkCompleted(st, cfg, specs)
	if !specs[0].Completed || specs[1].Completed {
		t.Errorf("want setup marked only: %+v", specs)
	}
}

// TestTargetTakesDependencies: -target ui brings api and db (it waits for them).
func TestTargetTakesDependencies(t *testing.T) {
	ds := stack(nil)
	names, err := TargetNames(config("", ds...), &Live{State: &State{}}, []string{"ui"})
	if err != nil || !cmp.Equal(names, []string{"api", "db", "ui"}) {
		t.Errorf("targets %v, %v", names, err)
	}
	if names, _ := TargetNames(config("", ds...), &Live{State: &State{}}, []string{"db"}); !cmp.Equal(names, []string{"db"}) {
		t.Errorf("a dependency alone takes no dependent: %v", names)
	}
}
