package supervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

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
	// The socket is bound and made 0600 under a temporary name, and renamed
	// into place once it listens: a client that sees path can connect at
	// once. Bound at path itself, the file would exist between bind and
	// listen, refusing connections (and, until the chmod, with the umask's
	// mode). The temporary name is no longer than path's (it must fit in
	// sun_path too) and one per socket path; the agent's lock makes its
	// holder the only one to use it, so a leftover is removed first.
	tmp := tempSocketPath(path)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale temporary socket: %w", err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on control socket: %w", err)
	}
	// Close must not unlink the temporary name, which a later listen may
	// use: the agent removes path itself when it stops (removeControlSocket).
	l.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, error) {
		l.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, 0o600); err != nil && runtime.GOOS != "windows" {
		return fail(fmt.Errorf("chmod control socket: %w", err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("move control socket into place: %w", err))
	}
	return l, nil
}

// tempSocketPath is the name listenControl binds before renaming it to path:
// in path's folder, path's name with ".sock" (or its last five bytes) made
// ".new~", so never longer than path.
func tempSocketPath(path string) string {
	dir, base := filepath.Split(path)
	stem := strings.TrimSuffix(base, ".sock")
	if stem == base {
		stem = base[:max(0, len(base)-5)]
	}
	return filepath.Join(dir, stem+".new~")
}
