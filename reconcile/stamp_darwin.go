package reconcile

import "syscall"

// statTimes is st's modification and change times.
func statTimes(st *syscall.Stat_t) (m, c syscall.Timespec) { return st.Mtimespec, st.Ctimespec }
