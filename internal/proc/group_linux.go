package proc

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// PageSize is the size of a memory page, the unit of the RSS in /proc/<pid>/stat.
var PageSize = uint64(os.Getpagesize())

// SampleGroup finds the members of the process group pgid by reading
// /proc/<pid>/stat of every process (one small read each, no allocation per
// process) and sums their resident memory and CPU time. The stat file has the
// group id, the RSS in pages (the same number statm reports) and the CPU
// times, so one read per process is enough. See BenchmarkSampleGroup and
// groupSampler, which the daemon uses.
func SampleGroup(pgid int) (GroupSample, error) { return ScanGroup(pgid, nil) }

// ScanGroup is SampleGroup; it calls member with the stat path of each member.
func ScanGroup(pgid int, member func(path string)) (GroupSample, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return GroupSample{}, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return GroupSample{}, err
	}
	var (
		s   GroupSample
		buf [1024]byte
	)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		path := "/proc/" + name + "/stat"
		n := ReadSmall(path, buf[:])
		if n <= 0 {
			continue // gone, or not readable
		}
		st, ok := ParseStat(buf[:n])
		if !ok || st.Pgrp != pgid {
			continue
		}
		s.Members++
		s.RSS += st.RSSPages * PageSize
		s.CPU += time.Duration(st.Ticks) * time.Second / ClockTicks
		if member != nil {
			member(path)
		}
	}
	if s.Members == 0 {
		return s, os.ErrProcessDone
	}
	return s, nil
}

// groupsRSS sums the resident memory of every process by process group, in
// one pass over /proc.
func groupsRSS() (map[int]uint64, error) {
	pids, err := Pids()
	if err != nil {
		return nil, err
	}
	groups := map[int]uint64{}
	var buf [1024]byte
	for _, pid := range pids {
		n := ReadSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
		if n <= 0 {
			continue
		}
		if st, ok := ParseStat(buf[:n]); ok {
			groups[st.Pgrp] += st.RSSPages * PageSize
		}
	}
	return groups, nil
}

// ReadSmall reads up to len(buf) bytes of the file at path.
func ReadSmall(path string, buf []byte) int {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	n, err := syscall.Read(fd, buf)
	syscall.Close(fd)
	if err != nil {
		return -1
	}
	return n
}

type Stat struct {
	PPid     int
	Pgrp     int
	Ticks    uint64
	RSSPages uint64
	// Reaped sums the minor faults and CPU ticks of the children the
	// process waited for: it grows when a child it forked has exited.
	Reaped uint64
	// Threads is num_threads; zombie is set for a process that has exited
	// and is not reaped yet (state Z, or X).
	Threads uint64
	Zombie  bool
	State   byte   // R running or runnable, S asleep, D blocked, Z zombie, ...
	Flags   uint64 // the kernel's PF_* flags
}

// ParseStat parses the fields of /proc/<pid>/stat that come after the command
// name, which may itself hold spaces and parentheses: hence the last ')'.
func ParseStat(b []byte) (Stat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return Stat{}, false
	}
	var st Stat
	field := 3 // the state field follows ") "
	rest := b[i+2:]
	for len(rest) > 0 && field <= 24 {
		j := bytes.IndexByte(rest, ' ')
		var f []byte
		if j < 0 {
			f, rest = rest, nil
		} else {
			f, rest = rest[:j], rest[j+1:]
		}
		switch field {
		case 3:
			if len(f) > 0 {
				st.State = f[0]
			}
			st.Zombie = st.State == 'Z' || st.State == 'X'
		case 9:
			st.Flags, _ = Atou(f)
		case 4:
			v, _ := Atou(f)
			st.PPid = int(v)
		case 5:
			v, _ := Atou(f)
			st.Pgrp = int(v)
		case 11, 16, 17:
			v, _ := Atou(f)
			st.Reaped += v
		case 14, 15:
			v, _ := Atou(f)
			st.Ticks += v
		case 20:
			st.Threads, _ = Atou(f)
		case 24:
			v, _ := Atou(f)
			st.RSSPages = v
			return st, true
		}
		field++
	}
	return Stat{}, false
}

// ParseStatm returns the resident pages of a /proc/<pid>/statm ("size
// resident shared text lib data dt", in pages).
func ParseStatm(b []byte) (uint64, bool) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return 0, false
	}
	rest := b[i+1:]
	if j := bytes.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	return Atou(rest)
}

// Atou parses the decimal digits of b (a field of a /proc file) without the
// allocation of strconv's string: the sampler reads 50 such fields a second
// for 50 daemons, and their garbage was the agent's only steady allocation.
func Atou(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}
