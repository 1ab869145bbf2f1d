package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCleanRegistry: the workspace's registry entries whose daemon is gone are
// removed; other workspaces' entries and unknown fields stay.
func TestCleanRegistry(t *testing.T) {
	root, ws, home := cleanDirs(t)
	reg := filepath.Join(home, ".beads", "registry.json")
	src := `[{"workspace_path":"` + ws + `","socket_path":"x","pid":999999999,"version":"0.26.0"},
	{"workspace_path":"/elsewhere","socket_path":"/elsewhere/.beads/bd.sock","pid":1,"version":"0.28.0"}]`
	if err := os.WriteFile(reg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"daemon.pid", "daemon.lock"} {
		if err := os.WriteFile(filepath.Join(ws, ".beads", n), []byte("123\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := clean(Options{Dir: ws, Environ: []string{"HOME=" + home}})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(rels(root, removed), ",")
	if got != "ws/.beads/daemon.pid,ws/.beads/daemon.lock,home/.beads/registry.json (1 entry for this workspace)" {
		t.Errorf("removed = %s", got)
	}
	b, _ := os.ReadFile(reg)
	if strings.Contains(string(b), ws) || !strings.Contains(string(b), `"socket_path": "/elsewhere/.beads/bd.sock"`) {
		t.Errorf("registry after clean:\n%s", b)
	}
}

// TestCleanRegistryNeverWritesThroughAPlantedTemp: the registry used to be
// rewritten through the fixed name registry.json.tmp, so a symlink planted
// there had its target overwritten. It now goes through atomicfile.
func TestCleanRegistryNeverWritesThroughAPlantedTemp(t *testing.T) {
	root, ws, home := cleanDirs(t)
	reg := filepath.Join(home, ".beads", "registry.json")
	src := `[{"workspace_path":"` + ws + `","socket_path":"x","pid":999999999,"version":"0.26.0"}]`
	if err := os.WriteFile(reg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(root, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, reg+".tmp"); err != nil {
		t.Fatal(err)
	}
	if _, err := clean(Options{Dir: ws, Environ: []string{"HOME=" + home}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the planted link's target was written: %q", b)
	}
	if b, _ := os.ReadFile(reg); strings.Contains(string(b), ws) {
		t.Errorf("registry not cleaned:\n%s", b)
	}
}

// cleanDirs makes root/ws/.beads and root/home/.beads.
func cleanDirs(t *testing.T) (root, ws, home string) {
	root = t.TempDir()
	ws, home = filepath.Join(root, "ws"), filepath.Join(root, "home")
	for _, d := range []string{filepath.Join(ws, ".beads"), filepath.Join(home, ".beads")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return root, ws, home
}
