package proc

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"
)

// recycle ends and reaps cmd, then starts `sleep 1000` on the same pid by
// setting the kernel's last pid (root in its pid namespace may). With
// laterTick, it tries until the new process's start time differs from the
// old one's, as it always does when a pid comes back the natural way. It
// returns nil when another process of the machine took the pid first.
func recycle(t *testing.T, cmd *exec.Cmd, laterTick bool) *exec.Cmd {
	t.Helper()
	pid := cmd.Process.Pid
	old, err := StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	for range 2000 {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); err != nil {
			t.Fatalf("recycling a pid needs /proc/sys/kernel/ns_last_pid (root): %v", err)
		}
		next := exec.Command("sleep", "1000")
		next.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := next.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = next.Process.Kill(); _ = next.Wait() })
		if next.Process.Pid == pid {
			st, err := StartTime(pid)
			if err != nil {
				t.Fatal(err)
			}
			if !laterTick || st.UnixMilli() != old.UnixMilli() {
				return next
			}
		}
		_ = next.Process.Kill()
		_ = next.Wait()
		if next.Process.Pid != pid {
			if _, err := StartTime(pid); err == nil {
				return nil // taken by a process not ours
			}
		}
	}
	return nil
}

// tries runs scenario until it could recycle its pid (it returns false when
// another process of the machine took the pid first), 20 times at most.
func tries(t *testing.T, scenario func() bool) {
	t.Helper()
	for range 20 {
		if scenario() {
			return
		}
	}
	t.Fatal("no pid could be recycled in 20 scenarios")
}

