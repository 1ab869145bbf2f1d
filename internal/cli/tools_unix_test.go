//go:build !windows

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandOverToABrokenTools: a beadsctl-tools that cannot run (not
// executable, a folder, not a program: a torn copy) is named with why and how
// to install it; exec's "exec format error" alone said neither.
func TestHandOverToABrokenTools(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(filepath.Dir(exe), ToolsName)
	t.Cleanup(func() { os.RemoveAll(path) })
	for _, tc := range []struct {
		name, why string
		make      func() error
	}{
		{"not executable", "not an executable file", func() error { return os.WriteFile(path, []byte("#!/bin/sh\n"), 0o644) }},
		{"a folder", "not an executable file", func() error { return os.Mkdir(path, 0o755) }},
		{"not a program", "exec format error", func() error { return os.WriteFile(path, []byte("torn\x00\x01"), 0o755) }},
	} {
		os.RemoveAll(path)
		if err := tc.make(); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		if code := handOver("fmt", []string{"fmt", "-"}, &stderr); code != 1 {
			t.Errorf("%s: exit code %d, want 1", tc.name, code)
		}
		want := "Error: beadsctl fmt runs in beadsctl-tools, which cannot run: " + path + ": " + tc.why + ".\n" +
			"Install it beside beadsctl, from the same build: make install"
		if !strings.HasPrefix(stderr.String(), want) {
			t.Errorf("%s: stderr:\n%s\nwant it to start\n%s", tc.name, stderr.String(), want)
		}
	}
}
