//go:build unix

package bdsim

// Process identity and signalling for the bd 1.x mode, after
// internal/doltserver/doltserver_unix.go (v1.0.5). bd shells out to pgrep, ps
// and lsof; the simulator reads the same facts through gopsutil (/proc on
// Linux): command line, state (zombies excluded), working directory and the
// listener of a port.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	psnet "github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// v1Supported: the bd 1.x mode runs on unix (flock, process groups).
const v1Supported = true

// detachedAttr is doltserver_unix.go procAttrDetached: a new process group,
// so the server outlives the bd command that started it (re-parented when bd
// exits).
func detachedAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// serverAlive is isProcessAlive (signal 0), except that a zombie counts as
// dead: it no longer serves anything and only waits for its parent.
func serverAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	return !isZombie(pid)
}

func isZombie(pid int) bool {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return false
	}
	st, err := p.Status()
	if err != nil {
		return false
	}
	return slices.Contains(st, process.Zombie)
}

var doltSQLServerRe = regexp.MustCompile(`dolt.*sql-server`)

// listDoltProcessPIDs is bd's `pgrep -f 'dolt.*sql-server'` filtered to
// non-zombies whose command line holds both "dolt" and "sql-server".
func listDoltProcessPIDs() []int {
	pids, err := process.Pids()
	if err != nil {
		return nil
	}
	var out []int
	for _, pid := range pids {
		p, err := process.NewProcess(pid)
		if err != nil {
			continue
		}
		cmdline, err := p.Cmdline()
		if err != nil || !doltSQLServerRe.MatchString(cmdline) {
			continue
		}
		if !strings.Contains(cmdline, "dolt") || !strings.Contains(cmdline, "sql-server") {
			continue
		}
		if st, err := p.Status(); err != nil || slices.Contains(st, process.Zombie) {
			continue
		}
		out = append(out, int(pid))
	}
	return out
}

// isDoltProcess: pid is a live dolt sql-server.
func isDoltProcess(pid int) bool {
	return slices.Contains(listDoltProcessPIDs(), pid)
}

// isProcessInDir is bd's `lsof -a -p PID -d cwd`: the process's working
// directory is dir (dolt sql-server runs with cmd.Dir = the data dir).
func isProcessInDir(pid int, dir string) bool {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return false
	}
	cwd, err := p.Cwd()
	if err != nil {
		return false
	}
	return sameDir(cwd, dir)
}

func sameDir(a, b string) bool {
	ea, errA := filepath.EvalSymlinks(a)
	eb, errB := filepath.EvalSymlinks(b)
	if errA == nil && errB == nil {
		return ea == eb
	}
	aa, _ := filepath.Abs(a)
	ab, _ := filepath.Abs(b)
	return aa == ab
}

// findPIDOnPort is bd's `lsof -ti :PORT -sTCP:LISTEN`; 0 when unknown.
func findPIDOnPort(port int) int {
	conns, err := psnet.Connections("tcp")
	if err != nil {
		return 0
	}
	for _, c := range conns {
		if c.Status == "LISTEN" && int(c.Laddr.Port) == port && c.Pid > 0 {
			return int(c.Pid)
		}
	}
	return 0
}

func killPID(pid int) error {
	return unix.Kill(pid, unix.SIGKILL)
}

// gracefulStop is doltserver_unix.go gracefulStop: SIGTERM, wait up to
// timeout for the process to go, then SIGKILL and wait up to timeout again,
// as bd's later doltserver_unix.go does (bd-jvki): SIGKILL is not
// instantaneous (a dolt in an uninterruptible write dies when the write
// returns), and a stop that returned before the process is gone would let its
// caller remove the pid and port files, start a rival or remove the data dir
// under a server still writing there. v1.0.5 slept 100 ms after the SIGKILL and returned nil. bd polls
// every 500 ms (100 ms after the SIGKILL); the simulator waits on a pidfd.
func gracefulStop(pid int, timeout time.Duration) error {
	h, _ := proc.Open(pid) // before the signal: the start time names this process
	if err := unix.Kill(pid, unix.SIGTERM); err != nil {
		return fmt.Errorf("sending SIGTERM to PID %d: %w", pid, err)
	}
	if waitExit(h, timeout) {
		return nil
	}
	_ = unix.Kill(pid, unix.SIGKILL)
	if waitExit(h, timeout) {
		return nil
	}
	return fmt.Errorf("process %d still alive %s after SIGKILL (likely uninterruptible I/O); not confirming death", pid, timeout)
}

// waitExit reports whether h's process has exited within timeout: all of it
// (proc.WaitGone), not only its leader thread, which in a killed dolt can be
// a zombie while the other threads still hold the data dir and the port.
func waitExit(h proc.Handle, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.WaitGone(ctx) == nil
}

// lockStart takes dolt-server.lock as bd's Start does: a non-blocking
// exclusive flock, and when another bd holds it, a blocking one.
func lockStart(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("acquiring start lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("waiting for server start lock: %w", err)
		}
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
