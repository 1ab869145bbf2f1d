package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// FindsEscaped reports whether the supervisor finds and kills, at the end of a
// run, the processes a daemon moved out of its process group (setsid, a
// double fork): on Linux, by the run's marker in /proc/<pid>/environ.
const FindsEscaped = true

// environRetries bounds the re-reads of an environment that read empty in
// a process that is neither a kernel thread nor a zombie: one in the middle
// of an execve (between the switch to its new memory and the placing of its
// environment there the kernel shows none), 1 ms apart.
const environRetries = 20

// pidsWithEnvs returns, for each entry of want ("KEY=VALUE"), the pids
// (other than ours) whose environment holds it, from one reading of every
// /proc/<pid>/environ. A process caught in an execve reads with no
// environment at all: it is read again until it shows one (a double-forked
// grandchild exec'ing sleep outlived its daemon's stop when the sweep read
// it then).
func pidsWithEnvs(want map[string]bool) map[string][]int {
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
	match := func(pid int, b []byte) {
		for _, e := range bytes.Split(b, []byte{0}) {
			if want[string(e)] {
				out[string(e)] = append(out[string(e)], pid)
				return
			}
		}
	}
	var doubt []int
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/environ")
		if err != nil {
			continue
		}
		if len(b) == 0 {
			if mayBeExecing(pid) {
				doubt = append(doubt, pid)
			}
			continue
		}
		match(pid, b)
	}
	for try := 0; len(doubt) > 0 && try < environRetries; try++ {
		time.Sleep(time.Millisecond)
		left := doubt[:0]
		for _, pid := range doubt {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
			switch {
			case err != nil:
			case len(b) > 0:
				match(pid, b)
			case mayBeExecing(pid):
				left = append(left, pid)
			}
		}
		doubt = left
	}
	return out
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
	if readSmall("/proc/"+strconv.Itoa(pid)+"/cmdline", buf[:1]) != 0 {
		return false
	}
	n := readSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if n <= 0 {
		return false
	}
	i := bytes.LastIndexByte(buf[:n], ')')
	if i < 0 {
		return false
	}
	f := bytes.Fields(buf[i+1 : n])
	if len(f) < 7 || f[0][0] == 'Z' || f[0][0] == 'X' {
		return false
	}
	flags, err := strconv.ParseUint(string(f[6]), 10, 64)
	return err == nil && flags&pfKthread == 0
}
