//go:build unix

package logpath

import "syscall"

// openNonBlock keeps open(2) from waiting on a FIFO (or a device).
const openNonBlock = syscall.O_NONBLOCK
