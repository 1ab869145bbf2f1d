package bd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetAutoStartOff(t *testing.T) {
	write := func(path string, data []byte, perm os.FileMode) error { return os.WriteFile(path, data, perm) }
	tests := map[string]struct{ in, want string }{
		"absent file": {"", "dolt.auto-start: false"},
		"flat key":    {"issue-prefix: x\ndolt.auto-start: true\n", "dolt.auto-start: false"},
		"nested":      {"# keep me\ndolt:\n  mode: server # and me\n", "  auto-start: false"},
		"nested on":   {"dolt:\n  auto-start: on\n", "auto-start: false"},
		"other keys":  {"issue-prefix: demo\n", "dolt.auto-start: false"},
		"already off": {"dolt:\n  auto-start: off\n", "auto-start: off"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.in != "" {
				if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(tc.in), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			changed, err := SetAutoStartOff(dir, write)
			if err != nil {
				t.Fatal(err)
			}
			if changed != (name != "already off") {
				t.Fatalf("changed = %v", changed)
			}
			out, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
			if tc.in != "" && name != "already off" {
				for _, line := range strings.Split(strings.TrimSpace(tc.in), "\n") {
					if strings.Contains(line, "#") && !strings.Contains(string(out), strings.TrimSpace(line[strings.Index(line, "#"):])) {
						t.Errorf("comment %q lost:\n%s", line, out)
					}
				}
			}
			if tc.in != "" && !strings.Contains(string(out), tc.want) || tc.in == "" && !strings.Contains(string(out), tc.want) {
				t.Fatalf("want %q in:\n%s", tc.want, out)
			}
			cfg, err := ReadConfigYAML(dir)
			if err != nil || !isFalsy(cfg["dolt.auto-start"]) {
				t.Fatalf("bd would read auto-start %q (%v) from:\n%s", cfg["dolt.auto-start"], err, out)
			}
		})
	}
}
