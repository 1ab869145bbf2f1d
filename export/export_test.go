package export

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/schema"
)

// update regenerates the golden files: go test ./export -update
var update = flag.Bool("update", false, "update golden files")

const projectDir = "/srv/project"

// rootConfig mirrors the root beads.hcl resolved under profile "development"
// or "production" (TestRootFixture checks it against schema.Load), with the
// project folder at /srv/project.
func rootConfig(profile string) *schema.Config {
	mem := uint64(200 << 20)
	if profile == "production" {
		mem = 300 << 20
	}
	return &schema.Config{
		Path:     projectDir + "/beads.hcl",
		Dir:      projectDir,
		Env:      profile,
		Profiles: []string{"development", "production"},
		Daemons: []schema.Daemon{{
			Name:        "beads",
			Command:     "bd",
			Args:        []string{"daemon", "--start", "--foreground"},
			Interval:    5 * time.Second,
			Dir:         projectDir,
			Environment: map[string]string{"BD_AUTO_START_DAEMON": "true", "NODE_ENV": profile},
			Root:        projectDir,
			Restart: schema.Restart{Policy: "always", Delay: 5 * time.Second, Backoff: "constant",
				MaxDelay: time.Minute, MaxRestarts: 10, MinUptime: 10 * time.Second},
			Limits: schema.Limits{Memory: mem, CheckInterval: time.Second},
			Stop:   schema.Stop{Signal: "SIGTERM", Timeout: 5 * time.Second},
			Logs: schema.Logs{
				Out:        projectDir + "/.beads/beadsctl-out.log",
				Error:      projectDir + "/.beads/beadsctl-error.log",
				Combined:   projectDir + "/.beads/beadsctl.log",
				Timestamps: true,
				DateFormat: "YYYY-MM-DD HH:mm:ss Z",
				GoLayout:   "2006-01-02 15:04:05 -07:00",
			},
			Health: schema.Health{Check: "beads-rpc", Interval: 30 * time.Second, Timeout: 5 * time.Second, Failures: 3},
		}},
	}
}

// fullConfig is rootConfig with DESIGN.md's full shape: exponential backoff
// and log rotation.
func fullConfig(profile string) *schema.Config {
	c := rootConfig(profile)
	c.Daemons[0].Restart.Backoff = "exponential"
	c.Daemons[0].Logs.Rotate = schema.Rotate{MaxSize: 10 << 20, Keep: 5, Compress: true}
	return c
}

// trickyConfig has what quoting and secrets must survive, and the other
// restart policies.
func trickyConfig() *schema.Config {
	dir := "/srv/odd dir/100%"
	return &schema.Config{
		Path: dir + "/beads.hcl",
		Dir:  dir,
		Daemons: []schema.Daemon{
			{
				Name:    "web",
				Command: "node",
				Args:    []string{"server.js", "--greeting", `say "hi" $USER 100% \o/`, "", "it's", ";", "tab\there"},
				Dir:     dir,
				Environment: map[string]string{
					"PLAIN": "a b $HOME 50%", "API_TOKEN": "s3cr3t 'quoted' $x", "DB_PASSWORD": "hunter2",
				},
				Sensitive: []string{"API_TOKEN", "DB_PASSWORD"},
				Restart:   schema.Restart{Policy: "on-failure", Delay: 1500 * time.Millisecond, Backoff: "constant", MaxRestarts: 3, MinUptime: 2 * time.Second},
				Stop:      schema.Stop{Signal: "SIGINT", Timeout: 10 * time.Second},
				Logs:      schema.Logs{Out: dir + "/logs/web.out.log", Error: dir + "/logs/web.err.log"},
				Health:    schema.Health{Check: "tcp", Address: "127.0.0.1:8080", Interval: 10 * time.Second},
			},
			{
				Name:    "worker",
				Command: "/opt/bin/worker",
				Dir:     dir,
				Restart: schema.Restart{Policy: "never", Delay: time.Second},
				Stop:    schema.Stop{Signal: "SIGTERM", Timeout: 3 * time.Second},
				Health:  schema.Health{Check: "none"},
			},
		},
	}
}

