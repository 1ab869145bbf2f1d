package reconcile

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/schema"
)

// TestTarget: a targeted plan keeps its targets' changes, the bd file edits
// made for them and the findings about them (or about no daemon); the other
// daemons with changes or edits are listed as left out; an untargeted rival
// does not block.
func TestTarget(t *testing.T) {
	web := beadsDaemon("web", func(d *schema.Daemon) { d.Command, d.Args, d.Interval = "node", []string{"server.js"}, 0 })
	beads := beadsDaemon("beads")
	bigger := beadsDaemon("beads", func(d *schema.Daemon) { d.Limits.Memory = 300 << 20 })
	dolt := beadsDaemon("dolt", func(d *schema.Daemon) {
		d.Command, d.Args, d.Interval = "dolt", []string{"sql-server"}, 0
		d.Dolt = &schema.DoltServer{DisableBdAutoStart: true, Workspaces: []schema.DoltProject{{Workspace: "/p", BeadsDir: "/p/.beads", BdAutoStart: true}}}
	})
	gone := beadsDaemon("gone")
	st := applied("", beads, gone, dolt)
	live := agentUp(st, online(st, beads), online(st, gone), online(st, dolt))
	live.Beads = map[string]BeadsLive{"beads": {Unmanaged: &Unmanaged{Pid: 42, Via: "daemon.lock", Workspace: "/p"}}}
	desired := config("", bigger, web, dolt)

	tests := map[string]struct {
		targets      []string
		want         []got
		edits        int
		leftOut      []string
		blocking     int
		wantTargets  []string
		wantErr      error
		errIncludes  []string
		errExcludes  []string
		mutateLive   func(*Live)
		mutateConfig func(*schema.Config)
	}{
		"one target": {
			targets:     []string{"web"},
			want:        []got{{Name: "web", Actions: []Action{ActionCreate}}},
			leftOut:     []string{"daemon.beads", "daemon.dolt", "daemon.gone"},
			wantTargets: []string{"daemon.web"},
		},
		"an address, twice; its rival blocks": {
			targets: []string{"daemon.beads", "beads"},
			want: []got{{Name: "beads", Actions: []Action{ActionUpdate},
				Attrs: []string{`limits.memory: "200M" -> "300M"`}}},
			leftOut:     []string{"daemon.dolt", "daemon.gone", "daemon.web"},
			blocking:    1,
			wantTargets: []string{"daemon.beads"},
		},
		"a daemon removed from beads.hcl is stopped": {
			targets:     []string{"gone"},
			want:        []got{{Name: "gone", Actions: []Action{ActionDelete}, Reason: "removed from beads.hcl"}},
			leftOut:     []string{"daemon.beads", "daemon.dolt", "daemon.web"},
			wantTargets: []string{"daemon.gone"},
		},
		"a dolt_server keeps its config.yaml edit": {
			targets:     []string{"dolt"},
			want:        []got{{Name: "dolt", Actions: []Action{ActionNoop}}},
			edits:       1,
			leftOut:     []string{"daemon.beads", "daemon.gone", "daemon.web"},
			wantTargets: []string{"daemon.dolt"},
		},
		"unknown": {
			targets: []string{"nope"},
			wantErr: ErrUnknownTarget,
			errIncludes: []string{`unknown -target "nope": no daemon of that name in /p/beads.hcl`,
				"\n  /p/beads.hcl:1:1: daemon \"beads\"", "\n  /p/beads.hcl:9:1: daemon \"web\"", "daemon.NAME"},
			mutateConfig: func(c *schema.Config) {
				c.Daemons[0].DeclRange = hcl.Range{Filename: "/p/beads.hcl", Start: hcl.Pos{Line: 1, Column: 1}}
				c.Daemons[1].DeclRange = hcl.Range{Filename: "/p/beads.hcl", Start: hcl.Pos{Line: 9, Column: 1}}
			},
		},
		"another profile": {
			targets:      []string{"web"},
			wantErr:      ErrTargetNotPossible,
			errIncludes:  []string{"profile (none)", "profile production"},
			mutateConfig: func(c *schema.Config) { c.Env = "production" },
		},
		"an agent of another version": {
			targets:     []string{"web"},
			wantErr:     ErrTargetNotPossible,
			errIncludes: []string{"the agent runs beadsctl 0.9", "restarting its 3 daemon(s)"},
			mutateLive: func(l *Live) {
				l.Version, l.Agent.Version, l.Agent.API = "1.0", "0.9", agentapi.APIVersion
				l.Agent.Daemons = []agentapi.Status{{Name: "beads"}, {Name: "gone"}, {Name: "dolt"}}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := *desired
			d.Daemons = append([]schema.Daemon(nil), desired.Daemons...)
			l := *live
			if tc.mutateConfig != nil {
				tc.mutateConfig(&d)
			}
			if tc.mutateLive != nil {
				tc.mutateLive(&l)
			}
			p := ComputePlan(&d, &l)
			names, err := TargetNames(&d, &l, tc.targets)
			if err == nil {
				err = Target(p, &d, &l, names)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				for _, s := range tc.errIncludes {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summarize(p)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if len(p.Edits) != tc.edits || len(p.Blocking()) != tc.blocking {
				t.Errorf("edits %d, blocking %d: want %d, %d", len(p.Edits), len(p.Blocking()), tc.edits, tc.blocking)
			}
			if diff := cmp.Diff(tc.leftOut, p.LeftOut); diff != "" {
				t.Errorf("left out (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantTargets, p.Targets); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyTargeted: a targeted apply acts on its targets only and records
// them, leaving the other daemons (running or not) and their state alone,
// and the config hash of the last complete apply.
func TestApplyTargeted(t *testing.T) {
	beads := beadsDaemon("beads")
	bigger := beadsDaemon("beads", func(d *schema.Daemon) { d.Limits.Memory = 300 << 20 })
	web := beadsDaemon("web", func(d *schema.Daemon) { d.Command, d.Args, d.Interval = "node", []string{"server.js"}, 0 })
	f := newFakeAgent()
	st := applied("", beads)
	desired := config("", beads)
	if _, err := converge(t, f, desired, st, true, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	before, hash := st.Daemons["beads"], st.ConfigHash

	desired = config("", bigger, web)
	live := Observe(t.Context(), desired, st, f, Probes{})
	live.AgentUp = true
	p := ComputePlan(desired, live)
	names, err := TargetNames(desired, live, []string{"web"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Target(p, desired, live, names); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	if _, err := applyPlan(t.Context(), desired, p, live, st, f, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"put web", "wait web healthy=true"}, byDaemon(f.calls)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if _, ok := st.Daemons["web"]; !ok {
		t.Error("web not recorded")
	}
	if got := st.Daemons["beads"]; got.Hash != before.Hash || got.Spec.Limits.Memory != 200<<20 {
		t.Errorf("beads recorded as %s (%d bytes), want untouched %s", got.Hash, got.Spec.Limits.Memory, before.Hash)
	}
	if st.ConfigHash != hash {
		t.Error("a targeted apply recorded the config hash of a complete apply")
	}
}
