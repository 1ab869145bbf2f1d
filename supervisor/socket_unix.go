//go:build !windows

package supervisor

import (
	"fmt"
	"os"
	"syscall"
)

// agCheckOwned refuses a socket folder that another user owns (a shared
// temporary folder could otherwise be prepared by someone else).
func agCheckOwned(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("socket folder %s belongs to uid %d, not to us", dir, st.Uid)
	}
	if !fi.IsDir() {
		return fmt.Errorf("socket folder %s is not a directory", dir)
	}
	return nil
}
