package supervisor

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"sync"
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

// rescanEvery is how often a groupSampler asks for a full /proc scan to find
// members it cannot reach through the children lists (a double fork whose
// middle process already exited, a child of a non-main thread). The scan is
// shared by every sampler of the process (see sharedScan), so 50 daemons cost
// at most one scan per rescanEvery, not fifty.
const rescanEvery = 5 * time.Second

// groupSampler samples one process group repeatedly, cheaply. Each sample reads
// /proc/<pid>/stat of every known member and /proc/<pid>/task/<pid>/children of
// each, which finds a new child of a member at the next sample (so a leaking
// child is seen within one check interval); every rescanEvery a shared full
// scan catches the rest. Idle, one daemon costs two small reads per member per
// check interval.
type groupSampler struct {
	pgid     int
	members  []int
	scratch  []int
	lastScan time.Time
	now      func() time.Time
	// fds keeps /proc/<pid>/stat and .../children of each member open: a
	// sample is then one pread per file, not an open, a read and a close. An
	// fd refers to the process it was opened for; once that process is gone,
	// reads fail, so a recycled pid is never read through it.
	fds map[int]memberFDs
}

type memberFDs struct{ stat, children int }

// open returns the fds of member pid, opening them the first time.
func (g *groupSampler) open(pid int) (memberFDs, bool) {
	if f, ok := g.fds[pid]; ok {
		return f, true
	}
	ps := strconv.Itoa(pid)
	stat, err := syscall.Open("/proc/"+ps+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return memberFDs{}, false
	}
	children, err := syscall.Open("/proc/"+ps+"/task/"+ps+"/children", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		children = -1 // kernel without CONFIG_PROC_CHILDREN: rescans find them
	}
	if g.fds == nil {
		g.fds = map[int]memberFDs{}
	}
	f := memberFDs{stat, children}
	g.fds[pid] = f
	return f, true
}

// drop closes the fds of pid.
func (g *groupSampler) drop(pid int) {
	if f, ok := g.fds[pid]; ok {
		syscall.Close(f.stat)
		if f.children >= 0 {
			syscall.Close(f.children)
		}
		delete(g.fds, pid)
	}
}

// close releases every fd the sampler holds.
func (g *groupSampler) close() {
	for pid := range g.fds {
		g.drop(pid)
	}
}

// preadSmall reads a /proc file from its start again; -1 on error.
func preadSmall(fd int, buf []byte) int {
	if fd < 0 {
		return -1
	}
	n, err := syscall.Pread(fd, buf, 0)
	if err != nil {
		return -1
	}
	return n
}

func newGroupSampler(pgid int) *groupSampler {
	return &groupSampler{pgid: pgid, members: []int{pgid}, lastScan: time.Now(), now: time.Now}
}

func (g *groupSampler) sample() (groupSample, error) {
	if now := g.now(); now.Sub(g.lastScan) >= rescanEvery {
		g.lastScan = now
		for _, pid := range sharedScan.members(g.pgid, now) {
			if !slices.Contains(g.members, pid) {
				g.members = append(g.members, pid)
			}
		}
	}
	var (
		s   groupSample
		buf [1024]byte
	)
	// queue is what to visit: the known members, then the children found on
	// the way; kept is who is still in the group.
	queue := append(g.scratch[:0], g.members...)
	kept := g.members[:0]
	for i := 0; i < len(queue); i++ {
		pid := queue[i]
		f, ok := g.open(pid)
		if !ok {
			continue // gone
		}
		n := preadSmall(f.stat, buf[:])
		if n <= 0 {
			g.drop(pid)
			continue // gone
		}
		st, ok := parseStat(buf[:n])
		if !ok || st.pgrp != g.pgid {
			g.drop(pid)
			continue // gone, or left the group
		}
		kept = append(kept, pid)
		s.Members++
		s.RSS += st.rssPages * pageSize
		s.CPU += time.Duration(st.ticks) * time.Second / userHZ
		if n := preadSmall(f.children, buf[:]); n > 0 {
			for _, fld := range bytes.Fields(buf[:n]) {
				if c, err := strconv.Atoi(string(fld)); err == nil && !slices.Contains(queue, c) {
					queue = append(queue, c)
				}
			}
		}
	}
	g.scratch = queue
	g.members = kept
	if s.Members == 0 {
		return s, os.ErrProcessDone
	}
	return s, nil
}

// sharedScan is one scan of /proc, by process group, reused by every sampler
// for rescanEvery.
var sharedScan procScan

type procScan struct {
	mu     sync.Mutex
	at     time.Time
	groups map[int][]int // pgrp -> pids
}

// members returns the pids of group pgid from a scan no older than rescanEvery.
func (p *procScan) members(pgid int, now time.Time) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groups == nil || now.Sub(p.at) >= rescanEvery {
		p.groups = scanGroups()
		p.at = now
	}
	return p.groups[pgid]
}

// scanGroups reads /proc/<pid>/stat of every process and groups the pids by
// process group.
func scanGroups() map[int][]int {
	groups := map[int][]int{}
	d, err := os.Open("/proc")
	if err != nil {
		return groups
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return groups
	}
	var buf [1024]byte
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		n := readSmall("/proc/"+name+"/stat", buf[:])
		if n <= 0 {
			continue
		}
		if st, ok := parseStat(buf[:n]); ok {
			groups[st.pgrp] = append(groups[st.pgrp], pid)
		}
	}
	return groups
}
