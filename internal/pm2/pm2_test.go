package pm2

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// template is one of the init scripts of the PM2 that `make pm2` installs,
// filled in as `pm2 startup` fills it (lib/API/Startup.js).
func template(t *testing.T, name, user, home string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", ".tools/pm2/node_modules/pm2/lib/templates/init-scripts", name+".tpl"))
	if err != nil {
		t.Fatalf("PM2's %s template (run make pm2): %v", name, err)
	}
	return strings.NewReplacer("%PM2_PATH%", "/usr/lib/node_modules/pm2/bin/pm2", "%NODE_PATH%", "/usr/bin:/bin",
		"%USER%", user, "%HOME_PATH%", filepath.Join(home, ".pm2"), "%SERVICE_NAME%", "pm2-"+user).Replace(string(b))
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStartupHooks finds the hooks `pm2 startup` installs, from PM2's own
// templates, where it writes them; another user's hook is told apart by its
// PM2_HOME, and a unit that does not resurrect is no hook.
func TestStartupHooks(t *testing.T) {
	root, home := t.TempDir(), "/home/ann"
	sys := filepath.Join(root, "etc/systemd/system")
	write(t, filepath.Join(sys, "pm2-ann.service"), template(t, "systemd", "ann", home))
	if err := os.MkdirAll(filepath.Join(sys, "multi-user.target.wants"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../pm2-ann.service", filepath.Join(sys, "multi-user.target.wants/pm2-ann.service")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(sys, "pm2-bob.service"), template(t, "systemd-online", "bob", "/home/bob"))
	write(t, filepath.Join(sys, "nginx.service"), "[Service]\nExecStart=/usr/sbin/nginx\n")
	userHome := filepath.Join(root, "Users/ann")
	write(t, filepath.Join(userHome, "Library/LaunchAgents/pm2.ann.plist"), template(t, "launchd", "ann", home))
	write(t, filepath.Join(root, "etc/init.d/pm2-ann"), template(t, "upstart", "ann", home))

	got := ForHome(StartupHooks(root, userHome), filepath.Join(home, ".pm2"))
	for i := range got {
		got[i].Path = strings.TrimPrefix(got[i].Path, root)
	}
	want := []Hook{
		{Init: "systemd", Path: "/etc/systemd/system/pm2-ann.service", Enabled: true, Home: "/home/ann/.pm2", Remove: "pm2 unstartup systemd -u ann"},
		{Init: "launchd", Path: "/Users/ann/Library/LaunchAgents/pm2.ann.plist", Enabled: true, Home: "/home/ann/.pm2", Remove: "pm2 unstartup launchd -u ann"},
		{Init: "upstart", Path: "/etc/init.d/pm2-ann", Enabled: true, Home: "/home/ann/.pm2", Remove: "pm2 unstartup upstart"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
	if all := StartupHooks(root, userHome); len(all) != 4 || all[1].Enabled || all[1].Home != "/home/bob/.pm2" {
		t.Errorf("bob's hook (not enabled) is not seen as such: %+v", all)
	}
}

// TestRemoveFromDump removes one app from a saved list and keeps every other
// entry byte for byte, with the old list as dump.pm2.bak.
func TestRemoveFromDump(t *testing.T) {
	home := t.TempDir()
	dump := `[
  {"name": "web", "pm_cwd": "/srv/web", "pm_exec_path": "/usr/bin/node", "args": ["server.js"], "env": {"PORT": "80"}},
  {"name": "beads-daemon", "pm_cwd": "/srv/proj", "pm_exec_path": "/usr/local/bin/bd", "args": "daemon --start"}
]`
	write(t, DumpPath(home), dump)
	apps, err := ReadDump(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[1].Name != "beads-daemon" || !cmp.Equal(apps[1].Args, []string{"daemon", "--start"}) || apps[1].ID != -1 {
		t.Fatalf("ReadDump: %+v", apps)
	}
	removed, err := RemoveFromDump(home, func(a App) bool { return a.Cwd == "/srv/proj" })
	if err != nil || !cmp.Equal(removed, []string{"beads-daemon"}) {
		t.Fatalf("removed %v, %v", removed, err)
	}
	left, err := ReadDump(home)
	if err != nil || len(left) != 1 || left[0].Name != "web" {
		t.Fatalf("left %+v, %v", left, err)
	}
	b, _ := os.ReadFile(DumpPath(home))
	if !strings.Contains(string(b), `"env": {"PORT": "80"}`) && !strings.Contains(string(b), `"PORT": "80"`) {
		t.Errorf("the other entry changed:\n%s", b)
	}
	bak, _ := os.ReadFile(DumpPath(home) + ".bak")
	if string(bak) != dump {
		t.Errorf("dump.pm2.bak is not the old list:\n%s", bak)
	}
	// Nothing left to remove: the files stay as they are.
	if removed, err := RemoveFromDump(home, func(a App) bool { return a.Cwd == "/srv/proj" }); err != nil || removed != nil {
		t.Errorf("second removal: %v, %v", removed, err)
	}
	if got, _ := ReadDump(t.TempDir()); got != nil {
		t.Errorf("no dump: %v", got)
	}
}

func TestHome(t *testing.T) {
	for name, tt := range map[string]struct {
		env  []string
		want string
	}{
		"PM2_HOME": {[]string{"HOME=/h", "PM2_HOME=/p"}, "/p"},
		"HOME":     {[]string{"HOME=/h"}, "/h/.pm2"},
		"none":     {nil, ""},
	} {
		if got := Home(tt.env); got != tt.want {
			t.Errorf("%s: Home = %q, want %q", name, got, tt.want)
		}
	}
}

// jlistEntry is one `pm2 jlist` entry as PM2 7 writes it (trimmed): pm2_env
// keeps the file's env_NAME objects, and pm2_env.env the environment the app
// got (the shell's, env, and env_NAME of --env NAME over it).
func jlistEntry(env, profiles string) string {
	return `[{"pid":42,"name":"beads-daemon","pm_id":0,"pm2_env":{"name":"beads-daemon","pm_exec_path":"/usr/bin/bd",` +
		`"pm_cwd":"/p","args":["daemon","--start"],"status":"online","env_file":".env",` + profiles + `,"env":` + env + `}}]`
}

// TestStartedEnv tells the --env PM2 started an app with from its list.
func TestStartedEnv(t *testing.T) {
	seed := `"env_development":{"NODE_ENV":"development"},"env_production":{"NODE_ENV":"production"}`
	tests := map[string]struct {
		env, profiles string
		want          string
		ties          []string
	}{
		"--env production": {env: `{"PATH":"/bin","BD_AUTO_START_DAEMON":"true","NODE_ENV":"production"}`, profiles: seed, want: "production"},
		"no --env":         {env: `{"PATH":"/bin","BD_AUTO_START_DAEMON":"true"}`, profiles: seed},
		"a value differs":  {env: `{"NODE_ENV":"test"}`, profiles: seed},
		"numbers and booleans as the process gets them": {env: `{"PORT":"3000","DEBUG":"true"}`,
			profiles: `"env_production":{"PORT":3000,"DEBUG":true}`, want: "production"},
		"a subset tells nothing": {env: `{"NODE_ENV":"production","API":"https://api"}`,
			profiles: `"env_staging":{"NODE_ENV":"production"},"env_production":{"NODE_ENV":"production","API":"https://api"}`, want: "production"},
		"two fit alike": {env: `{"NODE_ENV":"production"}`,
			profiles: `"env_production":{"NODE_ENV":"production"},"env_prod":{"NODE_ENV":"production"}`, want: "prod", ties: []string{"production"}},
		"an empty profile never fits": {env: `{"NODE_ENV":"production"}`, profiles: `"env_empty":{}`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			apps, err := ParseList([]byte(jlistEntry(tt.env, tt.profiles)))
			if err != nil {
				t.Fatal(err)
			}
			got, ties := apps[0].StartedEnv()
			if got != tt.want || !slices.Equal(ties, tt.ties) {
				t.Errorf("StartedEnv() = %q, ties %q; want %q, ties %q", got, ties, tt.want, tt.ties)
			}
			if apps[0].Profiles["file"] != nil {
				t.Error("env_file (a path) read as a profile")
			}
		})
	}
}
