package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beadsctl/beadsctl/internal/pm2"
	"github.com/beadsctl/beadsctl/schema"
)

// TestChooseProfile: the profile chosen, else the --env PM2 ran the app
// with, else the one applied last, else none.
func TestChooseProfile(t *testing.T) {
	applied := t.TempDir()
	if err := os.MkdirAll(filepath.Join(applied, ".beadsctl"), 0o700); err != nil {
		t.Fatal(err)
	}
	state := `{"format_version":1,"lineage":"l","serial":1,"env":"staging","daemons":{}}`
	if err := os.WriteFile(filepath.Join(applied, ".beadsctl", "state.json"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	fromPM2 := &OldDaemon{Manager: "pm2", App: "beads-daemon", Env: "production"}
	tests := map[string]struct {
		o         Options
		old       *OldDaemon
		name, why string
	}{
		"chosen wins over PM2":  {o: Options{ProfileSet: true, ProfileSource: "--no-env"}, old: fromPM2, name: "", why: "chosen with --no-env"},
		"PM2's --env":           {old: fromPM2, name: "production", why: "PM2 ran it with --env production"},
		"PM2 without --env":     {old: &OldDaemon{Manager: "pm2"}, why: "PM2 ran it without --env"},
		"background, applied":   {o: Options{Dir: applied}, old: &OldDaemon{Manager: "background"}, name: "staging", why: "applied last"},
		"nothing, nothing seen": {o: Options{Dir: t.TempDir()}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			n, why := chooseProfile(tt.o, Detection{Old: tt.old})
			if n != tt.name || why != tt.why {
				t.Errorf("chooseProfile = %q, %q; want %q, %q", n, why, tt.name, tt.why)
			}
		})
	}
	err := checkProfile(&schema.Config{Path: "/p/beads.hcl", Profiles: []string{"development"}}, "production", "PM2 ran it with --env production")
	want := `PM2 ran it with --env production, but /p/beads.hcl declares no profile "production" (it declares development): add env "production" { ... } to it, or choose one with --env NAME (--no-env for the base blocks)`
	if err == nil || err.Error() != want {
		t.Errorf("checkProfile: %v\nwant %s", err, want)
	}
	if err := checkProfile(&schema.Config{Profiles: []string{"production"}}, "production", ""); err != nil {
		t.Errorf("a declared profile: %v", err)
	}
}

// TestEnvStep compares what the new daemon gets with what PM2 gave the app,
// never showing a sensitive value.
func TestEnvStep(t *testing.T) {
	old := &OldDaemon{App: "web", Env: "production", pm2: &pm2.App{
		Env:      map[string]string{"PATH": "/bin", "NODE_ENV": "production", "API_TOKEN": "s3cret", "PORT": "3000"},
		Profiles: map[string]map[string]string{"production": {"NODE_ENV": "production", "PORT": "3000"}},
	}}
	d := &schema.Daemon{Name: "web", Environment: map[string]string{"NODE_ENV": "production", "API_TOKEN": "s3cret"}, Sensitive: []string{"API_TOKEN"}}
	s := envStep(old, d, false)
	want := `daemon "web" got another environment than PM2 gave "web", as beads.hcl and the profile say: PORT (PM2 3000, beads.hcl unset); the same: API_TOKEN=(sensitive), NODE_ENV=production`
	if s.Detail != want || !s.OK {
		t.Errorf("envStep:\n%s\nwant\n%s", s.Detail, want)
	}
	if strings.Contains(s.Detail, "s3cret") || strings.Contains(s.Detail, "PATH") {
		t.Errorf("envStep shows a sensitive value or the shell's environment: %s", s.Detail)
	}
}
