package supervisor

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// rescanEvery is the shortest time between two looks for orphans of a
// group: a process whose parent exited (a double fork) is nobody's child in
// the group, the kernel makes it the child of the nearest subreaper among
// its ancestors, or of init. A look reads the children lists of the agent's
// ancestors (reaperChildren): a few processes, not every one of the machine.
const rescanEvery = 5 * time.Second

// rescanBackstop is how often a group that has forked is found by a scan of
// every process of /proc (shared by every sampler of the agent: sharedScan):
// it finds a process that joined the group from outside its tree
// (setpgid), which leaves no other trace.
const rescanBackstop = 10 * time.Minute

// groupSampler samples one process group repeatedly, cheaply. Each sample
// reads /proc/<pid>/statm (the resident set) of every known member and
// /proc/<pid>/task/<pid>/children of each, which finds a new child of a
// member at the next sample (so a leaking child is seen within one check
// interval); a full sample reads /proc/<pid>/stat instead of statm, for the
// CPU time and to check that each member is still in the group (a member
// found for the first time is always checked so), and, in a group that has
// forked, the children lists of the members' other threads too (a Go
// program forks from any of its threads). Orphans are looked for (at most
// every rescanEvery) only when a member may have left one: it exited, left
// the group or is a zombie, or it reaped a child (the children it waited
// for grew); and a group that has forked is scanned whole every
// rescanBackstop. A group whose leader never had a child (none seen, none
// reaped) is never scanned: it has no member anywhere else. Idle, one daemon
// that never forked costs one small read per check interval, one that has
// forked two per member and one per thread every full sample: dolt, which
// runs uname three times as it starts, costs one look for orphans after
// that, not a scan of /proc every 5 s for its whole run.
type groupSampler struct {
	pgid     int
	members  []int
	scratch  []int
	lastScan time.Time
	now      func() time.Time
	// lastFull is when the group was last scanned whole (rescanBackstop).
	lastFull time.Time
	// forked is set once a member was seen with a child, or the leader
	// reaped one (proc.Stat.reaped grew): from then on the children lists
	// are read at every sample, the threads' at every full one.
	forked bool
	// reaped is each member's proc.Stat.reaped when last read.
	reaped map[int]uint64
	// scanSince is set when a member may have left an orphan: a look for
	// orphans is due (zero: none).
	scanSince time.Time
	// fds keeps /proc/<pid>/stat, statm and .../children of each member
	// open: a sample is then one pread per file, not an open, a read and a
	// close. An fd refers to the process it was opened for; once that
	// process is gone, reads fail, so a recycled pid is never read through it.
	fds map[int]memberFDs
	// lead is the leader's entry of fds while it is open (leadOpen): most
	// groups are their leader alone, read without a map look-up.
	lead     memberFDs
	leadOpen bool
	// threads keeps the children lists of each member's other threads.
	threads map[int]*memberThreads
}

type memberFDs struct{ stat, statm, children int }

// memberThreads are the open children lists of a member's threads other
// than its main one, as listed when it had n threads.
type memberThreads struct {
	n   uint64
	fds map[int]int // tid -> /proc/<pid>/task/<tid>/children
}

// open returns the fds of member pid, opening them the first time (fresh).
func (g *groupSampler) open(pid int) (f memberFDs, fresh, ok bool) {
	if pid == g.pgid && g.leadOpen {
		return g.lead, false, true
	}
	if f, ok := g.fds[pid]; ok {
		return f, false, true
	}
	ps := strconv.Itoa(pid)
	stat, err := syscall.Open("/proc/"+ps+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return memberFDs{}, false, false
	}
	statm, err := syscall.Open("/proc/"+ps+"/statm", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		syscall.Close(stat)
		return memberFDs{}, false, false
	}
	children, err := syscall.Open("/proc/"+ps+"/task/"+ps+"/children", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		children = -1 // kernel without CONFIG_PROC_CHILDREN: rescans find them
		g.forked = true
	}
	if g.fds == nil {
		g.fds = map[int]memberFDs{}
	}
	f = memberFDs{stat, statm, children}
	g.fds[pid] = f
	if pid == g.pgid {
		g.lead, g.leadOpen = f, true
	}
	return f, true, true
}

