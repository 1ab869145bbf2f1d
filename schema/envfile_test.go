package schema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEnvLines(t *testing.T) {
	tests := map[string]struct {
		src  string
		line int
		err  string
		want map[string]string
	}{
		"ok": {src: "# c\nexport A=1\nB: 2\nC='x y' # z\nD=\"${A}2\"\r\n",
			want: map[string]string{"A": "1", "B": "2", "C": "x y", "D": "12"}},
		"not a statement": {src: "A=1\n\nNOT A LINE\nB=2\n", line: 3, err: `"NOT A LINE" is not KEY=value`},
		"bad name":        {src: "A=1\nB-C=2\n", line: 2, err: `unexpected character "-" in variable name in "B-C=2"`},
		"unterminated":    {src: "A=1\nB=\"open\nC=3\n", line: 2, err: "a quoted value is not closed"},
		"no name":         {src: "A=1\n=2\n", line: 2, err: "a line has no variable name before ="},
		"crlf":            {src: "A=1\r\nB C\r\n", line: 2, err: `"B C" is not KEY=value`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			vars, line, err := ParseEnv([]byte(tc.src))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, vars); diff != "" {
					t.Errorf("vars (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || err.Error() != tc.err || line != tc.line {
				t.Errorf("got line %d, %v; want line %d, %s", line, err, tc.line, tc.err)
			}
		})
	}
}

func TestLoadEnvFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(".env", "A=from-env\nB=from-env\nC=from-env\n")
	write("prod.env", "B=from-prod\n")
	write("beads.hcl", `daemon "web" {
  command     = "sleep"
  env_file    = ".env"
  environment = { C = "explicit" }
}
env "prod" {
  daemon "web" { env_file = [".env", "prod.env"] }
}
`)
	path := filepath.Join(dir, "beads.hcl")
	load := func(profile string) *Daemon {
		t.Helper()
		cfg, _, diags := Load(path, profile, nil)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return &cfg.Daemons[0]
	}
	d := load("")
	if diff := cmp.Diff(map[string]string{"A": "from-env", "B": "from-env", "C": "explicit"}, d.Environment); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"A": ".env", "B": ".env"}, d.EnvFrom); diff != "" {
		t.Errorf("env from (-want +got):\n%s", diff)
	}
	if p := load("prod"); p.Environment["B"] != "from-prod" || p.EnvFrom["B"] != "prod.env" {
		t.Errorf("profile's env files: %v from %v", p.Environment, p.EnvFrom)
	}
	before := d.Hash
	write(".env", "A=changed\nB=from-env\nC=from-env\n")
	if load("").Hash == before {
		t.Errorf("a change in the env file does not change the hash")
	}
}
