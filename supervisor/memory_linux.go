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
// times, so one read per process is enough. See BenchmarkSampleGroup.
func sampleGroup(pgid int) (groupSample, error) {
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
		n := readSmall("/proc/"+name+"/stat", buf[:])
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
