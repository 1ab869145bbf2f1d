package export

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beadsctl/beadsctl/internal/boot"
	"github.com/beadsctl/beadsctl/schema"
)

// TestSystemdVerify writes the units with -o and checks each with
// `systemd-analyze verify`, which must accept it without a single message.
func TestSystemdVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found (apt-get install systemd): %v", err)
	}
	// verify checks that ExecStart's program exists and is executable.
	bin := t.TempDir()
	look := func(name string) (string, error) {
		p := filepath.Join(bin, name)
		return p, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755)
	}
	tests := map[string]struct {
		cfg  *schema.Config
		opts SystemdOptions
	}{
		"development":      {cfg: rootConfig("development"), opts: SystemdOptions{RunAs: "daemon"}},
		"production":       {cfg: rootConfig("production"), opts: SystemdOptions{RunAs: "daemon"}},
		"production-user":  {cfg: rootConfig("production"), opts: SystemdOptions{User: true}},
		"production-agent": {cfg: rootConfig("production"), opts: SystemdOptions{RunAs: "daemon", AgentOptions: AgentOptions{Agent: true, Beadsctl: "/bin/sh"}}},
		"startup":          {cfg: rootConfig("production"), opts: SystemdOptions{User: true, AgentOptions: AgentOptions{Agent: true, Beadsctl: "/bin/sh", Restore: true}}},
		"full":             {cfg: fullConfig("production")},
		"tricky":           {cfg: trickyConfig(), opts: SystemdOptions{Prefix: "beadsctl-", RunAs: "daemon"}},
		"root file":        {cfg: loadRoot(t, "production"), opts: SystemdOptions{RunAs: "daemon"}},
		"root file user":   {cfg: loadRoot(t, "development"), opts: SystemdOptions{User: true}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			for i := range tt.cfg.Daemons {
				if filepath.IsAbs(tt.cfg.Daemons[i].Command) { // /opt/bin/worker: verify needs it to exist
					tt.cfg.Daemons[i].Command, _ = look(filepath.Base(tt.cfg.Daemons[i].Command))
				}
			}
			opts := tt.opts
			opts.LookPath, opts.OutDir = look, out
			r, err := Systemd(tt.cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteFiles(out, r.Files); err != nil {
				t.Fatal(err)
			}
			units := 0
			for _, f := range r.Files {
				if !strings.HasSuffix(f.Name, ".service") {
					continue
				}
				units++
				args := []string{"verify", "--man=no", filepath.Join(out, f.Name)}
				cmd := exec.CommandContext(t.Context(), analyze, args...)
				if opts.User {
					cmd.Args = append([]string{analyze, "--user"}, args...)
					rt := t.TempDir()
					cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+rt)
				}
				msg, err := cmd.CombinedOutput()
				if err != nil || len(msg) > 0 {
					t.Errorf("systemd-analyze verify %s: %v\n%s\n%s", f.Name, err, msg, f.Data)
				}
			}
			if units == 0 {
				t.Fatal("no unit generated")
			}
		})
	}
}

// TestSystemdRoundTrip parses the units back with systemd's quoting rules and
// checks that ExecStart, Environment and the environment file carry the
// daemon's argv and environment exactly.
func TestSystemdRoundTrip(t *testing.T) {
	for _, cfg := range []*schema.Config{rootConfig("production"), trickyConfig()} {
		r, err := Systemd(cfg, SystemdOptions{Options: Options{LookPath: fakeLookPath, OutDir: "/etc/beadsctl"}, Prefix: "beadsctl-"})
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, f := range r.Files {
			files[f.Name] = f.Data
		}
		for _, d := range cfg.Daemons {
			t.Run(d.Name, func(t *testing.T) {
				name := "beadsctl-" + boot.ProjectID(cfg.Dir) + "-" + d.Name + ".service"
				unit := parseUnit(t, files[name])
				wantArgv := d.Argv()
				if !filepath.IsAbs(wantArgv[0]) {
					wantArgv[0] = "/usr/local/bin/" + wantArgv[0]
				}
				gotArgv := splitExec(t, unit["Service.ExecStart"][0], true)
				if diff := cmp.Diff(wantArgv, gotArgv); diff != "" {
					t.Errorf("ExecStart argv (-want +got):\n%s", diff)
				}
				gotEnv := map[string]string{}
				for _, line := range unit["Service.Environment"] {
					for _, w := range splitExec(t, line, false) {
						k, v, _ := strings.Cut(w, "=")
						gotEnv[k] = v
					}
				}
				if ef := unit["Service.EnvironmentFile"]; len(ef) > 0 {
					for k, v := range parseEnvFile(t, files[filepath.Base(ef[0])]) {
						gotEnv[k] = v
					}
				}
				wantEnv := d.Environment
				if wantEnv == nil {
					wantEnv = map[string]string{}
				}
				// PATH finds the command, then bd, git and dolt (all in
				// /usr/local/bin here), then the system folders.
				wantPath := filepath.Dir(wantArgv[0]) + ":/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
				wantPath = strings.Replace(wantPath, "/usr/local/bin:/usr/local/bin:", "/usr/local/bin:", 1)
				if gotEnv["PATH"] != wantPath {
					t.Errorf("PATH = %q, want %q", gotEnv["PATH"], wantPath)
				}
				delete(gotEnv, "PATH")
				if diff := cmp.Diff(wantEnv, gotEnv); diff != "" {
					t.Errorf("environment (-want +got):\n%s", diff)
				}
				for _, k := range d.Sensitive {
					v := d.Environment[k]
					if bytes.Contains(files[name], []byte(v)) {
						t.Errorf("sensitive value of %s is inline in the unit", k)
					}
				}
				if got := unit["Service.WorkingDirectory"]; len(got) != 1 || unspec(got[0]) != d.Dir {
					t.Errorf("WorkingDirectory = %q, want %q", got, d.Dir)
				}
			})
		}
	}
}

