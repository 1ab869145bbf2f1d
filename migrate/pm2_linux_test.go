package migrate

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedEcosystem is the seed project's PM2 file: PM2 runs the bd simulator as
// beads-daemon from the project folder.
const seedEcosystem = `module.exports = {
  apps: [{
    name: 'beads-daemon',
    script: 'bd',
    args: 'daemon --start --foreground --interval 5s',
    autorestart: true,
    max_memory_restart: '200M',
    kill_timeout: 5000,
    restart_delay: 5000,
    max_restarts: 10,
    min_uptime: 10000,
    out_file: '.beads/pm2-out.log',
    error_file: '.beads/pm2-error.log',
    log_file: '.beads/pm2-combined.log',
    time: true,
    log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
    env: { BD_AUTO_START_DAEMON: 'true' },
    env_development: { NODE_ENV: 'development' },
    env_production: { NODE_ENV: 'production' },
  }],
};
`

// pm2Bin is the PM2 that `make pm2` installs.
func pm2Bin(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../.tools/pm2/node_modules/.bin/pm2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("PM2 is not installed at %s: run `make pm2` (npm install --prefix .tools/pm2 pm2@7)", p)
	}
	return p
}

// buildTools builds beadsctl, beadsctl-tools (which runs migrate), the agent
// (beadsctl-agent, which beadsctl starts) and the bd
// simulator (as bd) into a folder.
func buildTools(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	for out, pkg := range map[string]string{"bd": "../cmd/bdsim", "beadsctl": "../cmd/beadsctl", "beadsctl-agent": "../cmd/beadsctl-agent", "beadsctl-tools": "../cmd/beadsctl-tools"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, out), pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return bin
}

type project struct {
	t   *testing.T
	dir string
	env []string
}

func (p *project) run(wantOK bool, name string, args ...string) string {
	p.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	p.t.Logf("$ %s %s   (%v)\n%s", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out.String())
	if (err == nil) != wantOK {
		p.t.Fatalf("%s %v: err = %v", name, args, err)
	}
	return out.String()
}

// waitFor polls a file for text: the daemon's readiness line.
func waitFor(t *testing.T, path, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: no %q after %v", path, text, timeout)
}

