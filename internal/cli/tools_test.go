package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestToolFor: the commands of beadsctl-tools are found with the global
// flags before them, through help and through shell completion; beadsctl's
// own are not.
func TestToolFor(t *testing.T) {
	root := New()
	for args, want := range map[string]string{
		"migrate --dry-run":             "migrate",
		"-f x.hcl --env prod fmt -":     "fmt",
		"import pm2 eco.js":             "import",
		"export systemd --agent":        "export",
		"help monitor":                  "monitor",
		"__complete startup --":         "startup",
		"__completeNoDesc export nomad": "export",
		"status":                        "",
		"help status":                   "",
		"__complete st":                 "",
		"":                              "",
		"nosuch":                        "",
	} {
		if got := toolFor(root, strings.Fields(args)); got != want {
			t.Errorf("toolFor(%q) = %q, want %q", args, got, want)
		}
	}
}

// TestHandOverWithoutTools: without beadsctl-tools beside beadsctl (this test
// binary has none), a tool command fails with the missing file's path and
// how to install it.
func TestHandOverWithoutTools(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := handOver("migrate", []string{"--env", "prod", "migrate", "--dry-run"}, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := "Error: beadsctl migrate runs in beadsctl-tools, which is missing: " + filepath.Join(filepath.Dir(exe), "beadsctl-tools") + ": no such file.\n" +
		"Install it beside beadsctl, from the same build: make install"
	if !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr:\n%s\nwant it to start\n%s", stderr.String(), want)
	}
}

// TestToolsVersionCheck: beadsctl-tools runs for a beadsctl of its version,
// or when run by itself, and refuses another; the variable is not passed on
// to what it starts.
func TestToolsVersionCheck(t *testing.T) {
	for _, tc := range []struct {
		env  *string
		ok   bool
		text string
	}{
		{env: nil, ok: true},
		{env: ptr(version), ok: true},
		{env: ptr("9.9.9"), ok: false, text: "is version " + version + ", beadsctl is 9.9.9: install both from the same build (make install)."},
	} {
		if tc.env != nil {
			t.Setenv(ToolsVersionEnv, *tc.env)
		}
		var stderr bytes.Buffer
		if ok := checkToolsVersion(&stderr); ok != tc.ok || !strings.Contains(stderr.String(), tc.text) {
			t.Errorf("%s=%v: ok %v, stderr %q; want %v, %q", ToolsVersionEnv, tc.env, ok, stderr.String(), tc.ok, tc.text)
		}
		if _, set := os.LookupEnv(ToolsVersionEnv); set {
			t.Errorf("%s is still set after the check", ToolsVersionEnv)
		}
	}
}

// TestToolsEnv: the environment beadsctl-tools gets holds this beadsctl's
// version once, whatever was there (on Windows in any case of the name).
func TestToolsEnv(t *testing.T) {
	in := []string{"A=1", ToolsVersionEnv + "=9.9.9", "beadsctl_tools_version=8.8.8", "B=" + ToolsVersionEnv + "=x"}
	want := []string{"A=1", "beadsctl_tools_version=8.8.8", "B=" + ToolsVersionEnv + "=x", ToolsVersionEnv + "=" + version}
	if got := toolsEnv(in, false); !slices.Equal(got, want) {
		t.Errorf("toolsEnv = %q, want %q", got, want)
	}
	want = slices.Delete(slices.Clone(want), 1, 2)
	if got := toolsEnv(in, true); !slices.Equal(got, want) {
		t.Errorf("toolsEnv folding case = %q, want %q", got, want)
	}
}

func ptr(s string) *string { return &s }

// TestToolsPathBesideALink: beadsctl-tools is found beside beadsctl, or, when
// beadsctl is a symbolic link to the installed binary, beside that binary.
func TestToolsPathBesideALink(t *testing.T) {
	bin, onPath := t.TempDir(), t.TempDir()
	for _, name := range []string{"beadsctl", ToolsName} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(onPath, "beadsctl")
	if err := os.Symlink(filepath.Join(bin, "beadsctl"), link); err != nil {
		t.Fatal(err)
	}
	if got, want := toolsPath(filepath.Join(bin, "beadsctl")), filepath.Join(bin, ToolsName); got != want {
		t.Errorf("beside the binary: %s, want %s", got, want)
	}
	if got, want := toolsPath(link), filepath.Join(bin, ToolsName); got != want {
		t.Errorf("through the link: %s, want %s", got, want)
	}
	if got, want := toolsPath(filepath.Join(onPath, "nothing")), filepath.Join(onPath, ToolsName); got != want {
		t.Errorf("none: %s, want %s (the path the error names)", got, want)
	}
}
