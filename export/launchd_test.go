package export

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"howett.net/plist"
)

// TestLaunchdParse parses every generated plist back with a plist library
// and compares it with the expected dictionary.
func TestLaunchdParse(t *testing.T) {
	webL, workerL := LaunchdLabel("/srv/odd dir/100%", "web"), LaunchdLabel("/srv/odd dir/100%", "worker")
	const stdPath = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
	tests := map[string]struct {
		outDir string
		want   map[string]map[string]any
		modes  map[string]uint32
	}{
		"stdout": {
			want: map[string]map[string]any{
				webL + ".plist": {
					"Label":                webL,
					"ProgramArguments":     []any{"/usr/local/bin/node", "server.js", "--greeting", `say "hi" $USER 100% \o/`, "", "it's", ";", "tab\there"},
					"WorkingDirectory":     "/srv/odd dir/100%",
					"EnvironmentVariables": map[string]any{"PLAIN": "a b $HOME 50%", "PATH": stdPath},
					"RunAtLoad":            true,
					"KeepAlive":            map[string]any{"SuccessfulExit": false},
					"ThrottleInterval":     uint64(2),
					"ExitTimeOut":          uint64(10),
					"StandardOutPath":      "/srv/odd dir/100%/logs/web.out.log",
					"StandardErrorPath":    "/srv/odd dir/100%/logs/web.err.log",
				},
				workerL + ".plist": {
					"Label":                workerL,
					"ProgramArguments":     []any{"/opt/bin/worker"},
					"WorkingDirectory":     "/srv/odd dir/100%",
					"EnvironmentVariables": map[string]any{"PATH": "/opt/bin:" + stdPath},
					"RunAtLoad":            true,
					"KeepAlive":            false,
					"ExitTimeOut":          uint64(3),
				},
			},
			modes: map[string]uint32{webL + ".plist": 0o644, workerL + ".plist": 0o644},
		},
		"out dir": {
			outDir: "/Library/LaunchDaemons",
			want: map[string]map[string]any{
				webL + ".plist": {
					"Label":            webL,
					"ProgramArguments": []any{"/usr/local/bin/node", "server.js", "--greeting", `say "hi" $USER 100% \o/`, "", "it's", ";", "tab\there"},
					"WorkingDirectory": "/srv/odd dir/100%",
					"EnvironmentVariables": map[string]any{
						"PLAIN": "a b $HOME 50%", "API_TOKEN": "s3cr3t 'quoted' $x", "DB_PASSWORD": "hunter2", "PATH": stdPath,
					},
					"RunAtLoad":         true,
					"KeepAlive":         map[string]any{"SuccessfulExit": false},
					"ThrottleInterval":  uint64(2),
					"ExitTimeOut":       uint64(10),
					"StandardOutPath":   "/srv/odd dir/100%/logs/web.out.log",
					"StandardErrorPath": "/srv/odd dir/100%/logs/web.err.log",
				},
				workerL + ".plist": {
					"Label":                workerL,
					"ProgramArguments":     []any{"/opt/bin/worker"},
					"WorkingDirectory":     "/srv/odd dir/100%",
					"EnvironmentVariables": map[string]any{"PATH": "/opt/bin:" + stdPath},
					"RunAtLoad":            true,
					"KeepAlive":            false,
					"ExitTimeOut":          uint64(3),
				},
			},
			modes: map[string]uint32{webL + ".plist": 0o600, workerL + ".plist": 0o644},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := Launchd(trickyConfig(), LaunchdOptions{Options: Options{LookPath: fakeLookPath, OutDir: tt.outDir}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			modes := map[string]uint32{}
			for _, f := range r.Files {
				var m map[string]any
				format, err := plist.Unmarshal(f.Data, &m)
				if err != nil {
					t.Fatalf("%s does not parse: %v\n%s", f.Name, err, f.Data)
				}
				if format != plist.XMLFormat {
					t.Errorf("%s: format %s, want XML", f.Name, plist.FormatNames[format])
				}
				got[f.Name] = m
				modes[f.Name] = uint32(f.Mode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plists (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.modes, modes); diff != "" {
				t.Errorf("modes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLaunchdKeepAlive(t *testing.T) {
	tests := map[string]struct {
		policy string
		want   any
	}{
		"always":     {policy: "always", want: true},
		"on-failure": {policy: "on-failure", want: map[string]any{"SuccessfulExit": false}},
		"never":      {policy: "never", want: false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := rootConfig("production")
			cfg.Daemons[0].Restart.Policy = tt.policy
			r, err := Launchd(cfg, LaunchdOptions{Options: Options{LookPath: fakeLookPath}})
			if err != nil {
				t.Fatal(err)
			}
			var job struct {
				KeepAlive any
				Label     string
			}
			if _, err := plist.Unmarshal(r.Files[0].Data, &job); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, job.KeepAlive); diff != "" {
				t.Errorf("KeepAlive (-want +got):\n%s", diff)
			}
			if job.Label != "com.beadsctl.project-4f3f91f6.beads" {
				t.Errorf("Label = %q", job.Label)
			}
		})
	}
}

// TestLaunchdAgentParse parses the agent's plist (what beadsctl startup loads
// on macOS) back: the agent restores the applied state, started at load and
// again after a failure, with a PATH that finds beadsctl, bd, git and dolt.
func TestLaunchdAgentParse(t *testing.T) {
	look := func(name string) (string, error) { return "/opt/tools/" + name, nil }
	r, err := Launchd(rootConfig("production"), LaunchdOptions{Options: Options{LookPath: look},
		AgentOptions: AgentOptions{Agent: true, Beadsctl: "/Users/me/bin/beadsctl", Restore: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) != 1 || r.Files[0].Name != "com.beadsctl.agent.project-4f3f91f6.plist" {
		t.Fatalf("files: %+v", r.Files)
	}
	var got map[string]any
	if _, err := plist.Unmarshal(r.Files[0].Data, &got); err != nil {
		t.Fatalf("does not parse: %v\n%s", err, r.Files[0].Data)
	}
	want := map[string]any{
		"Label":                "com.beadsctl.agent.project-4f3f91f6",
		"ProgramArguments":     []any{"/Users/me/bin/beadsctl", "agent", "--foreground", "--dir", "/srv/project", "--restore"},
		"WorkingDirectory":     "/srv/project",
		"EnvironmentVariables": map[string]any{"PATH": "/Users/me/bin:/opt/tools:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		"RunAtLoad":            true,
		"KeepAlive":            map[string]any{"SuccessfulExit": false},
		"ThrottleInterval":     uint64(5),
		"ExitTimeOut":          uint64(15),
		"StandardOutPath":      "/srv/project/.beadsctl/agent.launchd.log",
		"StandardErrorPath":    "/srv/project/.beadsctl/agent.launchd.log",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plist (-want +got):\n%s", diff)
	}
}
