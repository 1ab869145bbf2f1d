package schema

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// workspace writes dir/.beads/metadata.json (and config.yaml when given).
func workspace(t *testing.T, dir, metadata, config string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if metadata != "" {
		if err := os.WriteFile(filepath.Join(dir, ".beads", "metadata.json"), []byte(metadata), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, ".beads", "config.yaml"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

const serverMeta = `{"database":"dolt","backend":"dolt","dolt_mode":"server","dolt_database":"demo","project_id":"p-1"}`

func loadDir(t *testing.T, dir, src string) (*Config, hcl.Diagnostics) {
	t.Helper()
	path := filepath.Join(dir, "beads.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, diags := Load(path, "", []string{"HOME=" + filepath.Join(dir, "home")})
	return cfg, diags
}

func TestDoltServerDerived(t *testing.T) {
	dir := t.TempDir()
	workspace(t, dir, serverMeta, "dolt:\n  port: 3999\n")
	cfg, diags := loadDir(t, dir, "daemon \"dolt\" {\n  dolt_server {}\n}\n")
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("diags: %v", diagLines(diags))
	}
	d := cfg.Daemons[0]
	wantArgs := []string{"sql-server", "-H", "127.0.0.1", "-P", "3999", "--loglevel=warning"}
	if d.Command != "dolt" || !slices.Equal(d.Args, wantArgs) || d.Dir != filepath.Join(dir, ".beads", "dolt") {
		t.Fatalf("derived %q %q in %s", d.Command, d.Args, d.Dir)
	}
	ds := d.Dolt
	if ds.Port != 3999 || ds.PortSource != "config.yaml dolt.port" || ds.ServerDir != filepath.Join(dir, ".beads") || !ds.BdAutoStart {
		t.Fatalf("dolt %+v", ds)
	}
	h := d.Health
	if h.Check != "sql" || h.SQL.Address != "127.0.0.1:3999" || len(h.SQL.Databases) != 1 || h.SQL.Databases[0] != (SQLDatabase{Name: "demo", ProjectID: "p-1"}) {
		t.Fatalf("health %+v %+v", h, h.SQL)
	}
	if d.Hash == "" {
		t.Fatal("no hash")
	}
}

func TestDoltServerPortPrecedenceAndPinning(t *testing.T) {
	dir := t.TempDir()
	workspace(t, dir, strings.Replace(serverMeta, `"project_id"`, `"dolt_data_dir":"data","dolt_server_port":4001,"project_id"`, 1), "")
	cfg, diags := loadDir(t, dir, "daemon \"dolt\" {\n  dolt_server {\n    port = 4002\n  }\n}\n")
	if diags.HasErrors() {
		t.Fatal(diagLines(diags))
	}
	if d := cfg.Daemons[0]; d.Dolt.Port != 4002 || d.Dolt.PortSource != PortFromHCL || d.Dir != filepath.Join(dir, ".beads", "data") {
		t.Fatalf("port %d from %q in %s", d.Dolt.Port, d.Dolt.PortSource, d.Dir)
	}
	if !strings.Contains(strings.Join(diagLines(diags), "\n"), "Port differs from bd's setting") {
		t.Fatalf("no warning about the two ports: %v", diagLines(diags))
	}

	// Nothing names a port: auto, to be pinned by reconcile; SetPort keeps
	// args, health and hash in step.
	dir2 := t.TempDir()
	workspace(t, dir2, serverMeta, "")
	cfg, diags = loadDir(t, dir2, "daemon \"dolt\" {\n  dolt_server {}\n}\n")
	if diags.HasErrors() {
		t.Fatal(diagLines(diags))
	}
	d := &cfg.Daemons[0]
	if d.Dolt.Port != 0 || d.Dolt.PortSource != PortAuto {
		t.Fatalf("auto port: %+v", d.Dolt)
	}
	before := d.Hash
	d.SetPort(15123, "test")
	if d.Args[4] != "15123" || d.Health.SQL.Address != "127.0.0.1:15123" || d.Hash == before {
		t.Fatalf("SetPort: %q %q %s", d.Args, d.Health.SQL.Address, d.Hash)
	}

	// The port file of a running server is bd's own persistent source.
	if err := os.WriteFile(filepath.Join(dir2, ".beads", "dolt-server.port"), []byte("15999"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ = loadDir(t, dir2, "daemon \"dolt\" {\n  dolt_server {}\n}\n")
	if p := cfg.Daemons[0].Dolt; p.Port != 15999 || p.PortSource != PortFromPortFile {
		t.Fatalf("port file: %+v", p)
	}
}

func TestDoltServerBadWorkspaces(t *testing.T) {
	tests := map[string]struct {
		setup func(t *testing.T, dir string)
		src   string
		want  []string
	}{
		"no .beads": {
			setup: func(t *testing.T, dir string) {},
			src:   "daemon \"dolt\" {\n  dolt_server {\n    workspace = \".\"\n  }\n}\n",
			want:  []string{"3:17: error: Not a Beads workspace", "bd init --server"},
		},
		"embedded mode": {
			setup: func(t *testing.T, dir string) {
				workspace(t, dir, `{"database":"dolt","backend":"dolt","dolt_database":"demo"}`, "")
			},
			src:  "daemon \"dolt\" {\n  dolt_server {}\n}\n",
			want: []string{"2:3: error: Workspace is in embedded mode", "no server to supervise", "dolt_mode"},
		},
		"unreadable metadata": {
			setup: func(t *testing.T, dir string) { workspace(t, dir, `{"dolt_mode": "server",`, "") },
			src:   "daemon \"dolt\" {\n  dolt_server {}\n}\n",
			want:  []string{"error: Cannot read the Beads workspace", "metadata.json is not valid JSON", "nothing was started or stopped"},
		},
		"bad config.yaml": {
			setup: func(t *testing.T, dir string) { workspace(t, dir, serverMeta, "dolt: [unclosed\n") },
			src:   "daemon \"dolt\" {\n  dolt_server {}\n}\n",
			want:  []string{"Cannot read the Beads workspace", "config.yaml is not valid YAML"},
		},
		"args and dir are derived": {
			setup: func(t *testing.T, dir string) { workspace(t, dir, serverMeta, "") },
			src:   "daemon \"dolt\" {\n  args = [\"x\"]\n  dir = \"y\"\n  dolt_server {}\n}\n",
			want:  []string{"2:10: error: args are derived for a dolt_server", "3:9: error: dir are derived|3:9: error: dir is derived"},
		},
		"bad port": {
			setup: func(t *testing.T, dir string) { workspace(t, dir, serverMeta, "") },
			src:   "daemon \"dolt\" {\n  dolt_server {\n    port = 70000\n  }\n}\n",
			want:  []string{"3:12: error: Invalid dolt_server.port"},
		},
		"workspaces without shared": {
			setup: func(t *testing.T, dir string) { workspace(t, dir, serverMeta, "") },
			src:   "daemon \"dolt\" {\n  dolt_server {\n    workspaces = [\".\"]\n  }\n}\n",
			want:  []string{"3:18: error: workspaces needs a shared server"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			_, diags := loadDir(t, dir, tc.src)
			got := strings.Join(diagLines(diags), "\n")
			for _, w := range tc.want {
				found := false
				for _, alt := range strings.Split(w, "|") {
					found = found || strings.Contains(got, alt)
				}
				if !found {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
		})
	}
}

func TestDoltServerShared(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	workspace(t, a, serverMeta, "dolt:\n  shared-server: true\n")
	workspace(t, b, strings.NewReplacer(`"demo"`, `"other"`, `"p-1"`, `"p-2"`).Replace(serverMeta), "dolt.shared-server: true\ndolt.auto-start: false\n")
	cfg, diags := loadDir(t, root, "daemon \"shared\" {\n  dolt_server {\n    shared     = true\n    workspaces = [\"a\", \"b\"]\n  }\n}\n")
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("diags: %v", diagLines(diags))
	}
	d := cfg.Daemons[0]
	home := filepath.Join(root, "home")
	if d.Dolt.ServerDir != filepath.Join(home, ".beads", "shared-server") || d.Dir != filepath.Join(home, ".beads", "shared-server", "dolt") || d.Dolt.Port != 3308 {
		t.Fatalf("shared: %+v dir %s", d.Dolt, d.Dir)
	}
	want := []SQLDatabase{{Name: "demo", ProjectID: "p-1"}, {Name: "other", ProjectID: "p-2"}}
	if !slices.Equal(d.Health.SQL.Databases, want) {
		t.Fatalf("databases %+v", d.Health.SQL.Databases)
	}
	if !d.Dolt.BdAutoStart || d.Dolt.Workspaces[1].BdAutoStart {
		t.Fatalf("auto-start per workspace: %+v", d.Dolt.Workspaces)
	}

	// A workspace not configured for the shared server is named.
	workspace(t, b, serverMeta, "issue-prefix: other\n")
	_, diags = loadDir(t, root, "daemon \"shared\" {\n  dolt_server {\n    shared     = true\n    workspaces = [\"a\", \"b\"]\n  }\n}\n")
	if got := strings.Join(diagLines(diags), "\n"); !strings.Contains(got, "does not use the shared server") || !strings.Contains(got, "dolt.shared-server: true") {
		t.Fatalf("no warning for b: %s", got)
	}
}

func TestSQLHealthCheckForAnyServer(t *testing.T) {
	cfg, diags := loadSrc(t, "daemon \"db\" {\n  command = \"mysqld\"\n  health {\n    check = \"sql\"\n    address = \"127.0.0.1:3306\"\n    database = \"app\"\n  }\n}\n", "")
	if diags.HasErrors() {
		t.Fatal(diagLines(diags))
	}
	h := cfg.Daemons[0].Health
	if h.Check != "sql" || h.SQL == nil || h.SQL.Address != "127.0.0.1:3306" || h.SQL.Databases[0].Name != "app" || h.Address != "" {
		t.Fatalf("%+v %+v", h, h.SQL)
	}
	_, diags = loadSrc(t, "daemon \"db\" {\n  command = \"mysqld\"\n  health {\n    check = \"sql\"\n  }\n}\n", "")
	if got := strings.Join(diagLines(diags), "\n"); !strings.Contains(got, "Missing health address") {
		t.Fatalf("got %s", got)
	}
}
