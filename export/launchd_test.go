package export

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"howett.net/plist"
)

// TestLaunchdParse parses every generated plist back with a plist library
// and compares it with the expected dictionary.
func TestLaunchdParse(t *testing.T) {
	tests := map[string]struct {
		outDir string
		want   map[string]map[string]any
		modes  map[string]uint32
	}{
		"stdout": {
			want: map[string]map[string]any{
				"com.beadsctl.web.plist": {
					"Label":                "com.beadsctl.web",
					"ProgramArguments":     []any{"/usr/local/bin/node", "server.js", "--greeting", `say "hi" $USER 100% \o/`, "", "it's", ";", "tab\there"},
					"WorkingDirectory":     "/srv/odd dir/100%",
					"EnvironmentVariables": map[string]any{"PLAIN": "a b $HOME 50%"},
					"RunAtLoad":            true,
					"KeepAlive":            map[string]any{"SuccessfulExit": false},
					"ThrottleInterval":     uint64(2),
					"ExitTimeOut":          uint64(10),
					"StandardOutPath":      "/srv/odd dir/100%/logs/web.out.log",
					"StandardErrorPath":    "/srv/odd dir/100%/logs/web.err.log",
				},
				"com.beadsctl.worker.plist": {
					"Label":            "com.beadsctl.worker",
					"ProgramArguments": []any{"/opt/bin/worker"},
					"WorkingDirectory": "/srv/odd dir/100%",
					"RunAtLoad":        true,
					"KeepAlive":        false,
					"ExitTimeOut":      uint64(3),
				},
			},
			modes: map[string]uint32{"com.beadsctl.web.plist": 0o644, "com.beadsctl.worker.plist": 0o644},
		},
		"out dir": {
			outDir: "/Library/LaunchDaemons",
			want: map[string]map[string]any{
				"com.beadsctl.web.plist": {
					"Label":            "com.beadsctl.web",
					"ProgramArguments": []any{"/usr/local/bin/node", "server.js", "--greeting", `say "hi" $USER 100% \o/`, "", "it's", ";", "tab\there"},
					"WorkingDirectory": "/srv/odd dir/100%",
					"EnvironmentVariables": map[string]any{
						"PLAIN": "a b $HOME 50%", "API_TOKEN": "s3cr3t 'quoted' $x", "DB_PASSWORD": "hunter2",
					},
					"RunAtLoad":         true,
					"KeepAlive":         map[string]any{"SuccessfulExit": false},
					"ThrottleInterval":  uint64(2),
					"ExitTimeOut":       uint64(10),
					"StandardOutPath":   "/srv/odd dir/100%/logs/web.out.log",
					"StandardErrorPath": "/srv/odd dir/100%/logs/web.err.log",
				},
				"com.beadsctl.worker.plist": {
					"Label":            "com.beadsctl.worker",
					"ProgramArguments": []any{"/opt/bin/worker"},
					"WorkingDirectory": "/srv/odd dir/100%",
					"RunAtLoad":        true,
					"KeepAlive":        false,
					"ExitTimeOut":      uint64(3),
				},
			},
			modes: map[string]uint32{"com.beadsctl.web.plist": 0o600, "com.beadsctl.worker.plist": 0o644},
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
			if job.Label != "com.beadsctl.beads" {
				t.Errorf("Label = %q", job.Label)
			}
		})
	}
}
