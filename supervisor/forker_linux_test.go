package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// viaForker has every start of the test go through the forker (or, with
// false, none).
func viaForker(t *testing.T, on bool) {
	old := forkerFrom.Load()
	if on {
		forkerFrom.Store(0)
		if theForker() == nil {
			t.Fatal("no forker on this Linux (pidfd_getfd, unshare)")
		}
	} else {
		forkerFrom.Store(1 << 62)
	}
	t.Cleanup(func() { forkerFrom.Store(old) })
}

// TestForkerStartsAsTheRunnerDoes: a start through the forker gives the
// child what a start where the runner runs gives it (its output, its exit or
// signal, its folder, its own process group) and fails with the same words.
func TestForkerStartsAsTheRunnerDoes(t *testing.T) {
	dir := t.TempDir()
	type result struct {
		out, errs, err, startErr string
		pgidIsPid                bool
	}
	run := func(t *testing.T, forker bool, c Command) result {
		viaForker(t, forker)
		out, errw := &lockedBuffer{}, &lockedBuffer{}
		c.Stdout, c.Stderr = out, errw
		p, err := ExecRunner{}.Start(context.Background(), c)
		if err != nil {
			return result{startErr: err.Error()}
		}
		pgid, _ := unix.Getpgid(p.Pid())
		waitClosed(t, p.Done(), "Done")
		r := result{out: out.String(), errs: errw.String(), pgidIsPid: pgid == p.Pid()}
		if e := p.Err(); e != nil {
			r.err = e.Error()
		}
		return r
	}
	for name, c := range map[string]Command{
		"output and exit 3": {Argv: []string{"sh", "-c", `echo out; echo "$X" >&2; pwd; exit 3`}, Env: []string{"X=the env"}, Dir: dir},
		"signal":            {Argv: []string{"sh", "-c", "kill -TERM $$"}},
		"no such file":      {Argv: []string{filepath.Join(dir, "missing")}},
		"not in PATH":       {Argv: []string{"beadsctl-no-such-program"}, Env: []string{"PATH=/nonexistent"}},
		"no such folder":    {Argv: []string{"true"}, Dir: filepath.Join(dir, "missing")},
		"not executable":    {Argv: []string{filepath.Join(dir, "plain")}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("#!/bin/sh\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			want := run(t, false, c)
			if got := run(t, true, c); got != want {
				t.Errorf("through the forker: %+v\nwhere the runner runs: %+v", got, want)
			}
		})
	}
}

// TestForkerThreadIsTheParent: a child started through the forker is a
// child of the forker's thread. (Checked on a child that lives: one that
// exits at once may be reaped before its parent's children list is read, as
// TestForkerStartsAsTheRunnerDoes' "signal" case was in CI.)
func TestForkerThreadIsTheParent(t *testing.T) {
	viaForker(t, true)
	p, err := ExecRunner{}.Start(context.Background(), Command{Argv: []string{"sleep", "1000"}, Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	kids, _ := os.ReadFile("/proc/self/task/" + strconv.Itoa(theForker().tid) + "/children")
	if !slices.Contains(strings.Fields(string(kids)), strconv.Itoa(p.Pid())) {
		t.Errorf("pid %d is not a child of the forker's thread (its children: %q)", p.Pid(), kids)
	}
	if err := p.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, p.Done(), "Done")
}

// TestForkerKeepsNoDescriptorOfTheAgents: the forker's thread holds none of
// the agent's pipes or sockets (a copy would keep their other end from seeing
// the end), neither from before it was set up nor from the starts it made.
func TestForkerKeepsNoDescriptorOfTheAgents(t *testing.T) {
	viaForker(t, true)
	for range 3 {
		p, err := ExecRunner{}.Start(context.Background(), Command{Argv: []string{"true"}, Stdout: &lockedBuffer{}, Stderr: &lockedBuffer{}})
		if err != nil {
			t.Fatal(err)
		}
		waitClosed(t, p.Done(), "Done")
	}
	fdDir := "/proc/self/task/" + strconv.Itoa(theForker().tid) + "/fd"
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if strings.HasPrefix(l, "pipe:") || strings.HasPrefix(l, "socket:") {
			t.Errorf("the forker's thread holds fd %s: %s", e.Name(), l)
		}
	}
	if len(ents) > 8 {
		t.Errorf("the forker's thread holds %d descriptors, want a handful", len(ents))
	}
}

func init() {
	// forker-child: start sleep through the forker, print its pid, wait.
	platformHelpers["forker-child"] = func() int {
		forkerFrom.Store(0)
		p, err := ExecRunner{}.Start(context.Background(), Command{Argv: []string{"sleep", "1000"}})
		if err != nil || theForker() == nil {
			fmt.Fprintln(os.Stderr, "no start through the forker:", err)
			return 1
		}
		fmt.Println(p.Pid())
		select {}
	}
}

// TestForkerChildDiesWithTheAgent: a child started through the forker gets
// SIGKILL when the agent dies (its parent-death signal follows the forker's
// thread, which lives as long as the agent).
func TestForkerChildDiesWithTheAgent(t *testing.T) {
	agent := exec.Command(os.Args[0])
	agent.Env = append(os.Environ(), helperEnv+"=forker-child")
	out, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	agent.Stderr = os.Stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Wait()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		agent.Process.Kill()
		t.Fatalf("the helper printed no pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		agent.Process.Kill()
		t.Fatal(err)
	}
	fd := pidfd(t, pid)
	t.Cleanup(func() { _ = unix.Kill(pid, unix.SIGKILL) })
	if err := agent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if !exited(fd, 10*time.Second) {
		t.Fatalf("pid %d, started through the forker, outlived its agent's SIGKILL", pid)
	}
}
