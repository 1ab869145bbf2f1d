//go:build unix && !linux

package cli

import (
	"os"
	"strconv"
	"syscall"
)

// handOverFile puts b where beadsctl-agent, this process after the exec,
// reads it (agentapi.AgentRunEnv): a temporary file, removed at once and
// kept open without close-on-exec (a dup has none).
func handOverFile(b []byte) (string, error) {
	f, err := os.CreateTemp("", "beadsctl-agent-run-*")
	if err != nil {
		return "", err
	}
	defer f.Close()
	os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		return "", err
	}
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return "", err
	}
	return "fd:" + strconv.Itoa(fd), nil
}
