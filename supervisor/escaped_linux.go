package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// environRetries bounds the re-reads of an environment that read empty in
// a process that is neither a kernel thread nor a zombie: one in the middle
// of an execve (between the switch to its new memory and the placing of its
// environment there the kernel shows none), 1 ms apart.
const environRetries = 20

// pidsWithEnvs returns, for each entry of want ("KEY=VALUE"), the pids
// (other than ours) whose environment holds it, from one reading of every
// /proc/<pid>/environ but those of the pids skip returns, which it asks for
// once /proc is listed. Each is read with open, read and close into one
// buffer (os.ReadFile stat'ed each file twice more, and bytes.Split made a
// slice of its variables). A process caught in an execve reads with no
// environment at all: it is read again until it shows one (a double-forked
// grandchild exec'ing sleep outlived its daemon's stop when the sweep read
// it then).
func pidsWithEnvs(want map[string]bool, skip func() map[int]bool) map[string][]int {
	out := map[string][]int{}
	d, err := os.Open("/proc")
	if err != nil {
		return out
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return out
	}
	self := os.Getpid()
	skipped := skip()
	match := func(pid int, b []byte) {
		for rest := b; len(rest) > 0; {
			e := rest
			if i := bytes.IndexByte(rest, 0); i >= 0 {
				e, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			if want[string(e)] {
				out[string(e)] = append(out[string(e)], pid)
				return
			}
		}
	}
	buf := make([]byte, 16<<10)
	var doubt []int
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self || skipped[pid] {
			continue
		}
		var n int
		if buf, n = readEnviron(name, buf); n < 0 {
			continue
		}
		if n == 0 {
			if mayBeExecing(pid) {
				doubt = append(doubt, pid)
			}
			continue
		}
		match(pid, buf[:n])
	}
	for try := 0; len(doubt) > 0 && try < environRetries; try++ {
		time.Sleep(time.Millisecond)
		left := doubt[:0]
		for _, pid := range doubt {
			var n int
			buf, n = readEnviron(strconv.Itoa(pid), buf)
			switch {
			case n < 0:
			case n > 0:
				match(pid, buf[:n])
			case mayBeExecing(pid):
				left = append(left, pid)
			}
		}
		doubt = left
	}
	return out
}

// readEnviron reads /proc/<pid>/environ into buf, grown when it does not
// fit; n is how much was read (-1: gone, not ours, unreadable).
func readEnviron(pid string, buf []byte) ([]byte, int) {
	fd, err := syscall.Open("/proc/"+pid+"/environ", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return buf, -1
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf, -1
		}
		if m == 0 {
			return buf, n
		}
		n += m
	}
}

// pfKthread is the kernel's PF_KTHREAD flag (/proc/<pid>/stat, field 9).
const pfKthread = 0x00200000

// mayBeExecing reports whether pid, whose environment read empty, can be a
// process in the middle of an execve: not a kernel thread (they have none),
// not a zombie (its memory is gone), not a process gone meanwhile, and
// without a command line either (one started with an empty environment,
// env -i, has its arguments: it is not read again).
func mayBeExecing(pid int) bool {
	var buf [512]byte
	if proc.ReadSmall("/proc/"+strconv.Itoa(pid)+"/cmdline", buf[:1]) != 0 {
		return false
	}
	n := proc.ReadSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if n <= 0 {
		return false
	}
	st, ok := proc.ParseStat(buf[:n])
	return ok && !st.Zombie && st.Flags&pfKthread == 0
}
