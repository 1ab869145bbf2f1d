package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// On Linux a process's facts are read from /proc here, by the rules of
// gopsutil (which the other systems still use): linking gopsutil cost every
// beadsctl command its package initialisers (its cpu package reads
// /proc/stat twice at start) and the first start time read in a command
// the virtualisation probe below did in full (/proc/modules, cpuinfo, the
// PCI devices, ...). The start time must be the same as gopsutil's, to the
// millisecond: handles recorded by an earlier beadsctl are compared with it
// (TestStartTimeIsGopsutils).

// ClockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times:
// 100 on every Linux (gopsutil's sysconf says so too).
const ClockTicks = 100

// startMillis is gopsutil's CreateTime: the boot time in whole seconds plus
// /proc/PID/stat's starttime (field 22) in milliseconds.
func startMillis(pid int) (int64, error) {
	var buf [1024]byte
	b, err := readProc(pid, "stat", buf[:])
	if errors.Is(err, ErrGone) {
		return 0, err
	} else if err != nil {
		return 0, fmt.Errorf("start time of %w", err)
	}
	f := statFields(b)
	if len(f) < 20 {
		return 0, fmt.Errorf("start time of pid %d: malformed stat %q", pid, b)
	}
	t, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("start time of pid %d: %w", pid, err)
	}
	return int64(t*1000/ClockTicks + bootTime()*1000), nil
}

// statFields are the fields of a /proc/PID/stat after the command name
// (which may hold spaces and parentheses): the state (field 3) first.
func statFields(b []byte) [][]byte {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return nil
	}
	return bytes.Fields(b[i+2:])
}

// readProc reads /proc/PID/name into buf (a file the kernel formats at once,
// under a page); ErrGone when the process does not exist.
func readProc(pid int, name string, buf []byte) ([]byte, error) {
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/"+name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH) {
			return nil, fmt.Errorf("pid %d: %w", pid, ErrGone)
		}
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	defer syscall.Close(fd)
	n, err := syscall.Read(fd, buf)
	switch {
	case errors.Is(err, syscall.ESRCH):
		return nil, fmt.Errorf("pid %d: %w", pid, ErrGone)
	case err != nil:
		return nil, fmt.Errorf("pid %d: read %s: %w", pid, name, err)
	case n == 0:
		return nil, fmt.Errorf("pid %d: %w (empty %s)", pid, ErrGone, name)
	}
	return buf[:n], nil
}

// bootTime is gopsutil's BootTime, in seconds since the epoch: /proc/stat's
// btime, except in what gopsutil takes for an LXC or Docker guest, where it
// is now less /proc/uptime. Read at every call, as gopsutil does: a step or a
// slew of the wall clock moves it, and a process that kept an old one would
// disagree with one that reads it now.
func bootTime() uint64 {
	if guestBoot() {
		return bootFromUptimeNow(readUptime, time.Now)
	}
	// One read into a buffer on the stack (the kernel formats the file at
	// once); the whole file when it is larger.
	var buf [8192]byte
	var b []byte
	if fd, err := syscall.Open("/proc/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == nil {
		n, err := syscall.Read(fd, buf[:])
		syscall.Close(fd)
		if err == nil && n > 0 && n < len(buf) {
			b = buf[:n]
		}
	}
	if b == nil {
		var err error
		if b, err = os.ReadFile("/proc/stat"); err != nil {
			return 0
		}
	}
	i := bytes.Index(b, []byte("\nbtime"))
	if i < 0 {
		return 0
	}
	line, _, _ := bytes.Cut(b[i+len("\nbtime"):], []byte("\n"))
	f := bytes.Fields(line)
	if len(f) != 1 {
		return 0
	}
	t, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0
	}
	return uint64(t)
}