// fakeLookPath finds every command in /usr/local/bin except "missing".
func fakeLookPath(name string) (string, error) {
	if name == "missing" {
		return "", errors.New("not found")
	}
	return "/usr/local/bin/" + name, nil
}

// render is a stable text form of a Result for golden files.
func render(t *testing.T, r *Result) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, f := range r.Files {
		fmt.Fprintf(&b, "==> %s (%#o) <==\n", f.Name, f.Mode)
		b.Write(f.Data)
		b.WriteString("\n")
	}
	b.WriteString("==> warnings <==\n")
	for _, w := range r.Warnings {
		b.WriteString(w.String() + "\n")
	}
	b.WriteString("==> notes <==\n")
	for _, n := range r.Notes {
		b.WriteString(n + "\n")
	}
	return b.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./export -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestGolden(t *testing.T) {
	engines := map[string]func(*schema.Config, Options) (*Result, error){
		"systemd": func(c *schema.Config, o Options) (*Result, error) {
			return Systemd(c, SystemdOptions{Options: o, Prefix: "beadsctl-", RunAs: "beads"})
		},
		"systemd-user": func(c *schema.Config, o Options) (*Result, error) {
			return Systemd(c, SystemdOptions{Options: o, User: true})
		},
		"systemd-agent": func(c *schema.Config, o Options) (*Result, error) {
			return Systemd(c, SystemdOptions{Options: o, RunAs: "beads", AgentOptions: AgentOptions{Agent: true, Beadsctl: "/usr/local/bin/beadsctl"}})
		},
		"systemd-startup": func(c *schema.Config, o Options) (*Result, error) {
			return Systemd(c, SystemdOptions{Options: o, User: true, AgentOptions: AgentOptions{Agent: true, Beadsctl: "/opt/beadsctl/bin/beadsctl", Restore: true}})
		},
		"launchd-agent": func(c *schema.Config, o Options) (*Result, error) {
			return Launchd(c, LaunchdOptions{Options: o, AgentOptions: AgentOptions{Agent: true, Beadsctl: "/opt/beadsctl/bin/beadsctl", Restore: true}})
		},
		"launchd": func(c *schema.Config, o Options) (*Result, error) {
			return Launchd(c, LaunchdOptions{Options: o})
		},
		"nomad-hcl": func(c *schema.Config, o Options) (*Result, error) {
			return Nomad(c, NomadOptions{Options: o, Format: "hcl"})
		},
		"nomad-json": func(c *schema.Config, o Options) (*Result, error) {
			return Nomad(c, NomadOptions{Options: o, Format: "json", Type: "system", Datacenters: []string{"eu-1", "eu-2"}})
		},
	}
	configs := map[string]struct {
		cfg    *schema.Config
		outDir string
	}{
		"development": {rootConfig("development"), ""},
		"production":  {rootConfig("production"), ""},
		"full":        {fullConfig("production"), ""},
		"tricky":      {trickyConfig(), ""},
		"tricky-out":  {trickyConfig(), "/etc/beadsctl"},
	}
	for engine, run := range engines {
		for cname, c := range configs {
			t.Run(engine+"-"+cname, func(t *testing.T) {
				r, err := run(c.cfg, Options{LookPath: fakeLookPath, OutDir: c.outDir})
				if err != nil {
					t.Fatal(err)
				}
				checkGolden(t, engine+"-"+cname, render(t, r))
			})
		}
	}
}