// TestRecycledPidIsNeverSignalled: a handle taken of one process refuses to
// signal the unrelated process that later got the same pid.
func TestRecycledPidIsNeverSignalled(t *testing.T) {
	tries(t, func() bool {
		first := sleeper(t)
		h, err := Open(first.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		second := recycle(t, first, true)
		if second == nil {
			return false
		}
		if err := h.Signal(syscall.SIGKILL); !errors.Is(err, ErrNotOurs) {
			t.Errorf("Signal = %v, want ErrNotOurs", err)
		}
		if err := h.SignalGroup(syscall.SIGKILL); !errors.Is(err, ErrNotOurs) {
			t.Errorf("SignalGroup = %v, want ErrNotOurs", err)
		}
		if !running(t, second.Process.Pid) {
			t.Fatal("the process that got the recycled pid was signalled")
		}
		return true
	})
}

// TestPidfdRaceRecycledAfterOpen: the pid is recycled after the pidfd was
// opened and before the identity check (the window of check-then-kill). Either
// the check sees the new start time (ErrNotOurs), or, recycled within the same
// clock tick so that the start times are equal, the pidfd still names the
// first, dead process (ErrGone): nothing reaches the second.
func TestPidfdRaceRecycledAfterOpen(t *testing.T) {
	for name, group := range map[string]bool{"Signal": false, "SignalGroup": true} {
		t.Run(name, func(t *testing.T) {
			tries(t, func() bool {
				first := sleeper(t)
				h, err := Open(first.Process.Pid)
				if err != nil {
					t.Fatal(err)
				}
				var second *exec.Cmd
				afterOpen = func() { second = recycle(t, first, false) }
				defer func() { afterOpen = func() {} }()
				if group {
					err = h.SignalGroup(syscall.SIGKILL)
				} else {
					err = h.Signal(syscall.SIGKILL)
				}
				if second == nil {
					return false
				}
				if !errors.Is(err, ErrNotOurs) && !errors.Is(err, ErrGone) {
					t.Errorf("%s = %v, want ErrNotOurs or ErrGone", name, err)
				}
				if !running(t, second.Process.Pid) {
					t.Fatal("the process that got the recycled pid was signalled")
				}
				return true
			})
		})
	}
}

// TestPidfdExitAfterOpen: the process exits after the pidfd was opened: the
// result is ErrGone and nothing else is signalled.
func TestPidfdExitAfterOpen(t *testing.T) {
	first := sleeper(t)
	h, err := Open(first.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	afterOpen = func() { _ = first.Process.Kill(); _ = first.Wait() }
	defer func() { afterOpen = func() {} }()
	if err := h.Signal(syscall.SIGTERM); !errors.Is(err, ErrGone) {
		t.Errorf("Signal = %v, want ErrGone", err)
	}
}

// leaderExitsEnv makes the test binary a process whose leader thread exits
// while another thread runs on: the state of a multi-threaded process being
// killed when its leader finishes first.
const leaderExitsEnv = "PROC_TEST_LEADER_EXITS"

func init() {
	if os.Getenv(leaderExitsEnv) == "1" {
		runtime.LockOSThread() // the main goroutine stays on the leader thread
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(leaderExitsEnv) == "1" {
		go func() { // on another thread: the process lives on
			for {
				time.Sleep(time.Hour)
			}
		}()
		os.Stdout.WriteString("ready\n")
		syscall.RawSyscall(syscall.SYS_EXIT, 0, 0, 0) // this thread only, not exit_group
	}
	os.Exit(m.Run())
}

// WaitGone waits for the whole process, not its leader thread: a process
// whose leader is a zombie while another thread runs still holds its files
// and sockets (testproc's cleanup returned while a killed dolt sql-server
// still took connections, and bd's next command was reset).
func TestWaitGoneWaitsForEveryThread(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), leaderExitsEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	h, err := Open(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, len("ready\n"))
	if _, err := io.ReadFull(out, line); err != nil {
		t.Fatal(err)
	}
	// The leader's exit is not an event anyone can wait on: look until it shows.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !zombie(h.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("the leader thread did not exit")
		}
		<-tick.C
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := h.WaitGone(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitGone = %v while a thread of %s still runs, want its deadline", err, h)
	}
	if err := syscall.Kill(h.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := h.WaitGone(ctx); err != nil {
		t.Fatalf("WaitGone after SIGKILL: %v", err)
	}
}

// TestStartTimeIsGopsutils: the start time, command line, working folder
// and zombie state read from /proc are gopsutil's (which beadsctl used
// before, and still uses elsewhere): a handle recorded by an earlier
// beadsctl must still be the same process.
func TestStartTimeIsGopsutils(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 0")
	cmd.Dir = t.TempDir()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := cmd.Process.Pid
	// The child exits at once; unreaped (WNOWAIT), it stays a zombie until Wait.
	var si unix.Siginfo
	if err := unix.Waitid(unix.P_PID, child, &si, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "1000")
	sleeper.Dir = cmd.Dir
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	for _, pid := range []int{os.Getpid(), os.Getppid(), 1, child, sleeper.Process.Pid} {
		p, err := process.NewProcess(int32(pid))
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.CreateTime()
		if err != nil {
			t.Fatal(err)
		}
		got, err := StartTime(pid)
		if err != nil {
			t.Fatal(err)
		}
		if got.UnixMilli() != want {
			t.Errorf("pid %d: start time %d ms, gopsutil's %d", pid, got.UnixMilli(), want)
		}
		st, _ := p.Status()
		if z := len(st) > 0 && st[0] == process.Zombie; zombie(pid) != z {
			t.Errorf("pid %d: zombie %v, gopsutil's %v", pid, !z, z)
		}
		if pid == child {
			continue // a zombie has neither command line nor folder
		}
		wantArgv, err := p.CmdlineSlice()
		if err != nil {
			t.Fatal(err)
		}
		if argv, err := Cmdline(pid); err != nil || !slices.Equal(argv, wantArgv) {
			t.Errorf("pid %d: command line %q (%v), gopsutil's %q", pid, argv, err, wantArgv)
		}
		wantDir, wantErr := p.Cwd() // pid 1's may be refused, even to root
		if dir, err := Cwd(pid); (err != nil) != (wantErr != nil) || dir != wantDir {
			t.Errorf("pid %d: folder %q (%v), gopsutil's %q (%v)", pid, dir, err, wantDir, wantErr)
		}
	}
	_ = cmd.Wait()
	if _, err := StartTime(child); !errors.Is(err, ErrGone) {
		t.Errorf("start time of a reaped child: %v, want ErrGone", err)
	}
	if _, err := Cmdline(child); !errors.Is(err, ErrGone) {
		t.Errorf("command line of a reaped child: %v, want ErrGone", err)
	}
	all, err := Pids()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(all, os.Getpid()) || !slices.Contains(all, 1) || slices.Contains(all, child) {
		t.Errorf("Pids: %d pids, self/1/reaped child %v %v %v", len(all), slices.Contains(all, os.Getpid()), slices.Contains(all, 1), slices.Contains(all, child))
	}
}

// TestBootTimeIsGopsutils: the boot time is gopsutil's (btime here, or its
// uptime rule in a container).
func TestBootTimeIsGopsutils(t *testing.T) {
	want, err := host.BootTime()
	if err != nil {
		t.Fatal(err)
	}
	if got := bootTime(); got != want {
		t.Errorf("boot time %d, gopsutil's %d", got, want)
	}
}

// TestBootFromUptimeHeldUp: a read of /proc/uptime held up before the
// clock is read (preempted) is read again: the boot time is the one of a read
// that took no time, not a second later (a daemon's start time a second off
// made its stop take it for another process and leave it running).
func TestBootFromUptimeHeldUp(t *testing.T) {
	at := func(s float64) time.Time { return time.Unix(0, int64(s*float64(time.Second))) }
	clock := []time.Time{at(1000.975), at(1001.025), at(1000.976), at(1000.977)} // 50 ms held up, then 1 ms
	now := func() time.Time { c := clock[0]; clock = clock[1:]; return c }
	uptime := func() (float64, bool) { return 100, true }
	if got := bootFromUptimeNow(uptime, now); got != 900 {
		t.Errorf("boot time %d, want 900 (the read held up gave 901)", got)
	}
	if len(clock) != 0 {
		t.Errorf("%d clock reads left, want the held-up pair read again", len(clock))
	}
	// Always held up: the reads are bounded, the last one counts.
	var calls int
	slow := func() time.Time { calls++; return at(1000.975 + float64(calls)*0.05) }
	if got := bootFromUptimeNow(uptime, slow); got == 0 || calls != 2*uptimeTries {
		t.Errorf("always held up: boot %d after %d clock reads, want one after %d", got, calls, 2*uptimeTries)
	}
	if got := bootFromUptimeNow(func() (float64, bool) { return 0, false }, time.Now); got != 0 {
		t.Errorf("no uptime: boot %d, want 0 (as gopsutil)", got)
	}
}
