//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyScreen collects what a program writes to its terminal.
type ptyScreen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{}
}

func (s *ptyScreen) copyFrom(r io.Reader) {
	b := make([]byte, 4096)
	for {
		n, err := r.Read(b)
		if n > 0 {
			s.mu.Lock()
			s.buf.Write(b[:n])
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}
		if err != nil {
			close(s.more)
			return
		}
	}
}

// waitFor waits until the output since mark contains every text; it returns the new mark.
func (s *ptyScreen) waitFor(t *testing.T, mark int, texts ...string) int {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		out := s.buf.String()
		s.mu.Unlock()
		all := true
		for _, x := range texts {
			if !strings.Contains(out[mark:], x) {
				all = false
			}
		}
		if all {
			return len(out)
		}
		select {
		case _, ok := <-s.more:
			if !ok {
				t.Fatalf("the terminal closed before showing %q; screen:\n%s", texts, out[mark:])
			}
		case <-deadline:
			t.Fatalf("no %q on the terminal after 20s; screen:\n%s", texts, out[mark:])
		}
	}
}

// TestMonitorUnderPTY runs `beadsctl monitor` on a real pseudo-terminal against
// a live agent and the bd simulator: it draws, follows a resize, restarts the
// daemon on r, and quits on q.
func TestMonitorUnderPTY(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, ".beads"), 0o700))
	must(os.WriteFile(filepath.Join(dir, ".beads", "beads.db"), nil, 0o600)) // as bd init leaves it
	must(os.WriteFile(filepath.Join(dir, "beads.hcl"), []byte(`daemon "beads" {
  command = "bd"
  args    = ["daemon", "--start", "--foreground"]
  stop { timeout = "2s" }
  limits { memory = "200M" }
}
`), 0o644))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("beadsctl", args...) // on PATH: testscript.Main put it there
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("beadsctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("apply", "--auto-approve")
	t.Cleanup(func() { run("destroy", "--auto-approve") })

	cmd := exec.Command("beadsctl", "monitor", "--interval", "200ms")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "NO_COLOR=1")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	must(err)
	defer tty.Close()
	screen := &ptyScreen{more: make(chan struct{}, 1)}
	go screen.copyFrom(tty)

	mark := screen.waitFor(t, 0, "beadsctl monitor", "agent pid", "beads", "online", "limit 200M", "logs: beads", "── events", "started", "q quit")
	must(pty.Setsize(tty, &pty.Winsize{Rows: 16, Cols: 90}))
	// After the resize the rule lines are redrawn 90 wide.
	rule := "── logs: beads "
	resized := screen.waitFor(t, mark, rule+strings.Repeat("─", 90-len([]rune(rule))))
	screen.mu.Lock()
	if strings.Contains(screen.buf.String()[mark:resized], rule+strings.Repeat("─", 91-len([]rune(rule)))) {
		t.Error("after the resize to 90 columns a rule is still drawn wider")
	}
	screen.mu.Unlock()
	mark = resized
	_, err = tty.Write([]byte("r"))
	must(err)
	// ": done" alone: the renderer may rewrite only the changed end of "restart beads..."
	// The events pane shows the restart and its reason (maybe before the done).
	mark = screen.waitFor(t, mark, ": done", "manual")
	if out := run("status"); !strings.Contains(out, "1 (0)") {
		t.Errorf("status after the restart from the monitor:\n%s", out)
	}
	if readStoppedFlag(t, dir) {
		t.Fatal("state records beads stopped after a restart")
	}
	// A stop from the monitor is a stop on purpose, as beadsctl stop is. Once
	// the agent shows it stopped, the monitor's session still holds the lock
	// until it has written the state: plan --out waits for that lock.
	_, err = tty.Write([]byte("s"))
	must(err)
	screen.waitFor(t, mark, "stopped by user")
	if out := run("plan", "--out", filepath.Join(dir, "plan.json"), "--lock-timeout", "20s"); !strings.Contains(out, "stopped on purpose") {
		t.Errorf("plan after a stop from the monitor does not know it was on purpose:\n%s", out)
	}
	if !readStoppedFlag(t, dir) {
		t.Error("a stop from the monitor is not recorded in state.json as stopped on purpose")
	}
	_, err = tty.Write([]byte("q"))
	must(err)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("monitor exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("monitor did not quit on q")
	}
}

// readStoppedFlag reads whether state.json records the daemon beads as
// stopped on purpose.
func readStoppedFlag(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".beadsctl", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Daemons map[string]struct {
			Stopped bool `json:"stopped"`
		} `json:"daemons"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	d, ok := st.Daemons["beads"]
	if !ok {
		t.Fatalf("state.json records no daemon beads:\n%s", b)
	}
	return d.Stopped
}
