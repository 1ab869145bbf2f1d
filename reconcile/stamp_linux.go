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
	return fileIdentity{Dev: uint64(st.Dev), Ino: uint64(st.Ino), MtimeNs: st.Mtim.Nano(), CtimeNs: st.Ctim.Nano()}, true
}