// drop closes the fds of pid.
func (g *groupSampler) drop(pid int) {
	if pid == g.pgid {
		g.leadOpen = false
	}
	if f, ok := g.fds[pid]; ok {
		syscall.Close(f.stat)
		syscall.Close(f.statm)
		if f.children >= 0 {
			syscall.Close(f.children)
		}
		delete(g.fds, pid)
	}
	if mt := g.threads[pid]; mt != nil {
		for _, fd := range mt.fds {
			syscall.Close(fd)
		}
		delete(g.threads, pid)
	}
	delete(g.reaped, pid)
}

// close releases every fd the sampler holds.
func (g *groupSampler) close() {
	for pid := range g.fds {
		g.drop(pid)
	}
}

// needScan asks for a look for orphans (at now).
func (g *groupSampler) needScan(now time.Time) { g.scanSince = now }

// threadChildren appends to queue the children of member pid's threads
// other than its main one (n threads in all); the list of threads is read
// again when their number changed or one is gone.
func (g *groupSampler) threadChildren(pid int, n uint64, buf []byte, queue []int) []int {
	mt := g.threads[pid]
	if mt == nil || mt.n != n {
		mt = g.listThreads(pid, n, mt)
	}
	for tid, fd := range mt.fds {
		k := preadSmall(fd, buf)
		if k < 0 {
			syscall.Close(fd)
			delete(mt.fds, tid)
			mt.n = 0 // list them again at the next full sample
			continue
		}
		queue = appendPids(queue, buf[:k])
	}
	return queue
}

// listThreads opens the children lists of pid's threads other than its main
// one, keeping those of old still listed.
func (g *groupSampler) listThreads(pid int, n uint64, old *memberThreads) *memberThreads {
	mt := &memberThreads{n: n, fds: map[int]int{}}
	if g.threads == nil {
		g.threads = map[int]*memberThreads{}
	}
	g.threads[pid] = mt
	ps := strconv.Itoa(pid)
	for _, name := range threadIDs(pid) {
		tid, err := strconv.Atoi(name)
		if err != nil || tid == pid {
			continue
		}
		if old != nil {
			if fd, ok := old.fds[tid]; ok {
				mt.fds[tid] = fd
				delete(old.fds, tid)
				continue
			}
		}
		if fd, err := syscall.Open("/proc/"+ps+"/task/"+name+"/children", syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == nil {
			mt.fds[tid] = fd
		}
	}
	if old != nil {
		for _, fd := range old.fds {
			syscall.Close(fd)
		}
	}
	return mt
}

// threadIDs lists /proc/<pid>/task: the ids of pid's threads.
func threadIDs(pid int) []string {
	var tids []string
	d, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/task", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(d)
	var dbuf [4096]byte
	for {
		k, err := syscall.ReadDirent(d, dbuf[:])
		if err != nil || k <= 0 {
			return tids
		}
		_, _, tids = syscall.ParseDirent(dbuf[:k], -1, tids)
	}
}

// reaperChildren are the children of every thread of the agent's ancestors
// up to init (and of the agent's own when it is init or a subreaper): the
// kernel gives an orphan of a daemon's tree to the nearest subreaper among
// its ancestors, else to init, and a daemon's ancestors past its leader are
// the agent's. A few processes' lists, where a scan reads every process.
func reaperChildren() []int {
	var (
		out []int
		buf [4096]byte
	)
	pid := os.Getpid()
	for hops := 0; pid > 0 && hops < 64; hops++ {
		if pid != os.Getpid() || pid == 1 || isSubreaper() {
			ps := strconv.Itoa(pid)
			for _, tid := range threadIDs(pid) {
				if n := proc.ReadSmall("/proc/"+ps+"/task/"+tid+"/children", buf[:]); n > 0 {
					out = appendPids(out, buf[:n])
				}
			}
		}
		if pid == 1 {
			break
		}
		n := proc.ReadSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:1024])
		st, ok := proc.ParseStat(buf[:max(n, 0)])
		if !ok || st.PPid == pid {
			break
		}
		pid = st.PPid // 0 past the root of a pid namespace
	}
	return out
}