// TestRootFixture checks that rootConfig is what schema.Load makes of the
// root beads.hcl, so the golden files follow the real file.
func TestRootFixture(t *testing.T) {
	for _, profile := range []string{"development", "production"} {
		t.Run(profile, func(t *testing.T) {
			got, _, diags := schema.Load(filepath.Join("..", "beads.hcl"), profile, nil)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			// Move the project to /srv/project.
			re := strings.NewReplacer(got.Dir, projectDir)
			got.Path, got.Dir = re.Replace(got.Path), projectDir
			for i := range got.Daemons {
				d := &got.Daemons[i]
				d.Dir, d.Root = re.Replace(d.Dir), re.Replace(d.Root)
				d.Logs.Out, d.Logs.Error, d.Logs.Combined = re.Replace(d.Logs.Out), re.Replace(d.Logs.Error), re.Replace(d.Logs.Combined)
			}
			ignore := cmpopts.IgnoreFields(schema.Daemon{}, "Hash", "DeclRange")
			if diff := cmp.Diff(rootConfig(profile), got, ignore); diff != "" {
				t.Errorf("rootConfig differs from ../beads.hcl (-fixture +file):\n%s", diff)
			}
		})
	}
}

func TestSelectDaemon(t *testing.T) {
	cfg := trickyConfig()
	tests := map[string]struct {
		name    string
		want    []string
		wantErr string
	}{
		"all":     {name: "", want: []string{"web", "worker"}},
		"one":     {name: "worker", want: []string{"worker"}},
		"unknown": {name: "nope", wantErr: `no daemon "nope" in /srv/odd dir/100%/beads.hcl (declared: web, worker)`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ds, err := selectDaemons(cfg, tt.name)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestWarnings checks that every unmapped field of the root file is named.
func TestWarnings(t *testing.T) {
	tests := map[string]struct {
		run  func(*schema.Config) (*Result, error)
		want []string
	}{
		"systemd": {
			run: func(c *schema.Config) (*Result, error) {
				return Systemd(c, SystemdOptions{Options: Options{LookPath: fakeLookPath}, RunAs: "beads"})
			},
			want: []string{"restart.min_uptime", "restart.backoff", "limits.memory", "logs.combined",
				"logs.timestamps", "logs.rotate", "health.check"},
		},
		"systemd-agent": {
			run: func(c *schema.Config) (*Result, error) {
				return Systemd(c, SystemdOptions{RunAs: "beads", AgentOptions: AgentOptions{Agent: true, Beadsctl: "/b"}})
			},
			want: nil,
		},
		"launchd": {
			run: func(c *schema.Config) (*Result, error) {
				return Launchd(c, LaunchdOptions{Options: Options{LookPath: fakeLookPath}})
			},
			want: []string{"restart.backoff", "restart.max_restarts", "limits.memory", "logs.combined",
				"logs.timestamps", "logs.rotate", "health.check"},
		},
		"nomad": {
			run: func(c *schema.Config) (*Result, error) {
				return Nomad(c, NomadOptions{Options: Options{LookPath: fakeLookPath}})
			},
			want: []string{"restart.backoff", "restart.min_uptime", "limits.memory", "logs.out", "logs.combined",
				"logs.timestamps", "logs.rotate.compress", "health.check"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := tt.run(fullConfig("production"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range r.Warnings {
				got = append(got, w.Field)
				if w.Daemon != "" && w.Daemon != "beads" {
					t.Errorf("warning for daemon %q", w.Daemon)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warned fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMissingCommandWarns(t *testing.T) {
	cfg := rootConfig("")
	cfg.Daemons[0].Command = "missing"
	r, err := Systemd(cfg, SystemdOptions{Options: Options{LookPath: fakeLookPath}})
	if err != nil {
		t.Fatal(err)
	}
	want := `daemon "beads": command: "missing" was not found in PATH at export time; kept as written (systemd looks a bare name up in its own fixed search path, /usr/local/bin:/usr/bin:/bin among others)`
	found := false
	for _, w := range r.Warnings {
		found = found || w.String() == want
	}
	if !found {
		t.Errorf("no warning %q in %v", want, r.Warnings)
	}
	if !strings.Contains(string(r.Files[0].Data), "\nExecStart=missing daemon ") {
		t.Errorf("ExecStart does not keep the command as written:\n%s", r.Files[0].Data)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "units")
	files := []File{{Name: "a.service", Mode: 0o644, Data: []byte("unit\n")}, {Name: "a.env", Mode: 0o600, Data: []byte("K='v'\n")}}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	// Overwriting keeps the modes, also when the old file was wider.
	if err := os.Chmod(filepath.Join(dir, "a.env"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name] = fmt.Sprintf("%#o %s", fi.Mode().Perm(), data)
	}
	want := map[string]string{"a.service": "0644 unit\n", "a.env": "0600 K='v'\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestPrint(t *testing.T) {
	tests := map[string]struct {
		files []File
		want  string
	}{
		"one":  {files: []File{{Name: "a", Data: []byte("A\n")}}, want: "A\n"},
		"more": {files: []File{{Name: "a", Data: []byte("A\n")}, {Name: "b", Data: []byte("B\n")}}, want: "==> a <==\nA\n\n==> b <==\nB\n"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Print(&b, tt.files); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestProjectID: two projects with the same folder name get different unit
// names, the same folder always the same, and every name is a valid unit name.
func TestProjectID(t *testing.T) {
	tests := map[string]struct{ dir, want string }{
		"plain":       {"/srv/project", "project-4f3f91f6"},
		"same name":   {"/home/ann/project", "project-78a036e7"},
		"cleaned":     {"/srv/project/", "project-4f3f91f6"},
		"odd":         {"/srv/odd dir/100%", "100-ce267b97"},
		"root":        {"/", "project-8a5edab2"},
		"long":        {"/x/" + strings.Repeat("a", 60), strings.Repeat("a", 32) + "-"},
		"unicode dot": {"/x/mon.projet-é", "mon-projet-"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := boot.ProjectID(tt.dir)
			if !strings.HasPrefix(got, tt.want) || (strings.HasSuffix(tt.want, "-") && len(got) != len(tt.want)+8) {
				t.Errorf("boot.ProjectID(%q) = %q, want %q…", tt.dir, got, tt.want)
			}
			if unitEscape(got) != got {
				t.Errorf("%q needs escaping in a unit name", got)
			}
		})
	}
	if a, b := boot.AgentUnitName("/srv/project"), boot.AgentUnitName("/home/ann/project"); a == b {
		t.Errorf("two projects share the unit %s", a)
	}
}

// TestLongNamesFit: a daemon named at schema.MaxNameLength, with the project
// name before it, still gets unit files that can be written (the temporary
// file beside them included), and two such names stay apart.
func TestLongNamesFit(t *testing.T) {
	cfg := rootConfig("production")
	long := strings.Repeat("d", schema.MaxNameLength)
	cfg.Daemons[0].Name = long
	other := cfg.Daemons[0]
	other.Name = long[:len(long)-1] + "e"
	cfg.Daemons = append(cfg.Daemons, other)
	out := t.TempDir()
	sd, err := Systemd(cfg, SystemdOptions{Options: Options{LookPath: fakeLookPath, OutDir: out}, Prefix: "beadsctl-", RunAs: "beads"})
	if err != nil {
		t.Fatal(err)
	}
	ld, err := Launchd(cfg, LaunchdOptions{Options: Options{LookPath: fakeLookPath, OutDir: out}})
	if err != nil {
		t.Fatal(err)
	}
	files := append(sd.Files, ld.Files...)
	names := map[string]bool{}
	for _, f := range files {
		if len(f.Name) > 255-18 {
			t.Errorf("%s: %d bytes", f.Name, len(f.Name))
		}
		names[f.Name] = true
	}
	if len(names) != 4 {
		t.Errorf("names collide: %v", names)
	}
	if err := WriteFiles(out, files); err != nil {
		t.Fatal(err)
	}
}
