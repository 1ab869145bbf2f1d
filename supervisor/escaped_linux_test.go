package supervisor

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMayBeExecing: an environment that reads empty is read again only in a
// process that can be in the middle of an execve — not a kernel thread, not
// a zombie, not one started with an empty environment (env -i: it has a
// command line), not one gone.
func TestMayBeExecing(t *testing.T) {
	if _, err := os.Stat("/proc/2/stat"); err == nil {
		if b, _ := os.ReadFile("/proc/2/comm"); string(b) == "kthreadd\n" && mayBeExecing(2) {
			t.Error("kthreadd (a kernel thread) may be execing")
		}
	}
	if mayBeExecing(os.Getpid()) {
		t.Error("this process (it has a command line) may be execing")
	}
	// Right after its start a child is often still in its execve, and then
	// it may be execing (this test caught it there 4 runs in 6): it says
	// when it runs, and then waits on its input.
	empty := exec.Command("env", "-i", "sh", "-c", "echo running; read x")
	in, err := empty.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := empty.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close(); _ = empty.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "running\n" {
		t.Fatalf("env -i sh: %q, %v", line, err)
	}
	if b, _ := os.ReadFile("/proc/" + strconv.Itoa(empty.Process.Pid) + "/environ"); len(b) != 0 {
		t.Fatalf("env -i sh has an environment: %q", b)
	}
	if mayBeExecing(empty.Process.Pid) {
		t.Error("a process started with env -i may be execing")
	}
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, zombie.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if mayBeExecing(zombie.Process.Pid) {
		t.Error("a zombie may be execing")
	}
	_ = zombie.Wait()
	if mayBeExecing(zombie.Process.Pid) {
		t.Error("a reaped process may be execing")
	}
}
