package reconcile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

// online is the agent's status of d running as applied in st.
func online(st *State, d schema.Daemon) agentapi.Status {
	s := st.Daemons[d.Name]
	return agentapi.Status{Name: d.Name, State: agentapi.StateOnline, Pid: s.Pid, StartTime: s.StartTime,
		Argv: s.Argv, Dir: s.Dir, EnvHash: s.EnvHash, SpecHash: s.Hash}
}

func agentUp(st *State, ss ...agentapi.Status) *Live {
	l := &Live{State: st, AgentUp: true, Agent: agentapi.AgentStatus{Pid: 7}, Daemons: map[string]agentapi.Status{}}
	for _, s := range ss {
		l.Daemons[s.Name] = s
	}
	return l
}

// short form of a change for table tests.
type got struct {
	Name    string
	Actions []Action
	Reason  string
	Attrs   []string
	Start   bool
}

func summarize(p *Plan) []got {
	var out []got
	for _, c := range p.Changes {
		g := got{Name: c.Name, Actions: c.Actions, Reason: c.Reason, Start: c.Start}
		for _, a := range c.Attributes {
			s := a.Path + ": " + deref(a.Before) + " -> " + deref(a.After)
			if a.ForcesRestart {
				s += " (forces restart)"
			}
			g.Attrs = append(g.Attrs, s)
		}
		out = append(out, g)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func TestComputePlan(t *testing.T) {
	beads := beadsDaemon("beads")
	web := beadsDaemon("web", func(d *schema.Daemon) { d.Command, d.Args, d.Interval = "node", []string{"server.js"}, 0 })
	slower := beadsDaemon("beads", func(d *schema.Daemon) { d.Interval = 10 * time.Second })
	bigger := beadsDaemon("beads", func(d *schema.Daemon) { d.Limits.Memory = 300 << 20 })
	prod := beadsDaemon("beads", func(d *schema.Daemon) { d.Environment["NODE_ENV"] = "production" })
	secret := beadsDaemon("beads", func(d *schema.Daemon) { d.Environment["TOKEN"] = "new"; d.Sensitive = []string{"TOKEN"} })
	oldSecret := beadsDaemon("beads", func(d *schema.Daemon) { d.Environment["TOKEN"] = "old"; d.Sensitive = []string{"TOKEN"} })
	st := applied("", beads)
	dev := beadsDaemon("beads", func(d *schema.Daemon) { d.Environment["NODE_ENV"] = "development" })
	// devRuns runs dev as applied; hashedDev as a beadsctl before
	// EnvPlain recorded it (NODE_ENV as a keyed hash only).
	devRuns := func(hashed bool) *Live {
		s := applied("", dev)
		if hashed {
			s = hashedAll(s)
		}
		return agentUp(s, online(s, dev))
	}
	// digest is a value that looks like one of state's hashes.
	digest := beadsDaemon("beads", func(d *schema.Daemon) { d.Environment["IMAGE"] = "sha256:" + strings.Repeat("ab", 32) })

	tests := map[string]struct {
		desired *schema.Config
		live    *Live
		want    []got
	}{
		"fresh, agent down": {
			desired: config("", beads, web),
			live:    &Live{State: &State{}},
			want:    []got{{Name: "beads", Actions: []Action{ActionCreate}}, {Name: "web", Actions: []Action{ActionCreate}}},
		},
		"in sync": {
			desired: config("", beads),
			live:    agentUp(st, online(st, beads)),
			want:    []got{{Name: "beads", Actions: []Action{ActionNoop}}},
		},
		"interval forces a restart": {
			desired: config("", slower),
			live:    agentUp(st, online(st, beads)),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "interval changed, which forces a restart",
				Attrs: []string{`interval: "5s" -> "10s" (forces restart)`}}},
		},
		"memory limit in place": {
			desired: config("", bigger),
			live:    agentUp(st, online(st, beads)),
			want: []got{{Name: "beads", Actions: []Action{ActionUpdate},
				Attrs: []string{`limits.memory: "200M" -> "300M"`}}},
		},
		"environment added": {
			desired: config("production", prod),
			live:    agentUp(st, online(st, beads)),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "environment.NODE_ENV changed, which forces a restart",
				Attrs: []string{`environment.NODE_ENV: null -> "production" (forces restart)`}}},
		},
		"value changed: old -> new": {
			desired: config("production", prod),
			live:    devRuns(false),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "environment.NODE_ENV changed, which forces a restart",
				Attrs: []string{`environment.NODE_ENV: "development" -> "production" (forces restart)`}}},
		},
		"value removed: old -> null": {
			desired: config("", beads),
			live:    devRuns(false),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "environment.NODE_ENV changed, which forces a restart",
				Attrs: []string{`environment.NODE_ENV: "development" -> null (forces restart)`}}},
		},
		"a value that looks like a hash is a value": {
			desired: config("", digest),
			live: func() *Live {
				s := applied("", digest)
				return agentUp(s, online(s, digest))
			}(),
			want: []got{{Name: "beads", Actions: []Action{ActionNoop}}},
		},
		"value changed, the old one recorded as a hash": {
			desired: config("production", prod),
			live:    devRuns(true),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "environment.NODE_ENV changed, which forces a restart",
				Attrs: []string{`environment.NODE_ENV: (changed) -> "production" (forces restart)`}}},
		},
		"value changed, the old one known (a state before values were hashed)": {
			desired: config("production", prod),
			live: func() *Live {
				s := applied("", dev)
				ds := s.Daemons["beads"]
				ds.EnvPlain = false // as written before values were hashed: no hash prefix
				s.Daemons["beads"] = ds
				return agentUp(s, online(s, dev))
			}(),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "environment.NODE_ENV changed, which forces a restart",
				Attrs: []string{`environment.NODE_ENV: "development" -> "production" (forces restart)`}}},
		},
		"value removed, the old one recorded as a hash": {
			desired: config("", beads),
			live:    devRuns(true),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "environment.NODE_ENV changed, which forces a restart",
				Attrs: []string{`environment.NODE_ENV: (not recorded) -> null (forces restart)`}}},
		},
		"sensitive value changed": {
			desired: config("", secret),
			live: func() *Live {
				s := applied("", oldSecret)
				return agentUp(s, online(s, oldSecret))
			}(),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "environment.TOKEN changed, which forces a restart",
				Attrs: []string{`environment.TOKEN: (sensitive) -> (sensitive) (forces restart)`}}},
		},
		"removed from the file": {
			desired: config("", web),
			live: func() *Live {
				s := applied("", beads, web)
				return agentUp(s, online(s, beads), online(s, web))
			}(),
			want: []got{
				{Name: "beads", Actions: []Action{ActionDelete}, Reason: "removed from beads.hcl"},
				{Name: "web", Actions: []Action{ActionNoop}},
			},
		},
		"bd version mismatch": {
			desired: config("", beads),
			live: func() *Live {
				l := agentUp(st, online(st, beads))
				l.Beads = map[string]BeadsLive{"beads": {Installed: "0.28.0", Running: "0.26.0"}}
				return l
			}(),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "bd 0.28.0 installed, daemon runs 0.26.0"}},
		},
		"argv changed under us": {
			desired: config("", beads),
			live: func() *Live {
				s := online(st, beads)
				s.Argv = []string{"bd", "daemon"}
				return agentUp(st, s)
			}(),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate},
				Reason: `argv changed under us: ["bd" "daemon"], applied ["bd" "daemon" "--start" "--foreground" "--interval" "5s"]`}},
		},
		"errored": {
			desired: config("", beads),
			live: func() *Live {
				s := online(st, beads)
				s.State, s.Reason = agentapi.StateErrored, "10 unstable restarts"
				return agentUp(st, s)
			}(),
			want: []got{{Name: "beads", Actions: []Action{ActionDelete, ActionCreate}, Reason: "daemon errored: 10 unstable restarts"}},
		},
		"agent killed": {
			desired: config("", beads),
			live:    &Live{State: st},
			want:    []got{{Name: "beads", Actions: []Action{ActionCreate}, Reason: "the agent is not running"}},
		},
		"stopped on purpose": {
			desired: config("", beads),
			live: func() *Live {
				s := applied("", beads)
				ds := s.Daemons["beads"]
				ds.Stopped = true
				s.Daemons["beads"] = ds
				a := online(s, beads)
				a.State, a.Stopped, a.Pid = agentapi.StateStopped, true, 0
				return agentUp(s, a)
			}(),
			want: []got{{Name: "beads", Actions: []Action{ActionCreate}, Start: true, Reason: "stopped on purpose (beadsctl stop); apply starts it"}},
		},
		"running without state is adopted": {
			desired: config("", beads),
			live:    agentUp(&State{}, agentapi.Status{Name: "beads", State: agentapi.StateOnline, Pid: 9, SpecHash: beads.Hash}),
			want:    []got{{Name: "beads", Actions: []Action{ActionNoop}, Reason: "running as declared; apply records it in state"}},
		},
		"unknown daemon in the agent": {
			desired: config(""),
			live:    agentUp(&State{}, agentapi.Status{Name: "old", State: agentapi.StateOnline, Pid: 9}),
			want:    []got{{Name: "old", Actions: []Action{ActionDelete}, Reason: "removed from beads.hcl"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := ComputePlan(tc.desired, tc.live)
			if diff := cmp.Diff(tc.want, summarize(p)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if again := ComputePlan(tc.desired, tc.live); !cmp.Equal(p, again) {
				t.Errorf("not deterministic:\n%s", cmp.Diff(p, again))
			}
		})
	}
}

