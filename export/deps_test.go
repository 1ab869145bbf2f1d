package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beadsctl/beadsctl/schema"
)

// stackConfig is db <- api (healthy, on_restart restart) and a one-shot
// setup that api needs completed.
func stackConfig(t *testing.T) *schema.Config {
	t.Helper()
	dir := t.TempDir()
	src := `daemon "db" {
  command = "/bin/sleep"
  args    = ["1000"]
  health {
    check   = "tcp"
    address = "127.0.0.1:5432"
  }
}
daemon "setup" {
  command = "/bin/true"
  restart { policy = "once" }
}
daemon "api" {
  command = "/bin/sleep"
  args    = ["1000"]
  depends_on "db" {
    condition  = "healthy"
    on_restart = "restart"
  }
  depends_on "setup" { condition = "completed_successfully" }
}
`
	path := filepath.Join(dir, "beads.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, diags := schema.Load(path, "", nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// TestSystemdDependsOn: depends_on becomes After=/Requires= (BindsTo=/PartOf=
// for on_restart = "restart"), a one-shot Type=oneshot with RemainAfterExit,
// "healthy" a warning; systemd-analyze verifies the units together.
func TestSystemdDependsOn(t *testing.T) {
	cfg := stackConfig(t)
	out := t.TempDir()
	r, err := Systemd(cfg, SystemdOptions{Options: Options{OutDir: out}, RunAs: "daemon"})
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]string{}
	var paths []string
	for _, f := range r.Files {
		units[f.Name] = string(f.Data)
		paths = append(paths, filepath.Join(out, f.Name))
	}
	api := units["api.service"]
	for _, line := range []string{"After=db.service", "Requires=db.service", "BindsTo=db.service", "PartOf=db.service", "After=setup.service", "Requires=setup.service"} {
		if !strings.Contains(api, line+"\n") {
			t.Errorf("api.service lacks %s:\n%s", line, api)
		}
	}
	if strings.Contains(api, "BindsTo=setup.service") {
		t.Errorf("setup is not bound (on_restart ignore):\n%s", api)
	}
	setup := units["setup.service"]
	for _, line := range []string{"Type=oneshot", "RemainAfterExit=yes", "Restart=on-failure"} {
		if !strings.Contains(setup, line+"\n") {
			t.Errorf("setup.service lacks %s:\n%s", line, setup)
		}
	}
	var warned bool
	for _, w := range r.Warnings {
		warned = warned || w.Daemon == "api" && w.Field == "depends_on.db" && strings.Contains(w.Message, `"healthy" is mapped as started`)
	}
	if !warned {
		t.Errorf("no warning for healthy: %+v", r.Warnings)
	}
	if err := WriteFiles(out, r.Files); err != nil {
		t.Fatal(err)
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found (apt-get install systemd): %v", err)
	}
	cmd := exec.CommandContext(t.Context(), analyze, append([]string{"verify", "--man=no"}, paths...)...)
	if msg, err := cmd.CombinedOutput(); err != nil || len(msg) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, msg)
	}
}

// TestLaunchdNomadWarnDependsOn: engines without start ordering say so.
func TestLaunchdNomadWarnDependsOn(t *testing.T) {
	cfg := stackConfig(t)
	lr, err := Launchd(cfg, LaunchdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nr, err := Nomad(cfg, NomadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*Result{"launchd": lr, "nomad": nr} {
		var deps, once bool
		for _, w := range r.Warnings {
			deps = deps || w.Daemon == "api" && w.Field == "depends_on" && strings.Contains(w.Message, "db, setup")
			once = once || w.Daemon == "setup" && w.Field == "restart.policy" && strings.Contains(w.Message, `"once"`)
		}
		if !deps || !once {
			t.Errorf("%s: warnings %+v", name, r.Warnings)
		}
	}
}