func TestMigrateFromPM2(t *testing.T) {
	pm2 := pm2Bin(t)
	bin := buildTools(t)
	root := t.TempDir()
	dir := filepath.Join(root, "proj")
	home := filepath.Join(root, "home")
	for _, d := range []string{dir, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ecosystem.config.cjs"), []byte(seedEcosystem), 0o644); err != nil {
		t.Fatal(err)
	}
	bdInit(t, dir)
	p := &project{t: t, dir: dir, env: []string{
		"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + home, "PM2_HOME=" + filepath.Join(root, "pm2"),
		"NO_COLOR=1", "BEADSCTL_ENV=", "BEADSCTL_CEILING_DIRECTORIES=" + os.TempDir(),
	}}
	beadsctl := filepath.Join(bin, "beadsctl")
	t.Cleanup(func() {
		p.run(true, beadsctl, "destroy", "--auto-approve")
		p.run(true, pm2, "kill")
	})
	start := time.Now()
	// The repro: PM2 runs the app with --env production (NODE_ENV).
	p.run(true, pm2, "start", "ecosystem.config.cjs", "--env", "production")
	waitFor(t, filepath.Join(dir, ".beads", "daemon.log"), "RPC server ready", 30*time.Second)
	t.Logf("PM2 start to bd ready: %v", time.Since(start).Round(time.Millisecond))
	oldPid := strings.TrimSpace(readFile(t, filepath.Join(dir, ".beads", "daemon.pid")))
	if env := procEnviron(t, oldPid); env["NODE_ENV"] != "production" {
		t.Fatalf("PM2 started the app with NODE_ENV=%q, want production", env["NODE_ENV"])
	}
	// The user saved PM2's list, and `pm2 startup` installed a boot hook
	// (launchd's, which lives in HOME: systemd's is in /etc, TestStartupHooks).
	p.run(true, pm2, "save")
	user := pm2Hook(t, home, filepath.Join(root, "pm2"))

	// Without pm2 on PATH the daemon is seen under PM2's God daemon and left alone.
	out := p.run(false, beadsctl, "migrate")
	if !strings.Contains(out, "runs under PM2") {
		t.Errorf("migrate without pm2 on PATH: want a refusal naming PM2")
	}
	p.env[0] = "PATH=" + filepath.Dir(pm2) + ":" + bin + ":" + os.Getenv("PATH")

	out = p.run(true, beadsctl, "migrate", "--dry-run")
	for _, want := range []string{
		`✓ detect: found PM2 app "beads-daemon" (pm_id 0), bd daemon pid ` + oldPid + `, version 0.28.0, started with --env production (via pm2 jlist)`,
		"• apply: start beads-daemon under beadsctl's agent with profile production (PM2 ran it with --env production)",
		`• environment: daemon "beads-daemon" gets the environment PM2 gave "beads-daemon": BD_AUTO_START_DAEMON=true, NODE_ENV=production`,
		"• write beads.hcl: " + filepath.Join(dir, "beads.hcl") + " from ecosystem.config.cjs (daemons beads-daemon)",
		"• stop old daemon: stop PM2 app \"beads-daemon\"",
		"pm2 delete beads-daemon",
		"• pm2 saved list: " + filepath.Join(root, "pm2", "dump.pm2") + " lists beads-daemon: after the apply, pm2 save --force",
		"• pm2 startup hook: PM2's boot hook " + filepath.Join(home, "Library/LaunchAgents/pm2."+user+".plist") + " (launchd, installed) runs pm2 resurrect at boot",
		"Dry run: nothing was changed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "beads.hcl")); err == nil {
		t.Fatal("--dry-run wrote beads.hcl")
	}
	if !strings.Contains(p.run(true, pm2, "jlist"), `"name":"beads-daemon"`) {
		t.Fatal("--dry-run removed the PM2 app")
	}

	start = time.Now()
	out = p.run(true, beadsctl, "migrate")
	took := time.Since(start)
	for _, want := range []string{
		"✓ write beads.hcl:", "✓ stop old daemon: stopped PM2 app \"beads-daemon\"",
		"✓ clean stale files:", `✓ apply: daemon "beads-daemon" online under beadsctl with profile production (PM2 ran it with --env production): pid`,
		`✓ environment: daemon "beads-daemon" got the environment PM2 gave "beads-daemon": BD_AUTO_START_DAEMON=true, NODE_ENV=production`,
		"✓ verify:", "Migration complete: beadsctl runs the daemon now under profile production",
		"✓ pm2 saved list: pm2 save --force: " + filepath.Join(root, "pm2", "dump.pm2") + " no longer lists beads-daemon",
		"✓ pm2 startup hook: PM2's boot hook " + filepath.Join(home, "Library/LaunchAgents/pm2."+user+".plist") +
			" (launchd, installed) runs pm2 resurrect at boot; PM2 has nothing left to start: remove it with pm2 unstartup launchd -u " + user,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate output lacks %q", want)
		}
	}
	t.Logf("migrate took %v", took.Round(time.Millisecond))
	var apps []map[string]any
	jl := p.run(true, pm2, "jlist")
	if err := json.Unmarshal([]byte(jl[strings.Index(jl, "["):]), &apps); err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a["name"] == "beads-daemon" {
			t.Errorf("PM2 still has beads-daemon: %v", a)
		}
	}
	newPid := strings.TrimSpace(readFile(t, filepath.Join(dir, ".beads", "daemon.pid")))
	if b, err := os.ReadFile("/proc/" + oldPid + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
		t.Errorf("the PM2 daemon pid %s still runs", oldPid)
	}
	if newPid == oldPid {
		t.Errorf("daemon.pid still names the PM2 daemon %s", oldPid)
	}
	// The daemon has the environment PM2 gave it, and the profile sticks.
	if env := procEnviron(t, newPid); env["NODE_ENV"] != "production" || env["BD_AUTO_START_DAEMON"] != "true" {
		t.Errorf("the new daemon runs with NODE_ENV=%q BD_AUTO_START_DAEMON=%q, want production and true (as PM2 gave them)",
			env["NODE_ENV"], env["BD_AUTO_START_DAEMON"])
	}
	if out := p.run(true, beadsctl, "drift"); !strings.Contains(out, "Profile production (applied last") {
		t.Errorf("drift does not say profile production")
	}
	if out := p.run(true, beadsctl, "status"); !regexp.MustCompile(`(?m)^beads-daemon +production +online`).MatchString(out) {
		t.Errorf("status shows no env production")
	}

	// The repro: pm2 save; beadsctl migrate; pm2 resurrect (what the
	// boot hook runs) brought back a PM2 copy. Now nothing comes back, from the
	// PM2 that runs or from a fresh one, as at boot.
	if saved := dumpNames(t, filepath.Join(root, "pm2")); len(saved) != 0 {
		t.Errorf("dump.pm2 still lists %v", saved)
	}
	p.run(true, pm2, "resurrect")
	if names := liveNames(t, p, pm2); len(names) != 0 {
		t.Errorf("pm2 resurrect started %v", names)
	}
	p.run(true, pm2, "kill")
	p.run(true, pm2, "resurrect")
	if names := liveNames(t, p, pm2); len(names) != 0 {
		t.Errorf("pm2 resurrect of a fresh PM2 started %v", names)
	}
	p.run(true, beadsctl, "drift")
	hcl := readFile(t, filepath.Join(dir, "beads.hcl"))
	for _, want := range []string{`daemon "beads-daemon"`, `memory = "200M"`, `env "production"`} {
		if !strings.Contains(hcl, want) {
			t.Errorf("beads.hcl lacks %q:\n%s", want, hcl)
		}
	}

	// PM2 runs the app again beside ours (a pm2 start from habit, or a
	// resurrect of an old list): bd refuses it and PM2 restarts it for ever.
	// migrate again deletes PM2's copy, not ours, and PM2 saves nothing of it
	// (was: "beadsctl already runs the bd daemon; nothing to stop", "no drift",
	// while PM2 kept restarting its copy and drift then reported it).
	p.run(true, pm2, "start", "ecosystem.config.cjs", "--env", "production")
	if names := liveNames(t, p, pm2); !slices.Contains(names, "beads-daemon") {
		t.Fatalf("pm2 start: PM2 lists %v, want beads-daemon", names)
	}
	out = p.run(true, beadsctl, "migrate", "--dry-run")
	if want := `• pm2 copy: pm2 delete 0: PM2 app "beads-daemon" (pm_id 0`; !strings.Contains(out, want) {
		t.Errorf("migrate --dry-run beside a PM2 copy lacks %q", want)
	}
	out = p.run(true, beadsctl, "migrate")
	for _, want := range []string{
		"✓ detect: beadsctl already runs the bd daemon of this workspace; PM2 runs a copy beside it (pm2 copy)",
		`✓ pm2 copy: deleted PM2 app "beads-daemon" (pm_id 0`,
		"a second copy of the workspace's bd daemon that PM2 ran or restarted beside beadsctl's",
		"Migration complete",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate beside a PM2 copy: output lacks %q", want)
		}
	}
	if names := liveNames(t, p, pm2); len(names) != 0 {
		t.Errorf("after migrate PM2 still runs %v", names)
	}
	if pid := strings.TrimSpace(readFile(t, filepath.Join(dir, ".beads", "daemon.pid"))); pid != newPid {
		t.Errorf("daemon.pid is %s after the second migrate, want ours, %s, untouched", pid, newPid)
	}
	if out := p.run(true, beadsctl, "drift"); strings.Contains(out, "pm2:") {
		t.Errorf("drift after the second migrate still reports PM2")
	}
}

