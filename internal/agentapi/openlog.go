package agentapi

import (
	"os"

	"github.com/beadsctl/beadsctl/internal/logpath"
)

// ErrNotRegular means a log path names something other than a regular file
// (a FIFO, a device, a socket, a folder).
var ErrNotRegular = logpath.ErrNotRegular

// OpenLogFile opens a log file, for appending or for reading, so that it
// cannot block the caller (internal/logpath: O_NONBLOCK, and whatever is not
// a regular file refused with ErrNotRegular), even when the path changed
// since validate.
func OpenLogFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	return logpath.Open(path, flag, perm)
}
