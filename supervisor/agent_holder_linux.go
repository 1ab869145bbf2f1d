package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/beadsctl/beadsctl/internal/proc"
)

// lockHolder finds, in /proc/locks, the process holding a flock on f's file
// (written, the pid in the file, is only a hint); 0 when nobody holds one.
func lockHolder(f *os.File, written int) (int, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("no inode for %s", f.Name())
	}
	dev := uint64(st.Dev)
	id := fmt.Sprintf("%02x:%02x:%d", unix.Major(dev), unix.Minor(dev), st.Ino)
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return 0, err
	}
	defer locks.Close()
	holder := 0
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 16256 fe:00:9979795 0 EOF"; a waiter's
		// line has "->" after the number and is no holder.
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[5] != id {
			continue
		}
		pid, err := strconv.Atoi(fs[4])
		if err != nil || pid <= 0 {
			continue
		}
		if h, err := proc.Open(pid); err != nil || !h.Alive() {
			continue
		}
		if holder == 0 || pid == written {
			holder = pid
		}
	}
	return holder, sc.Err()
}