// bootFromUptimeNow is gopsutil's guest boot time: the clock after a read
// of /proc/uptime, less the uptime, truncated to the second. A read that was
// held up (preempted between the two: ~30 ms at load 10) gave a time as much
// later, and where the true boot time is a few hundredths before a whole
// second, a second later: a daemon's start time then read a second off, and
// a stop refused to signal the daemon as another process ("pid recycled")
// and left it running. The pair is read again, up to uptimeTries times, until
// the clock moved less than uptimeSkew across the read.
func bootFromUptimeNow(uptime func() (float64, bool), now func() time.Time) uint64 {
	var up float64
	var after time.Time
	for try := 0; try < uptimeTries; try++ {
		before := now()
		u, ok := uptime()
		if !ok {
			return 0 // as gopsutil: its error is ignored, the boot time 0
		}
		up, after = u, now()
		if after.Sub(before) < uptimeSkew {
			break
		}
	}
	return uint64(float64(after.UnixNano())/float64(time.Second) - up)
}

// The bounds of bootFromUptimeNow's reads.
const (
	uptimeTries = 20
	uptimeSkew  = 2 * time.Millisecond
)

// readUptime is /proc/uptime's first field, in seconds.
func readUptime() (float64, bool) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	up, err := strconv.ParseFloat(f[0], 64)
	return up, err == nil
}

// guestBoot is bootFromUptime, decided once per process (as gopsutil
// caches its virtualisation probe).
var guestBoot = sync.OnceValue(bootFromUptime)

// bootFromUptime is gopsutil's Virtualization() ending on role "guest" of
// system "lxc" or "docker": its later checks override the earlier ones, so
// only these decide: /.dockerenv; else not CoreOS (/etc/os-release ID); else
// /proc/self/cgroup naming lxc, then docker (or naming machine-rkt, or
// /usr/bin/lxc-version existing: not a guest); else pid 1's environment
// holding container=lxc.
func bootFromUptime() bool {
	if exists("/.dockerenv") {
		return true
	}
	if osReleaseID() == "coreos" {
		return false
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		s := string(b)
		switch {
		case strings.Contains(s, "lxc"):
			return true
		case strings.Contains(s, "docker"):
			return true
		case strings.Contains(s, "machine-rkt"), exists("/usr/bin/lxc-version"):
			return false
		}
	}
	b, err := os.ReadFile("/proc/1/environ")
	return err == nil && strings.Contains(string(b), "container=lxc")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// osReleaseID is /etc/os-release's ID as gopsutil reads it.
func osReleaseID() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	id := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Split(line, "=")
		if len(f) >= 2 && f[0] == "ID" {
			id = f[1]
			if len(id) >= 2 && id[0] == '"' && id[len(id)-1] == '"' {
				id = id[1 : len(id)-1]
			}
		}
	}
	return id
}

// zombie reports whether pid has exited and waits to be reaped (state Z).
func zombie(pid int) bool {
	var buf [1024]byte
	b, err := readProc(pid, "stat", buf[:])
	if err != nil {
		return false
	}
	f := statFields(b)
	return len(f) > 0 && len(f[0]) == 1 && f[0][0] == 'Z'
}

// cmdline is the argv of pid (nil for a kernel thread's empty line).
func cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return nil, fmt.Errorf("pid %d: %w", pid, ErrGone)
		}
		return nil, fmt.Errorf("command line of pid %d: %w", pid, err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	var argv []string
	for a := range bytes.SplitSeq(bytes.TrimRight(b, "\x00"), []byte{0}) {
		argv = append(argv, string(a))
	}
	return argv, nil
}

// cwd is the working folder of pid.
func cwd(pid int) (string, error) {
	dir, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return "", fmt.Errorf("pid %d: %w", pid, ErrGone)
		}
		return "", fmt.Errorf("working folder of pid %d: %w", pid, err)
	}
	return dir, nil
}

// pids lists the processes of the machine (the numeric names in /proc).
func pids() ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(names))
	for _, n := range names {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			out = append(out, pid)
		}
	}
	return out, nil
}
