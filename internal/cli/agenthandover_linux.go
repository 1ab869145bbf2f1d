package cli

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// handOverFile puts b where beadsctl-agent, this process after the exec,
// reads it (agentapi.AgentRunEnv): a memory file, without close-on-exec,
// so that the daemons' environments never touch a disk.
func handOverFile(b []byte) (string, error) {
	fd, err := unix.MemfdCreate("beadsctl-agent-run", 0)
	if err != nil {
		return "", err
	}
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err != nil {
			unix.Close(fd)
			return "", err
		}
		b = b[n:]
	}
	return "fd:" + strconv.Itoa(fd), nil
}