// TestSystemdStdoutSecrets: without -o the values are not printed and a
// warning says where they would go.
func TestSystemdStdoutSecrets(t *testing.T) {
	r, err := Systemd(trickyConfig(), SystemdOptions{Options: Options{LookPath: fakeLookPath}, Prefix: "beadsctl-"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Files {
		if !strings.HasSuffix(f.Name, ".service") {
			t.Errorf("file %s generated for stdout", f.Name)
		}
		for _, secret := range []string{"s3cr3t", "hunter2"} {
			if bytes.Contains(f.Data, []byte(secret)) {
				t.Errorf("%s prints a sensitive value", f.Name)
			}
		}
	}
	want := `daemon "web": sensitive: values of API_TOKEN, DB_PASSWORD are not printed; run with -o DIR to write them to DIR/beadsctl-100-ce267b97-web.env (mode 0600), or create /etc/systemd/system/beadsctl-100-ce267b97-web.env yourself`
	found := false
	for _, w := range r.Warnings {
		found = found || w.String() == want
	}
	if !found {
		t.Errorf("no warning %q in %v", want, r.Warnings)
	}
}

func TestExecLineQuoting(t *testing.T) {
	tests := map[string]struct {
		argv []string
		want string
	}{
		"plain":   {argv: []string{"/usr/bin/bd", "daemon", "--interval", "5s"}, want: "/usr/bin/bd daemon --interval 5s"},
		"space":   {argv: []string{"/x", "a b"}, want: `/x "a b"`},
		"dollar":  {argv: []string{"/x", "$HOME"}, want: `/x "$$HOME"`},
		"percent": {argv: []string{"/x", "100%"}, want: `/x "100%%"`},
		"quotes":  {argv: []string{"/x", `say "hi"`, "it's"}, want: `/x "say \"hi\"" "it's"`},
		"empty":   {argv: []string{"/x", ""}, want: `/x ""`},
		"semi":    {argv: []string{"/x", ";"}, want: `/x ";"`},
		"control": {argv: []string{"/x", "a\tb\nc\x01"}, want: `/x "a\tb\nc\x01"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := execLine(tt.argv)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.argv, splitExec(t, got, true)); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// loadRoot loads the root beads.hcl as the CLI does.
func loadRoot(t *testing.T, profile string) *schema.Config {
	t.Helper()
	cfg, _, diags := schema.Load(filepath.Join("..", "beads.hcl"), profile, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// parseUnit reads a unit file into "Section.Key" -> values.
func parseUnit(t *testing.T, data []byte) map[string][]string {
	t.Helper()
	if data == nil {
		t.Fatal("unit not generated")
	}
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("bad unit line %q", line)
			}
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

// unspec undoes specifier escaping ("%%" -> "%"); the units use no other specifier.
func unspec(s string) string { return strings.ReplaceAll(s, "%%", "%") }

// splitExec splits a value into words as systemd does for ExecStart= (dollar
// set: "$$" is a literal "$") and Environment=: specifiers, then quotes and C
// escapes.
func splitExec(t *testing.T, s string, dollar bool) []string {
	t.Helper()
	s = unspec(s)
	var words []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return words
		}
		var w strings.Builder
		quote := byte(0)
		for i < len(s) {
			c := s[i]
			switch {
			case quote == 0 && (c == ' ' || c == '\t'):
				goto done
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				i++
			case quote != 0 && c == quote:
				quote = 0
				i++
			case c == '\\' && i+1 < len(s):
				n, size := cUnescape(t, s[i+1:])
				w.WriteString(n)
				i += 1 + size
			case dollar && c == '$' && i+1 < len(s) && s[i+1] == '$':
				w.WriteByte('$')
				i += 2
			case dollar && c == '$':
				t.Fatalf("unescaped $ in %q would be expanded", s)
			default:
				w.WriteByte(c)
				i++
			}
		}
		if quote != 0 {
			t.Fatalf("unterminated quote in %q", s)
		}
	done:
		words = append(words, w.String())
	}
}

func cUnescape(t *testing.T, s string) (string, int) {
	switch s[0] {
	case 'n':
		return "\n", 1
	case 't':
		return "\t", 1
	case '\\', '"', '\'', ' ', ';':
		return s[:1], 1
	case 'x':
		n, err := strconv.ParseUint(s[1:3], 16, 8)
		if err != nil {
			t.Fatalf("bad escape \\%s", s[:3])
		}
		return string(rune(n)), 3
	}
	t.Fatalf("unknown escape \\%c", s[0])
	return "", 0
}

// parseEnvFile reads an EnvironmentFile= as systemd does for the quoting
// envFile uses.
func parseEnvFile(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("bad env line %q", line)
		}
		switch {
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = v[1 : len(v)-1]
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			var b strings.Builder
			for i := 1; i < len(v)-1; i++ {
				if v[i] == '\\' && i+1 < len(v)-1 {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		default:
			t.Fatalf("unquoted env value %q", line)
		}
		out[k] = v
	}
	return out
}