// isSubreaper reports whether the agent is a child subreaper (prctl).
func isSubreaper() bool {
	var v int32
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetChildSubreaper, uintptr(unsafe.Pointer(&v)), 0)
	return errno == 0 && v != 0
}

const prGetChildSubreaper = 37 // PR_GET_CHILD_SUBREAPER

// inGroup are the pids of pids in process group pgid, alive.
func inGroup(pgid int, pids []int) []int {
	var (
		out []int
		buf [1024]byte
	)
	for _, pid := range pids {
		n := proc.ReadSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
		if st, ok := proc.ParseStat(buf[:max(n, 0)]); ok && st.Pgrp == pgid && !st.Zombie {
			out = append(out, pid)
		}
	}
	return out
}

// appendPids appends the pids of a children list ("1 2 3 ") not in queue yet.
func appendPids(queue []int, b []byte) []int {
	for rest := b; len(rest) > 0; {
		fld := rest
		if j := bytes.IndexByte(rest, ' '); j >= 0 {
			fld, rest = rest[:j], rest[j+1:]
		} else {
			rest = nil
		}
		if c, ok := proc.Atou(bytes.TrimSpace(fld)); ok && !slices.Contains(queue, int(c)) {
			queue = append(queue, int(c))
		}
	}
	return queue
}

// preadSmall reads a /proc file from its start again; -1 on error.
//
// It is a raw system call: the kernel formats a few numbers of the process
// (statm, stat, children) and never sleeps on them, so the scheduler need not
// be told. An idle agent's work is these reads; each one told (entersyscall)
// woke Go's sysmon thread from its sleep, and that thread then polled for a
// while (17 % of the agent's idle CPU with 50 daemons, perf).
func preadSmall(fd int, buf []byte) int {
	if fd < 0 || len(buf) == 0 {
		return -1
	}
	n, _, errno := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
	if errno != 0 {
		return -1
	}
	return int(n)
}

// statBufs holds the buffers the samples read into (one goroutine samples
// every daemon, but a watch's first sample is taken by its daemon's loop).
var statBufs = sync.Pool{New: func() any { return new([1024]byte) }}

func newGroupSampler(pgid int) *groupSampler {
	now := time.Now()
	return &groupSampler{pgid: pgid, members: []int{pgid}, lastScan: now, lastFull: now, now: time.Now}
}

