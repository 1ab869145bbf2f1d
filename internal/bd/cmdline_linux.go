package bd

import (
	"bytes"
	"strconv"
	"syscall"
)

// quickCmdline reads the command line of pid from /proc/<pid>/cmdline with
// one open and one read into a buffer on the stack: FindServers looks at
// every process, and gopsutil's process (which read its stat and the boot
// time first) cost ~50 µs each, 15 ms for the ~300 processes of a machine in
// every plan of a dolt_server. A line that cannot be a dolt sql-server (bd's
// rule: it names sql-server) comes back empty, unsplit; a kernel thread's
// line is empty. ok is false when it cannot be read.
func quickCmdline(pid int) ([]string, bool) {
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/cmdline", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	var buf [4096]byte
	n, err := syscall.Read(fd, buf[:])
	if err != nil || n < 0 {
		return nil, false
	}
	b := buf[:n]
	if !bytes.Contains(b, []byte("sql-server")) {
		return []string{}, true
	}
	if n == len(buf) {
		return nil, false // longer than the buffer: let proc.Cmdline read it all
	}
	b = bytes.TrimRight(b, "\x00")
	var argv []string
	for _, a := range bytes.Split(b, []byte{0}) {
		argv = append(argv, string(a))
	}
	return argv, true
}