func TestComputePlanMasksSecrets(t *testing.T) {
	d := beadsDaemon("beads", func(d *schema.Daemon) { d.Environment["TOKEN"] = "s3cret"; d.Sensitive = []string{"TOKEN"} })
	p := ComputePlan(config("", d), &Live{State: &State{}})
	if got := p.Changes[0].After.Environment["TOKEN"]; got != Sensitive {
		t.Errorf("after shows TOKEN = %q", got)
	}
	if d.Environment["TOKEN"] != "s3cret" {
		t.Error("ComputePlan changed its input")
	}
}

func TestPlanSummaryAndDrift(t *testing.T) {
	beads := beadsDaemon("beads")
	st := applied("", beads)
	l := agentUp(st, online(st, beads))
	l.Beads = map[string]BeadsLive{"beads": {Installed: "0.28.0", Running: "0.28.0",
		Unmanaged: &Unmanaged{Pid: 4242, Version: "0.26.0", Via: "daemon.lock", Workspace: "/p"}}}
	p := ComputePlan(config("", beads, beadsDaemon("web")), l)
	start, upd, restart, stop := p.Summary()
	if diff := cmp.Diff([4]int{1, 0, 0, 0}, [4]int{start, upd, restart, stop}); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	want := []Finding{{Kind: KindUnmanaged, Daemon: "beads", Expected: "no bd daemon but ours in /p",
		Actual: "unmanaged bd daemon pid 4242, version 0.26.0, socket /p/.beads/bd.sock (seen via daemon.lock)"}}
	if diff := cmp.Diff(want, p.Blocking()); diff != "" {
		t.Errorf("blocking (-want +got):\n%s", diff)
	}
	if !p.HasChanges() {
		t.Error("HasChanges = false")
	}
}

