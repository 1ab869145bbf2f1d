//go:build linux || darwin

package reconcile

import (
	"os"
	"syscall"
)

// fileIdentityOf is fi's device, inode and times (see fileIdentity).
func fileIdentityOf(fi os.FileInfo) (fileIdentity, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileIdentity{}, false
	}
	m, c := statTimes(st)
	return fileIdentity{Dev: uint64(st.Dev), Ino: uint64(st.Ino), MtimeNs: m.Nano(), CtimeNs: c.Nano()}, true
}
