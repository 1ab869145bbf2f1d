//go:build !unix

package logpath

// openNonBlock is 0: there is no O_NONBLOCK for files here, nor FIFOs in the
// file system.
const openNonBlock = 0
