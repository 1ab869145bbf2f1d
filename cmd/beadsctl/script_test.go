//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"

	"github.com/beadsctl/beadsctl/internal/agentapi"
	"github.com/beadsctl/beadsctl/internal/agentmain"
	"github.com/beadsctl/beadsctl/internal/bdsim"
	"github.com/beadsctl/beadsctl/internal/cli"
	"github.com/beadsctl/beadsctl/internal/clitools"
	"github.com/beadsctl/beadsctl/internal/testproc"
	"github.com/beadsctl/beadsctl/reconcile"
)

func TestMain(m *testing.M) {
	// No test looks for beads.hcl above the temporary folder: a stray
	// /tmp/beads.hcl (another run's) was found from a test's folder upwards
	// and used (TestStateResetAsksOnATerminal: "No state to reset"). Only
	// when unset: this binary is also the beadsctl the scripts run.
	if _, ok := os.LookupEnv(cli.CeilingEnv); !ok {
		os.Setenv(cli.CeilingEnv, os.TempDir())
	}
	// beadsctl and beadsctl-tools as make build puts them side by side: the
	// commands of beadsctl-tools are handed over to it as they are installed.
	testscript.Main(m, map[string]func(){
		"beadsctl":             func() { os.Exit(cli.Main()) },
		cli.ToolsName:          func() { os.Exit(clitools.Main()) },
		agentapi.LeanAgentName: func() { os.Exit(agentmain.Main(cli.Version())) },
		// beadsctl of another version (as -X main.version=9.9.9 builds it); the
		// agent it starts (beadsctl-agent beside it is of the version above)
		// runs in beadsctl-next itself.
		"beadsctl-next": func() {
			cli.SetVersion("9.9.9")
			cli.SetAgentHere(func(ctx context.Context, dir string, run *agentapi.AgentRun, log *slog.Logger) error {
				return agentmain.Run(ctx, dir, run, log, "9.9.9")
			})
			os.Exit(cli.Main())
		},
		"bd":     func() { os.Exit(bdsim.Main()) },
		"stackd": func() { os.Exit(stackd()) },
	})
}

func TestScripts(t *testing.T) {
	// $REPO is the repository root, for scripts that check its own files.
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv(cli.CeilingEnv, os.TempDir())
			env.Setenv("BEADSCTL_ENV", "")
			env.Setenv("REPO", repo)
			// Whatever a script left running (an agent started by apply and its
			// daemons, a bd started by hand) is stopped when the script ends.
			dir := env.WorkDir
			env.Defer(func() {
				shutdownAgent(env.T(), dir)
				killStrays(env.T(), dir)
			})
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile":   cmdWaitfile,
			"doltcount":  cmdDoltcount,
			"waitdiffer": cmdWaitdiffer,
			"needdolt":   cmdNeeddolt,
			"waitport":   cmdWaitport,
			"freeport":   cmdFreeport,
			"setenvfile": cmdSetenvfile,
			"pidgone":    cmdPidgone,
			"sigterm":    cmdSigterm,
			"signal":     cmdSignal,
		},
	})
}

// cmdWaitfile waits until a file exists (and, with a second argument, contains
// that text): a readiness barrier for processes started in the background.
// Usage: waitfile [-timeout 10s] [-count N] path [text] (N lines holding text)
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	timeout, count := 10*time.Second, 1
	for len(args) >= 2 && (args[0] == "-timeout" || args[0] == "-count") {
		switch args[0] {
		case "-timeout":
			d, err := time.ParseDuration(args[1])
			ts.Check(err)
			timeout = d
		case "-count":
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			count = n
		}
		args = args[2:]
	}
	if len(args) < 1 || len(args) > 2 || (count != 1 && len(args) != 2) {
		ts.Fatalf("usage: waitfile [-timeout D] [-count N] path [text]")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(timeout)
	for {
		ok := fileHas(path, args[1:], count)
		if ok != neg {
			return
		}
		if time.Now().After(deadline) {
			if neg {
				ts.Fatalf("%s still present after %v", args[0], timeout)
			}
			ts.Fatalf("%s not ready after %v", args[0], timeout)
		}
		waitForChange(filepath.Dir(path), 20*time.Millisecond)
	}
}

// fileHas reports whether path exists (no text) or has at least count lines
// holding text.
func fileHas(path string, text []string, count int) bool {
	if len(text) == 0 {
		// Stat, not open: a unix socket exists but cannot be opened.
		_, err := os.Stat(path)
		return err == nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), text[0]) {
			if n++; n >= count {
				return true
			}
		}
	}
	return false
}