// TestMigrateFromPM2KeepsOtherSavedApps: PM2 runs other apps, one saved and
// one not; pm2 save would change the saved list beyond our app, so migrate
// removes only that app from dump.pm2. drift then reports a PM2 that knows the
// app again: in its saved list, then running.
func TestMigrateFromPM2KeepsOtherSavedApps(t *testing.T) {
	pm2 := pm2Bin(t)
	bin := buildTools(t)
	root := t.TempDir()
	dir, home, pm2Home := filepath.Join(root, "proj"), filepath.Join(root, "home"), filepath.Join(root, "pm2")
	for _, d := range []string{dir, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ecosystem.config.cjs"), []byte(seedEcosystem), 0o644); err != nil {
		t.Fatal(err)
	}
	bdInit(t, dir)
	p := &project{t: t, dir: dir, env: []string{
		"PATH=" + filepath.Dir(pm2) + ":" + bin + ":" + os.Getenv("PATH"), "HOME=" + home, "PM2_HOME=" + pm2Home,
		"NO_COLOR=1", "BEADSCTL_ENV=", "BEADSCTL_CEILING_DIRECTORIES=" + os.TempDir(),
	}}
	beadsctl := filepath.Join(bin, "beadsctl")
	t.Cleanup(func() {
		p.run(true, beadsctl, "destroy", "--auto-approve")
		p.run(true, pm2, "kill")
	})
	p.run(true, pm2, "start", "ecosystem.config.cjs")
	waitFor(t, filepath.Join(dir, ".beads", "daemon.log"), "RPC server ready", 30*time.Second)
	p.run(true, pm2, "start", "sleep", "--name", "other", "--", "1001")
	p.run(true, pm2, "save")
	p.run(true, pm2, "start", "sleep", "--name", "unsaved", "--", "1002")

	out := p.run(true, beadsctl, "migrate")
	want := "✓ pm2 saved list: removed beads-daemon from " + filepath.Join(pm2Home, "dump.pm2") +
		", every other app kept as saved (not pm2 save: PM2 runs other, unsaved but its saved list has other, which pm2 save would change too)"
	if !strings.Contains(out, want) {
		t.Errorf("migrate output lacks %q", want)
	}
	if got := dumpNames(t, pm2Home); strings.Join(got, ",") != "other" {
		t.Errorf("dump.pm2 lists %v, want [other]", got)
	}
	p.run(true, beadsctl, "drift")

	// The saved list as it was before migrate: drift names it.
	bak := readFile(t, filepath.Join(pm2Home, "dump.pm2.bak"))
	if err := os.WriteFile(filepath.Join(pm2Home, "dump.pm2"), []byte(bak), 0o600); err != nil {
		t.Fatal(err)
	}
	out = p.run(false, beadsctl, "drift")
	if want := `PM2's saved list ` + filepath.Join(pm2Home, "dump.pm2") + ` has app "beads-daemon" (bd in ` + dir + `): pm2 resurrect`; !strings.Contains(out, want) {
		t.Errorf("drift lacks %q", want)
	}
	// pm2 resurrect starts the copy: drift names it running too.
	p.run(true, pm2, "resurrect")
	out = p.run(false, beadsctl, "drift")
	if want := `PM2 runs app "beads-daemon" (pm_id `; !strings.Contains(out, want) {
		t.Errorf("drift lacks %q", want)
	}
	p.run(true, pm2, "delete", "beads-daemon")
}

