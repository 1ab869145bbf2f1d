//go:build unix

package reconcile

import (
	"os"
	"syscall"
)

// fileIno is the inode of fi's file.
func fileIno(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
