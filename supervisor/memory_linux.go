package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// userHZ is the unit of utime/stime in /proc/<pid>/stat: USER_HZ is 100 on
// every Linux architecture Go supports.
const userHZ = 100

var pageSize = uint64(os.Getpagesize())

// sampleGroup finds the members of the process group pgid by reading
// /proc/<pid>/stat of every process (one small read each, no allocation per
// process) and sums their resident memory and CPU time. The stat file has the
// group id, the RSS in pages (the same number statm reports) and the CPU
// times, so one read per process is enough. See BenchmarkSampleGroup and
// groupSampler, which the daemon uses.
func sampleGroup(pgid int) (groupSample, error) { return scanGroup(pgid, nil) }

// scanGroup is sampleGroup; it calls member with the stat path of each member.
func scanGroup(pgid int, member func(path string)) (groupSample, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return groupSample{}, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return groupSample{}, err
	}
	var (
		s   groupSample
		buf [1024]byte
	)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		path := "/proc/" + name + "/stat"
		n := readSmall(path, buf[:])
		if n <= 0 {
			continue // gone, or not readable
		}
		st, ok := parseStat(buf[:n])
		if !ok || st.pgrp != pgid {
			continue
		}
		s.Members++
		s.RSS += st.rssPages * pageSize
		s.CPU += time.Duration(st.ticks) * time.Second / userHZ
		if member != nil {
			member(path)
		}
	}
	if s.Members == 0 {
		return s, os.ErrProcessDone
	}
	return s, nil
}

// readSmall reads up to len(buf) bytes of the file at path.
func readSmall(path string, buf []byte) int {
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

type procStat struct {
	pgrp     int
	ticks    uint64
	rssPages uint64
}

// parseStat parses the fields of /proc/<pid>/stat that come after the command
// name, which may itself hold spaces and parentheses: hence the last ')'.
func parseStat(b []byte) (procStat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, false
	}
	var st procStat
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
		case 5:
			v, _ := strconv.Atoi(string(f))
			st.pgrp = v
		case 14, 15:
			v, _ := strconv.ParseUint(string(f), 10, 64)
			st.ticks += v
		case 24:
			v, _ := strconv.ParseUint(string(f), 10, 64)
			st.rssPages = v
			return st, true
		}
		field++
	}
	return procStat{}, false
}

// fullScanEvery is how often (in samples) a groupSampler rescans /proc for
// new members of the group; in between it reads only the members it knows.
const fullScanEvery = 10

// groupSampler samples one process group repeatedly, cheaply: a full /proc
// scan (about 10µs per process on the system) every fullScanEvery samples, and
// otherwise one stat read per known member. A process that joins the group
// between two scans is counted from the next full scan.
type groupSampler struct {
	pgid    int
	n       int
	members []string // "/proc/<pid>/stat"
}

func newGroupSampler(pgid int) *groupSampler { return &groupSampler{pgid: pgid} }

func (g *groupSampler) sample() (groupSample, error) {
	g.n++
	if g.n%fullScanEvery == 1 || len(g.members) == 0 {
		return g.scan()
	}
	var (
		s   groupSample
		buf [1024]byte
	)
	kept := g.members[:0]
	for _, path := range g.members {
		n := readSmall(path, buf[:])
		if n <= 0 {
			continue
		}
		st, ok := parseStat(buf[:n])
		if !ok || st.pgrp != g.pgid {
			continue
		}
		kept = append(kept, path)
		s.Members++
		s.RSS += st.rssPages * pageSize
		s.CPU += time.Duration(st.ticks) * time.Second / userHZ
	}
	g.members = kept
	if s.Members == 0 {
		return s, os.ErrProcessDone
	}
	return s, nil
}

// scan is sampleGroup that also remembers the members.
func (g *groupSampler) scan() (groupSample, error) {
	g.members = g.members[:0]
	return scanGroup(g.pgid, func(path string) { g.members = append(g.members, path) })
}
