//go:build linux

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestStateResetAsksOnATerminal: on a terminal, state reset says what it
// forgets and asks as apply and destroy do; anything but "yes" keeps the
// state, "yes" moves it aside.
func TestStateResetAsksOnATerminal(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, ".beadsctl", "state.json")
	if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte(`{"format_version": 1, "lineage": "6b9e1c7e-2d0c-4e55-9d0e-0c7f4a9f0b11", "serial": 3,
  "daemons": {"web": {"spec": {"name": "web", "command": "sleep"}, "hash": "abc", "applied_at": "2026-01-01T00:00:00Z"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	reset := func(answer string) (*ptyScreen, error) {
		t.Helper()
		cmd := exec.Command("beadsctl", "state", "reset") // on PATH: testscript.Main put it there
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		tty, err := pty.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		defer tty.Close()
		screen := &ptyScreen{more: make(chan struct{}, 1)}
		go screen.copyFrom(tty)
		screen.waitFor(t, 0, "forget what the last apply recorded (serial 3, 1 daemon): daemon.web.", "Nothing is stopped",
			"Do you want to reset the state?", "Enter a value:")
		if _, err := tty.Write([]byte(answer + "\n")); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return screen, err
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatal("state reset did not return after the answer")
			return nil, nil
		}
	}

	screen, err := reset("y")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("state reset answered y: %v, want exit status 1", err)
	}
	screen.waitFor(t, 0, "State reset cancelled.")
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("state reset answered y (not yes) did not keep the state: %v", err)
	}

	screen, err = reset("yes")
	if err != nil {
		t.Fatalf("state reset answered yes: %v", err)
	}
	screen.waitFor(t, 0, "State moved to")
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json still there after yes: %v", err)
	}
	moved, _ := filepath.Glob(state + ".reset-*")
	if len(moved) != 1 {
		t.Errorf("moved aside: %q, want one state.json.reset-*", moved)
	}
}
