package agentapi

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/beadsctl/beadsctl/internal/atomicfile"
)

// AgentLockPath is .beadsctl/agent.lock in the project folder dir: the lock the
// running agent holds for as long as it lives, with its pid as content.
func AgentLockPath(dir string) string { return filepath.Join(dir, StateDir, "agent.lock") }

// AgentLockHolder returns the pid of the live process that holds the agent's
// lock of the project folder dir, and 0 when none does (no agent runs there, or
// only a dead one's files are left). A pid written in the file proves nothing by
// itself: on Linux the holder is read from /proc/locks; elsewhere the lock is
// probed, and the pid in the file is trusted only while the lock is held.
func AgentLockHolder(dir string) (int, error) {
	path := AgentLockPath(dir)
	f, err := os.OpenFile(path, os.O_RDONLY|atomicfile.NoFollow, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open agent lock: %w", err)
	}
	defer f.Close()
	b := make([]byte, 32)
	n, _ := f.Read(b)
	written, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	pid, err := lockHolder(f, written)
	if err != nil {
		return 0, fmt.Errorf("who holds %s: %w", path, err)
	}
	return pid, nil
}
