package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const depsBase = `daemon "db" {
  command = "dolt"
  health {
    check   = "tcp"
    address = "127.0.0.1:3307"
  }
}
daemon "init" {
  command = "bd"
  restart { policy = "once" }
}
daemon "ui" {
  command = "bdui"
  depends_on "db" {
    condition  = "healthy"
    on_restart = "restart"
  }
  depends_on "init" { condition = "completed_successfully" }
}
daemon "mail" {
  command = "mail"
  depends_on "ui" {}
}
env "lean" {
  daemon "ui" {
    depends_on "db" { condition = "started" }
  }
  daemon "mail" {
    depends_on "db" {}
  }
}
`

func TestLoadDependsOn(t *testing.T) {
	ignore := cmpopts.IgnoreFields(Dependency{}, "Range")
	cfg, diags := loadSrc(t, depsBase, "")
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diagLines(diags))
	}
	byName := map[string]Daemon{}
	for _, d := range cfg.Daemons {
		byName[d.Name] = d
	}
	want := []Dependency{
		{Daemon: "db", Condition: CondHealthy, OnRestart: OnRestartRestart},
		{Daemon: "init", Condition: CondCompleted, OnRestart: OnRestartIgnore},
	}
	if diff := cmp.Diff(want, byName["ui"].DependsOn, ignore); diff != "" {
		t.Errorf("ui depends on (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Dependency{{Daemon: "ui", Condition: CondStarted, OnRestart: OnRestartIgnore}}, byName["mail"].DependsOn, ignore); diff != "" {
		t.Errorf("mail depends on (-want +got):\n%s", diff)
	}
	if got := byName["ui"].DependsOn[0].Range; got.Start.Line != 14 || got.Start.Column != 14 {
		t.Errorf("range of depends_on \"db\": %v", got)
	}
	if diff := cmp.Diff([][]string{{"db", "init"}, {"ui"}, {"mail"}}, StartOrder(cfg.Daemons)); diff != "" {
		t.Errorf("start order (-want +got):\n%s", diff)
	}
	hash := byName["ui"].Hash

	// A profile changes a condition field by field and adds a dependency.
	cfg, diags = loadSrc(t, depsBase, "lean")
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diagLines(diags))
	}
	for _, d := range cfg.Daemons {
		byName[d.Name] = d
	}
	want[0].Condition = CondStarted
	if diff := cmp.Diff(want, byName["ui"].DependsOn, ignore); diff != "" {
		t.Errorf("lean: ui depends on (-want +got):\n%s", diff)
	}
	if got := len(byName["mail"].DependsOn); got != 2 {
		t.Errorf("lean: mail depends on %d daemons, want 2", got)
	}
	if byName["ui"].Hash == hash {
		t.Errorf("a changed condition does not change the hash")
	}
}

func TestLoadDependsOnErrors(t *testing.T) {
	tests := map[string]struct {
		src  string
		want []string
	}{
		"unknown daemon": {
			src:  "daemon \"db\" {\n  command = \"a\"\n}\ndaemon \"ui\" {\n  command = \"b\"\n  depends_on \"dbb\" {}\n}\n",
			want: []string{`6:14: error: Unknown daemon in depends_on; daemon "ui" depends on "dbb", but no daemon "dbb" is declared. Did you mean "db"?`},
		},
		"itself": {
			src:  "daemon \"ui\" {\n  command = \"b\"\n  depends_on \"ui\" {}\n}\n",
			want: []string{`3:14: error: Daemon depends on itself; daemon "ui" cannot depend on itself: it would wait for its own start for ever (cycle ui -> ui).`},
		},
		"cycle of three": {
			src: "daemon \"a\" {\n  command = \"x\"\n  depends_on \"b\" {}\n}\ndaemon \"b\" {\n  command = \"x\"\n  depends_on \"c\" {}\n}\n" +
				"daemon \"c\" {\n  command = \"x\"\n  depends_on \"a\" {}\n}\n",
			want: []string{`11:14: error: Dependency cycle; These daemons depend on each other in a cycle: a -> b -> c -> a. None of them could start first; remove one of these depends_on blocks.`},
		},
		"healthy without a check": {
			src:  "daemon \"db\" {\n  command = \"a\"\n}\ndaemon \"ui\" {\n  command = \"b\"\n  depends_on \"db\" {\n    condition = \"healthy\"\n  }\n}\n",
			want: []string{`6:14: error: Dependency has no health check; condition = "healthy" waits for daemon "db"'s health check to pass, and it has none: add a health block to "db" (check = "http", "tcp", "exec", "sql"), or wait for condition = "started".`},
		},
		"completed of an always daemon": {
			src:  "daemon \"db\" {\n  command = \"a\"\n}\ndaemon \"ui\" {\n  command = \"b\"\n  depends_on \"db\" {\n    condition = \"completed_successfully\"\n  }\n}\n",
			want: []string{`6:14: error: Dependency never completes; condition = "completed_successfully" waits for daemon "db" to exit 0 and stay stopped, but its restart.policy is "always": it is started again after every exit. A setup step runs with restart { policy = "once" }.`},
		},
		"bad condition": {
			src:  "daemon \"db\" {\n  command = \"a\"\n}\ndaemon \"ui\" {\n  command = \"b\"\n  depends_on \"db\" {\n    condition = \"process_healthy\"\n  }\n}\n",
			want: []string{`7:17: error: Invalid value for depends_on.db.condition; "process_healthy" is not one of "started", "healthy" or "completed_successfully". Did you mean "healthy"? (process-compose's process_ and Compose's service_ prefixes are left out here.)`},
		},
		"duplicate": {
			src:  "daemon \"db\" {\n  command = \"a\"\n}\ndaemon \"ui\" {\n  command = \"b\"\n  depends_on \"db\" {}\n  depends_on \"db\" {}\n}\n",
			want: []string{`7:3: error: Duplicate depends_on block; Only one depends_on "db" block is allowed here; the first one is at beads.hcl:6:3.`},
		},
		"no label": {
			src:  "daemon \"db\" {\n  command = \"a\"\n}\ndaemon \"ui\" {\n  command = \"b\"\n  depends_on {}\n}\n",
			want: []string{`6:14: error: Missing name for depends_on; All depends_on blocks must have 1 labels (name).`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := loadSrc(t, tc.src, "")
			if diff := cmp.Diff(tc.want, diagLines(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
