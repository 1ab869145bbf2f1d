package startup

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"howett.net/plist"

	"github.com/beadsctl/beadsctl/schema"
)

// world is a user's folders in a temporary tree, with a beadsctl binary, and
// a recorder in place of systemctl and launchctl (never the real ones).
type world struct {
	o     Options
	calls []string
	bin   string
}

func newWorld(t *testing.T, engine string, managerRuns bool) *world {
	t.Helper()
	root := t.TempDir()
	w := &world{bin: filepath.Join(root, "bin")}
	if err := os.MkdirAll(w.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"beadsctl", "bd", "git"} {
		if err := os.WriteFile(filepath.Join(w.bin, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runtimeDir := filepath.Join(root, "run")
	if managerRuns {
		if err := os.MkdirAll(filepath.Join(runtimeDir, "systemd"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(runtimeDir, "systemd", "private"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.o = Options{
		Engine: engine, User: "ann", Home: filepath.Join(root, "home"), RuntimeDir: runtimeDir,
		LingerDir: filepath.Join(root, "linger"), SystemDir: filepath.Join(root, "etc/systemd/system"),
		Beadsctl: filepath.Join(w.bin, "beadsctl"),
		LookPath: func(name string) (string, error) {
			p := filepath.Join(w.bin, name)
			if (name == "systemctl" || name == "launchctl") && managerRuns {
				return "/usr/bin/" + name, nil
			}
			if _, err := os.Stat(p); err != nil {
				return "", errors.New("not found")
			}
			return p, nil
		},
		Run: func(_ context.Context, name string, args ...string) (string, error) {
			w.calls = append(w.calls, name+" "+strings.Join(args, " "))
			return "", nil
		},
	}
	return w
}

func project(t *testing.T) *schema.Config {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "proj")
	return &schema.Config{Path: dir + "/beads.hcl", Dir: dir, Env: "production", Daemons: []schema.Daemon{{
		Name: "beads", Command: "bd", Args: []string{"daemon", "--start", "--foreground"}, Dir: dir,
		Stop: schema.Stop{Signal: "SIGTERM", Timeout: 5 * time.Second},
	}}}
}

func actions(r *Report) []string {
	var out []string
	for _, a := range r.Actions {
		mark := "did"
		if !a.Done {
			mark = "not"
		}
		out = append(out, mark+": "+a.What)
	}
	return out
}

// TestInstallSystemdWithoutManager: where systemd's user manager does not
// run (this machine, CI), the unit is written and enabled by its link,
// systemctl is never run and the report says so; systemd-analyze accepts the
// unit; status reads it back as on, linger off, then on.
func TestInstallSystemdWithoutManager(t *testing.T) {
	w := newWorld(t, Systemd, false)
	cfg := project(t)
	r, err := Install(t.Context(), cfg, w.o)
	if err != nil {
		t.Fatal(err)
	}
	unitDir := filepath.Join(w.o.Home, ".config/systemd/user")
	name := r.Unit.Name
	if !strings.HasPrefix(name, "beadsctl-agent-proj-") || !strings.HasSuffix(name, ".service") {
		t.Errorf("unit name %q", name)
	}
	path := filepath.Join(unitDir, name)
	want := []string{
		"did: wrote " + path + " (mode 0644)",
		"did: enabled it: linked " + filepath.Join(unitDir, "default.target.wants", name) + " -> " + path + " (what systemctl --user enable does for WantedBy=default.target)",
		"not: systemctl --user daemon-reload not run: systemctl is not installed",
		"not: systemctl --user enable " + name + " not run: systemctl is not installed",
	}
	if diff := cmp.Diff(want, actions(r)); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if len(w.calls) != 0 {
		t.Errorf("ran %v", w.calls)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"ExecStart=" + w.o.Beadsctl + " agent --foreground --dir " + cfg.Dir + " --restore",
		"Environment=PATH=" + w.bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"WantedBy=default.target", "Restart=on-failure",
	} {
		if !strings.Contains(string(data), "\n"+line+"\n") {
			t.Errorf("unit lacks %q:\n%s", line, data)
		}
	}
	if strings.Contains(string(data), "User=") {
		t.Errorf("a user unit has User=:\n%s", data)
	}
	verifyUser(t, path)

	st := r.Status
	if !st.On || !st.Enabled || st.Linger == nil || *st.Linger || st.Hint != "sudo loginctl enable-linger ann" ||
		!strings.Contains(st.Summary, "starts the agent at login, not at boot (linger is off); installed, not verified running") {
		t.Errorf("status after install: %+v", st)
	}
	if err := os.MkdirAll(w.o.LingerDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.o.LingerDir, "ann"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st := Detect(cfg.Dir, w.o); !st.On || st.Hint != "" || !strings.Contains(st.Summary, "starts the agent at boot;") {
		t.Errorf("status with linger: %+v", st)
	}

	// The binary the unit runs is gone: broken, and startup writes it again.
	if err := os.Remove(w.o.Beadsctl); err != nil {
		t.Fatal(err)
	}
	if st := Detect(cfg.Dir, w.o); st.On || !strings.HasPrefix(st.Summary, "broken: ") || st.Hint != "beadsctl startup" {
		t.Errorf("status with the binary gone: %+v", st)
	}

	r, err = Remove(t.Context(), cfg.Dir, w.o)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"did: disabled it: removed the link " + filepath.Join(unitDir, "default.target.wants", name),
		"did: removed " + path,
		"not: systemctl --user daemon-reload not run: systemctl is not installed",
	}
	if diff := cmp.Diff(want, actions(r)); diff != "" {
		t.Errorf("remove actions (-want +got):\n%s", diff)
	}
	if r.Status.Installed || r.Status.On || r.Status.Summary != "off" {
		t.Errorf("status after remove: %+v", r.Status)
	}
}

// TestInstallSystemdWithManager: with the user manager there, systemctl
// --user daemon-reload and enable run (through Options.Run: the real
// systemctl is never run by a test).
func TestInstallSystemdWithManager(t *testing.T) {
	w := newWorld(t, Systemd, true)
	cfg := project(t)
	r, err := Install(t.Context(), cfg, w.o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/bin/systemctl --user daemon-reload", "/usr/bin/systemctl --user enable " + r.Unit.Name}
	if diff := cmp.Diff(want, w.calls); diff != "" {
		t.Errorf("systemctl calls (-want +got):\n%s", diff)
	}
	if _, err := Remove(t.Context(), cfg.Dir, w.o); err != nil {
		t.Fatal(err)
	}
	if want := append(want, "/usr/bin/systemctl --user daemon-reload"); !cmp.Equal(want, w.calls) {
		t.Errorf("after remove: %v", w.calls)
	}
}

// TestInstallLaunchd writes the LaunchAgent, parses it back, and loads it
// with launchctl when launchctl is there.
func TestInstallLaunchd(t *testing.T) {
	for _, there := range []bool{false, true} {
		w := newWorld(t, Launchd, there)
		cfg := project(t)
		r, err := Install(t.Context(), cfg, w.o)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(w.o.Home, "Library/LaunchAgents", r.Unit.Name+".plist")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var job map[string]any
		if _, err := plist.Unmarshal(b, &job); err != nil {
			t.Fatalf("plist does not parse: %v\n%s", err, b)
		}
		if diff := cmp.Diff([]any{w.o.Beadsctl, "agent", "--foreground", "--dir", cfg.Dir, "--restore"}, job["ProgramArguments"]); diff != "" {
			t.Errorf("ProgramArguments (-want +got):\n%s", diff)
		}
		if job["RunAtLoad"] != true || !strings.HasPrefix(r.Unit.Name, "com.beadsctl.agent.proj-") {
			t.Errorf("job %v, label %s", job, r.Unit.Name)
		}
		got := actions(r)
		if there {
			if !cmp.Equal(w.calls, []string{"/usr/bin/launchctl load -w " + path}) || !strings.HasPrefix(got[1], "did: ran launchctl load -w") {
				t.Errorf("launchctl: calls %v, actions %v", w.calls, got)
			}
		} else if len(w.calls) != 0 || !strings.Contains(got[1], "not run: launchctl is not installed") {
			t.Errorf("no launchctl: calls %v, actions %v", w.calls, got)
		}
		if !r.Status.On || !strings.Contains(r.Status.Summary, "launchd LaunchAgent") || !strings.Contains(r.Status.Summary, "at login") {
			t.Errorf("status: %+v", r.Status)
		}
		if r, err := Remove(t.Context(), cfg.Dir, w.o); err != nil || r.Status.Installed {
			t.Errorf("remove: %v %+v", err, r)
		}
	}
}

// TestDetectSystemUnit: an agent unit installed as a system unit (export
// systemd --agent -o /etc/systemd/system) counts, enabled by its wants link.
func TestDetectSystemUnit(t *testing.T) {
	w := newWorld(t, Systemd, false)
	cfg := project(t)
	u, _, err := Render(cfg, w.o)
	if err != nil {
		t.Fatal(err)
	}
	sys := filepath.Join(w.o.SystemDir, u.Name)
	if err := os.MkdirAll(filepath.Join(w.o.SystemDir, "multi-user.target.wants"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sys, u.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	if st := Detect(cfg.Dir, w.o); st.On || !st.System || st.Enabled || !strings.HasPrefix(st.Summary, "off: systemd system unit") {
		t.Errorf("not enabled: %+v", st)
	}
	if err := os.Symlink(sys, filepath.Join(w.o.SystemDir, "multi-user.target.wants", u.Name)); err != nil {
		t.Fatal(err)
	}
	if st := Detect(cfg.Dir, w.o); !st.On || !st.System || st.Linger != nil || !strings.Contains(st.Summary, "starts the agent at boot") {
		t.Errorf("enabled: %+v", st)
	}
}

// verifyUser runs systemd-analyze --user verify on a unit (Debian's systemd
// package; systemd need not run).
func verifyUser(t *testing.T, path string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found (apt-get install systemd): %v", err)
	}
	cmd := exec.CommandContext(t.Context(), analyze, "--user", "verify", "--man=no", path)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze --user verify: %v\n%s", err, out)
	}
}
