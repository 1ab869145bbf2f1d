package supervisor

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
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
	return filepath.Join(runtimeSocketDir(), hex.EncodeToString(sum[:8])+".sock")
}

// runtimeSocketDir is the folder of fallback sockets.
func runtimeSocketDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "beadsctl")
	}
	return filepath.Join(os.TempDir(), "beadsctl-"+strconv.Itoa(os.Getuid()))
}

// ErrSocketInUse means a live agent answers on the control socket.
var ErrSocketInUse = errors.New("a live agent answers on the control socket")

// listenControl listens on path (mode 0600 in a 0700 folder). A socket file that
// refuses a dial is stale and replaced; one that answers is never stolen.
func listenControl(path string) (*net.UnixListener, error) {
	parent := filepath.Dir(path)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("create socket folder: %w", err)
	}
	if err := os.Chmod(parent, 0o700); err != nil {
		return nil, fmt.Errorf("chmod socket folder: %w", err)
	}
	if err := agCheckOwned(parent); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("%w: %s", ErrSocketInUse, path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil && runtime.GOOS != "windows" {
		l.Close()
		return nil, fmt.Errorf("chmod control socket: %w", err)
	}
	return l, nil
}