// sample reads the group; full also reads every member's CPU time and
// checks it is still in the group (proc.GroupSample.CPU is valid only then).
func (g *groupSampler) sample(full bool) (proc.GroupSample, error) {
	now := g.now()
	var found []int
	switch {
	case !g.forked:
	case now.Sub(g.lastFull) >= rescanBackstop:
		g.lastFull, g.lastScan, g.scanSince = now, now, time.Time{}
		found = sharedScan.members(g.pgid, now)
	case !g.scanSince.IsZero() && now.Sub(g.lastScan) >= rescanEvery:
		g.lastScan, g.scanSince = now, time.Time{}
		found = inGroup(g.pgid, reaperChildren())
	}
	for _, pid := range found {
		if !slices.Contains(g.members, pid) {
			g.members = append(g.members, pid)
		}
	}
	var s proc.GroupSample
	buf := statBufs.Get().(*[1024]byte)
	defer statBufs.Put(buf)
	// queue is what to visit: the known members, then the children found on
	// the way; kept is who is still in the group.
	queue := append(g.scratch[:0], g.members...)
	known := len(queue)
	kept := g.members[:0]
	for i := 0; i < len(queue); i++ {
		pid := queue[i]
		f, fresh, ok := g.open(pid)
		if !ok {
			if i < known {
				g.needScan(now) // a member is gone: its children are orphans
			}
			continue // gone
		}
		if fresh || full {
			n := preadSmall(f.stat, buf[:])
			if n <= 0 {
				g.drop(pid)
				if i < known {
					g.needScan(now)
				}
				continue // gone
			}
			st, ok := proc.ParseStat(buf[:n])
			if !ok || st.Pgrp != g.pgid || st.Zombie {
				g.drop(pid)
				if i < known || st.Zombie {
					g.needScan(now) // its children are orphans, or will be
				}
				continue // gone, or left the group
			}
			if prev, seen := g.reaped[pid]; st.Reaped != prev || !seen && st.Reaped != 0 {
				// A child came and went (between two samples, or before
				// this member was first read): it may have left an orphan.
				g.forked = true
				g.needScan(now)
			}
			if g.reaped == nil {
				g.reaped = map[int]uint64{}
			}
			g.reaped[pid] = st.Reaped
			s.RSS += st.RSSPages * proc.PageSize
			s.CPU += time.Duration(st.Ticks) * time.Second / proc.ClockTicks
			if full && g.forked && st.Threads > 1 {
				queue = g.threadChildren(pid, st.Threads, buf[:], queue)
			}
		} else {
			n := preadSmall(f.statm, buf[:])
			pages, ok := proc.ParseStatm(buf[:max(n, 0)])
			if !ok {
				g.drop(pid)
				if i < known {
					g.needScan(now)
				}
				continue // gone
			}
			s.RSS += pages * proc.PageSize
		}
		kept = append(kept, pid)
		s.Members++
		if !g.forked && !full && !fresh {
			// A leader that never had a child: its children list is read
			// with the full samples (every 5 s), not every second (half the
			// reads of an idle agent). Its first child is then counted
			// within 5 s, every later one within a check interval.
			continue
		}
		if n := preadSmall(f.children, buf[:]); n > 0 {
			g.forked = true
			queue = appendPids(queue, buf[:n])
		}
	}
	g.scratch = queue
	g.members = kept
	if s.Members == 0 {
		return s, os.ErrProcessDone
	}
	if s.Members > 1 {
		g.forked = true
	}
	return s, nil
}

// sharedScan is one scan of /proc, by process group, reused by every sampler
// for rescanEvery.
var sharedScan procScan

// scanTrust is how long a scan trusts the group it read for a pid before it
// reads it again. A process's group is read when the scan first sees its pid
// (a new process) and then only every scanTrust: groups rarely change after
// a start, and a scan reads a few new processes rather than all ~300 of a
// machine (that read was a quarter of an idle agent's CPU). A member found
// by a scan is checked by its sampler before it is counted.
const scanTrust = time.Minute

type procScan struct {
	mu     sync.Mutex
	at     time.Time
	groups map[int][]int // pgrp -> pids
	known  map[int]scanEntry
}

type scanEntry struct {
	pgrp int
	read time.Time
}

// members returns the pids of group pgid from a scan no older than rescanEvery.
func (p *procScan) members(pgid int, now time.Time) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.groups == nil || now.Sub(p.at) >= rescanEvery {
		p.scan(now)
		p.at = now
	}
	return p.groups[pgid]
}

// scan lists /proc and groups the pids by process group, reading
// /proc/<pid>/stat of the pids it does not know yet (or no longer trusts).
func (p *procScan) scan(now time.Time) {
	groups := map[int][]int{}
	p.groups = groups
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return
	}
	known := make(map[int]scanEntry, len(names))
	var buf [1024]byte
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		e, ok := p.known[pid]
		if !ok || now.Sub(e.read) >= scanTrust || now.Before(e.read) {
			n := proc.ReadSmall("/proc/"+name+"/stat", buf[:])
			if n <= 0 {
				continue
			}
			st, ok := proc.ParseStat(buf[:n])
			if !ok {
				continue
			}
			e = scanEntry{pgrp: st.Pgrp, read: now}
		}
		known[pid] = e
		groups[e.pgrp] = append(groups[e.pgrp], pid)
	}
	p.known = known
}
