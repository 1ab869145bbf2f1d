package agentapi

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// StateDir is the folder, beside beads.hcl, that holds beadsctl's files: the state
// file and its lock (reconcile), the agent's socket, lock, record and log.
const StateDir = ".beadsctl"

// sunPathMax is the size of sockaddr_un.sun_path, including its terminating NUL.
func sunPathMax() int {
	switch runtime.GOOS {
	case "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
		return 104
	}
	return 108
}

// SocketPath is the agent's control socket for the project folder dir:
// dir/.beadsctl/agent.sock, or, when that path does not fit in sun_path, a short
// path named by a hash of the absolute dir under $XDG_RUNTIME_DIR/beadsctl (or
// os.TempDir()/beadsctl-<uid>). The client and the agent both call it, so they
// always agree.
func SocketPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = filepath.Clean(dir)
	}
	full := filepath.Join(abs, StateDir, "agent.sock")
	if len(full) < sunPathMax() {
		return full
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(RuntimeSocketDir(), hex.EncodeToString(sum[:8])+".sock")
}

// RuntimeSocketDir is the folder of the sockets of projects whose own path is
// too long for one (SocketPath).
func RuntimeSocketDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "beadsctl")
	}
	return filepath.Join(os.TempDir(), "beadsctl-"+strconv.Itoa(os.Getuid()))
}