// cmdSignal sends a signal to the pid found in a file: the first integer of a
// plain pid file (bd's daemon.pid), or the "pid" field of a JSON file.
// testscript's own kill only knows -INT and -KILL.
// Usage: signal TERM|INT|HUP|KILL|QUIT|USR1|USR2|STOP|CONT pidfile
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: signal SIG pidfile")
	}
	sigs := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP,
		"KILL": syscall.SIGKILL, "QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
		"STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT}
	sig, ok := sigs[strings.TrimPrefix(strings.TrimPrefix(args[0], "-"), "SIG")]
	if !ok {
		ts.Fatalf("unknown signal %s", args[0])
	}
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	pid := 0
	var doc struct {
		Pid int `json:"pid"`
	}
	if json.Unmarshal(data, &doc) == nil && doc.Pid > 0 {
		pid = doc.Pid
	} else if pid, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
		ts.Fatalf("%s: no pid: %v", args[1], err)
	}
	err = syscall.Kill(pid, sig)
	if (err != nil) != neg {
		ts.Fatalf("signal %s %d: %v", args[0], pid, err)
	}
	if sig == syscall.SIGSTOP && !neg && !threadsStopped(pid, 5*time.Second) {
		ts.Fatalf("pid %d not stopped 5s after SIGSTOP", pid)
	}
}

// threadsStopped waits until each thread of pid has taken a SIGSTOP (state T
// in /proc/PID/task/*/stat): kill(2) returns before a thread busy on another
// core stops. /proc has nothing to wait on, so it looks again after a yield.
func threadsStopped(pid int, max time.Duration) bool {
	for deadline := time.Now().Add(max); time.Now().Before(deadline); runtime.Gosched() {
		stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		n := 0
		for _, p := range stats {
			if b, err := os.ReadFile(p); err == nil {
				if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'T' {
					n++
				}
			}
		}
		if n > 0 && n == len(stats) {
			return true
		}
	}
	return false
}

// shutdownAgent stops the agent of dir, if one answers, and waits until it is gone.
func shutdownAgent(t testscript.T, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := reconcile.Dial(dir)
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return // no agent: nothing to do
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Log("shutdown agent:", err)
	}
	// Wait for the agent process to exit: its pid vanishes (or turns zombie).
	for ctx.Err() == nil {
		if syscall.Kill(st.Pid, 0) != nil {
			return
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", st.Pid)); err == nil && strings.Contains(string(b), ") Z ") {
			return
		}
		waitForChange(filepath.Join(dir, ".beadsctl"), 20*time.Millisecond)
	}
	t.Log("agent did not exit; killing pid", st.Pid)
	_ = syscall.Kill(st.Pid, syscall.SIGKILL)
}

// cmdPidgone checks that the process whose pid is in each file is gone (a zombie
// counts as gone), waiting up to 5s on a pidfd for one that is exiting.
// With !, it checks the processes are alive. Usage: pidgone file...
func cmdPidgone(ts *testscript.TestScript, neg bool, args []string) {
	timeout := 5 * time.Second
	if len(args) >= 2 && args[0] == "-timeout" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		timeout, args = d, args[2:]
	}
	if len(args) == 0 {
		ts.Fatalf("usage: pidgone [-timeout D] file...")
	}
	for _, f := range args {
		pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(f)))
		ts.Check(err)
		if neg {
			if !pidAlive(pid) {
				ts.Fatalf("pid %d (%s) is gone", pid, f)
			}
			continue
		}
		// A SIGKILLed process in uninterruptible I/O (dolt fsyncing on a
		// loaded machine) dies only when the I/O ends: wait on its pidfd,
		// which turns readable once every thread has exited, up to timeout.
		// The pidfd's answer is final: once it is readable the process has
		// exited, and the pid may already name a new process (pid_max is
		// 32768 here; under load a reaped pid came back within 2 s and was
		// taken for the killed dolt still running, 1 run in 20).
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			exited := false
			deadline := time.Now().Add(timeout)
			for left := time.Until(deadline); left > 0 && !exited; left = time.Until(deadline) {
				n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
				if err != nil && err != unix.EINTR {
					unix.Close(fd)
					ts.Fatalf("pidgone: poll pidfd of %d: %v", pid, err)
				}
				exited = n > 0
			}
			unix.Close(fd)
			if !exited {
				ts.Fatalf("pid %d (%s) is still running after %v", pid, f, timeout)
			}
			continue
		} else if err == unix.ESRCH {
			continue
		}
		if pidAlive(pid) {
			ts.Fatalf("pid %d (%s) is still running after %v", pid, f, timeout)
		}
	}
}

// pidAlive reports whether pid runs and is not a zombie.
func pidAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// cmdSigterm sends SIGTERM to the pid written in a file (testscript's kill only
// knows INT and KILL). Usage: sigterm file
func cmdSigterm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: sigterm file")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[0])))
	ts.Check(err)
	ts.Check(unix.Kill(pid, unix.SIGTERM))
}

// killStrays kills what a script left running in dir (a background bd started
// by hand, the `dolt send-metrics` a stopped dolt leaves behind): every process
// whose working directory is inside dir, and waits until each is gone, so that
// none is still writing into $WORK when testscript removes it.
func killStrays(t testscript.T, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), testproc.Deadline)
	defer cancel()
	killed, err := testproc.KillBelow(ctx, dir)
	for _, k := range killed {
		t.Log("killed stray process", k)
	}
	if err != nil {
		t.Fatal(err)
	}
}