func BenchmarkComputePlan(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var ds []schema.Daemon
			for i := range n {
				ds = append(ds, beadsDaemon(fmt.Sprintf("d%04d", i)))
			}
			st := applied("", ds...)
			var ss []agentapi.Status
			for _, d := range ds {
				ss = append(ss, online(st, d))
			}
			// A tenth of the daemons changed in the file.
			desired := config("", ds...)
			for i := 0; i < n; i += 10 {
				desired.Daemons[i] = beadsDaemon(ds[i].Name, func(d *schema.Daemon) { d.Limits.Memory = 300 << 20 })
			}
			live := agentUp(st, ss...)
			b.ResetTimer()
			for b.Loop() {
				ComputePlan(desired, live)
			}
		})
	}
}

// TestAttributes: a spec's attributes as plan shows a start and show shows a
// spec: shell redirections in args as written (json.Marshal wrote
// "2\u003e\u00261"), a sensitive value masked, a value state.json recorded
// as a keyed hash (a state before environment_plain) shown as Hashed, and a
// plain value that looks like a hash shown as it is (show called an image
// digest "(hashed in state)").
func TestAttributes(t *testing.T) {
	d := beadsDaemon("web", func(d *schema.Daemon) {
		d.Command, d.Args, d.Interval = "sh", []string{"-c", "serve 2>&1 | tee <in"}, 0
		d.Environment = map[string]string{"PORT": "80", "TOKEN": "x", "MODE": keyedPrefix + "0123abcd", "IMAGE": "sha256:beef"}
		d.Sensitive = []string{"TOKEN"}
	})
	for _, hashed := range []bool{false, true} {
		got := map[string]string{}
		for _, a := range Attributes(&d, hashed) {
			got[a.Path] = deref(a.After)
		}
		want := map[string]string{
			"args":              `["-c","serve 2>&1 | tee <in"]`,
			"environment.PORT":  `"80"`,
			"environment.TOKEN": Sensitive,
			"environment.MODE":  `"` + keyedPrefix + `0123abcd"`,
			"environment.IMAGE": `"sha256:beef"`,
		}
		if hashed {
			want["environment.PORT"], want["environment.MODE"], want["environment.IMAGE"] = Hashed, Hashed, Hashed
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("hashed env %v: %s = %s, want %s", hashed, k, got[k], v)
			}
		}
	}
}
