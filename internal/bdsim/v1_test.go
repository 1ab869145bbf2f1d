package bdsim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestV1VersionAndNoDaemon(t *testing.T) {
	t.Setenv("BDSIM_VERSION", "1.0.5")
	for name, tc := range map[string]struct {
		args        []string
		code        int
		out, errOut string
	}{
		"version":      {args: []string{"version"}, out: "bd version 1.0.5 (dev)\n"},
		"--version":    {args: []string{"--version"}, out: "bd version 1.0.5 (dev)\n"},
		"version json": {args: []string{"version", "--json"}, out: "{\n  \"build\": \"dev\",\n  \"schema_version\": 1,\n  \"version\": \"1.0.5\"\n}\n"},
		"daemon":       {args: []string{"daemon", "--start", "--foreground"}, code: 1, errOut: "Error: unknown command \"daemon\" for \"bd\"\nRun 'bd --help' for usage.\n"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			if diff := cmp.Diff([]any{tc.code, tc.out, tc.errOut}, []any{code, out.String(), errOut.String()}); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestV1PortPrecedence(t *testing.T) {
	for name, tc := range map[string]struct {
		env      map[string]string
		portFile string
		yaml     string
		meta     string
		want     int
		warns    bool
	}{
		"nothing: ephemeral at start": {want: 0},
		"env beats port file":         {env: map[string]string{"BEADS_DOLT_SERVER_PORT": "4001"}, portFile: "4002", want: 4001},
		"port file beats config.yaml": {portFile: "4002", yaml: "dolt.port: 4003\n", want: 4002},
		"config.yaml beats metadata":  {yaml: "dolt:\n  port: 4003\n", meta: `{"database":"dolt","dolt_server_port":4004}`, want: 4003},
		"BD_ env beats config.yaml":   {env: map[string]string{"BD_DOLT_PORT": "4005"}, yaml: "dolt.port: 4003\n", want: 4005},
		"metadata last, with warning": {meta: `{"database":"dolt","dolt_server_port":4004}`, want: 4004, warns: true},
		"shared server default":       {env: map[string]string{"BEADS_DOLT_SHARED_SERVER": "1"}, want: defaultSharedServerPort},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			t.Setenv("HOME", filepath.Join(root, "home"))
			t.Setenv("XDG_CONFIG_HOME", filepath.Join(root, "home", ".config"))
			t.Setenv("BEADS_SHARED_SERVER_DIR", filepath.Join(root, "shared"))
			for _, k := range []string{"BEADS_DOLT_SERVER_PORT", "BEADS_DOLT_SHARED_SERVER", "BD_DOLT_PORT", "BD_DOLT_SHARED_SERVER"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			beads := filepath.Join(root, ".beads")
			if err := os.MkdirAll(beads, 0o700); err != nil {
				t.Fatal(err)
			}
			for file, content := range map[string]string{portFileName: tc.portFile, "config.yaml": tc.yaml, "metadata.json": tc.meta} {
				if content != "" {
					if err := os.WriteFile(filepath.Join(beads, file), []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			var stderr bytes.Buffer
			got := newEnv(beads, &stderr).defaultConfig(beads).port
			if got != tc.want {
				t.Errorf("port = %d, want %d", got, tc.want)
			}
			if warned := strings.Contains(stderr.String(), "Warning: dolt_server_port in metadata.json is deprecated"); warned != tc.warns {
				t.Errorf("deprecation warning = %v, want %v (stderr %q)", warned, tc.warns, stderr.String())
			}
		})
	}
}

func TestV1ReadYAMLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	content := "# comment\ndolt.shared-server: true\ndolt:\n  auto-start: \"off\"  # inline\n  port: 3309\nissue-prefix: 'my''p'\nrepos:\n  additional:\n    - ~/x\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dolt.shared-server": "true", "dolt.auto-start": "off", "dolt.port": "3309", "issue-prefix": "my'p"}
	if diff := cmp.Diff(want, readYAMLFile(path)); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
}

func TestV1InitPrefix(t *testing.T) {
	for in, want := range map[string]string{".claude": "claude", "my.proj-": "my_proj", "001": "bd_001", "demo": "demo"} {
		if got := initPrefix("", "", filepath.Join("/x", in)); got != want {
			t.Errorf("initPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestV1LogRotatesAtStartOnly(t *testing.T) {
	for name, tc := range map[string]struct {
		max     string
		size    int
		rotated bool
	}{
		"default 50 MB, small log": {size: 1 << 10},
		"over the limit":           {max: "100", size: 101, rotated: true},
		"at the limit":             {max: "100", size: 100},
		"disabled":                 {max: "0", size: 1 << 10},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("BEADS_DOLT_LOG_MAX_BYTES", tc.max)
			dir := t.TempDir()
			log := filepath.Join(dir, logFileName)
			if err := os.WriteFile(log+".1", []byte("older"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(log, bytes.Repeat([]byte("x"), tc.size), 0o600); err != nil {
				t.Fatal(err)
			}
			maybeRotateLog(log)
			old, _ := os.ReadFile(log + ".1")
			_, err := os.Stat(log)
			if got := len(old) == tc.size && os.IsNotExist(err); got != tc.rotated {
				t.Fatalf("rotated = %v, want %v (log.1 %d bytes, log: %v)", got, tc.rotated, len(old), err)
			}
		})
	}
}
