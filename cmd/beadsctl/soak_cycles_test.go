//go:build soak && linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSoakPlanApplyCycles: 100 plan/apply cycles alternating two configs (one
// restart and one in-place update each time), with the real binaries. The state
// serial grows by exactly one per apply, the processes of the project are
// always the agent and the two daemons, and nothing of ours is left after destroy.
func TestSoakPlanApplyCycles(t *testing.T) {
	const cycles = 100
	bin, dir := t.TempDir(), t.TempDir()
	for pkg, name := range map[string]string{".": "beadsctl", "../beadsctl-agent": "beadsctl-agent", "../../cmd/bdsim": "bd"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".beads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".beads", "beads.db"), nil, 0o600); err != nil { // bd init
		t.Fatal(err)
	}
	run := func(wantCode int, args ...string) string {
		cmd := exec.Command(filepath.Join(bin, "beadsctl"), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "BEADSCTL_ENV=", "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantCode {
			t.Fatalf("beadsctl %s: exit %d, want %d\n%s", strings.Join(args, " "), code, wantCode, out)
		}
		return string(out)
	}
	serial := func() int64 {
		var st struct{ Serial int64 }
		b, err := os.ReadFile(filepath.Join(dir, ".beadsctl", "state.json"))
		if err != nil {
			return 0
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("state.json: %v", err)
		}
		return st.Serial
	}
	configs := [2]string{soakConfig("5s", "100M"), soakConfig("7s", "200M")}
	start := serial()
	for i := range cycles {
		if err := os.WriteFile(filepath.Join(dir, "beads.hcl"), []byte(configs[i%2]), 0o644); err != nil {
			t.Fatal(err)
		}
		run(2, "plan", "--detailed-exitcode")
		run(0, "apply", "--auto-approve")
		run(0, "plan", "--detailed-exitcode")
		if got, want := serial(), start+int64(i+1); got != want {
			t.Fatalf("cycle %d: serial %d, want %d", i, got, want)
		}
		if procs := soakProcsIn(dir); len(procs) != 3 {
			t.Fatalf("cycle %d: %d processes of ours (%v), want the agent and 2 daemons", i, len(procs), procs)
		}
	}
	run(0, "drift")
	run(0, "destroy", "--auto-approve")
	for _, p := range soakProcsIn(dir) { // the agent answers shutdown just before it exits
		pid, _ := strconv.Atoi(strings.SplitN(p, ":", 2)[0])
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 5000)
			unix.Close(fd)
		}
	}
	if procs := soakProcsIn(dir); len(procs) != 0 {
		t.Fatalf("after destroy: processes left %v", procs)
	}
	t.Logf("soak: %d plan/apply cycles, state serial %d -> %d, no stray process", cycles, start, serial())
}

func soakConfig(interval, memory string) string {
	return `daemon "beads" {
  command  = "bd"
  args     = ["daemon", "--start", "--foreground"]
  interval = "` + interval + `"
  stop { timeout = "2s" }
}
daemon "web" {
  command = "sleep"
  args    = ["1000"]
  limits { memory = "` + memory + `" }
  stop { timeout = "2s" }
}
`
}

// soakProcsIn lists the live processes whose working directory is dir.
func soakProcsIn(dir string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !pidAlive(pid) {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir {
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			out = append(out, e.Name()+":"+strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " "))
		}
	}
	return out
}
