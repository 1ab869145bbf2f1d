//go:build !windows

package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// NoFollow is O_NOFOLLOW: an os.OpenFile flag that makes opening fail on a symbolic link planted at
// the final component of a path that is ours.
const NoFollow = unix.O_NOFOLLOW

// nonBlock makes open(2) of a FIFO return at once (ReadOwn refuses it then).
const nonBlock = unix.O_NONBLOCK

// syncDir makes a rename inside dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