// pm2Hook writes the boot hook `pm2 startup launchd` would write for this user
// (PM2's own template, filled in as lib/API/Startup.js does) and returns the user.
func pm2Hook(t *testing.T, home, pm2Home string) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := filepath.Abs("../.tools/pm2/node_modules/pm2/lib/templates/init-scripts/launchd.tpl")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("%PM2_PATH%", "/usr/local/bin/pm2", "%NODE_PATH%", "/usr/bin:/bin", "%USER%", u.Username,
		"%HOME_PATH%", pm2Home).Replace(readFile(t, tpl))
	path := filepath.Join(home, "Library/LaunchAgents/pm2."+u.Username+".plist")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// dumpNames are the app names of PM2's saved list.
func dumpNames(t *testing.T, pm2Home string) []string {
	t.Helper()
	var apps []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(pm2Home, "dump.pm2"))), &apps); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	return names
}

// liveNames are the app names of PM2's live list.
func liveNames(t *testing.T, p *project, pm2 string) []string {
	t.Helper()
	var apps []struct {
		Name string `json:"name"`
	}
	jl := p.run(true, pm2, "jlist")
	if err := json.Unmarshal([]byte(jl[strings.Index(jl, "["):]), &apps); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	return names
}

// procEnviron is the environment pid runs with (/proc/PID/environ).
func procEnviron(t *testing.T, pid string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bdInit leaves dir/.beads as bd init does (its database): a bd daemon needs it.
func bdInit(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".beads", "beads.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}
