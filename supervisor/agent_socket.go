package supervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// controlSocket is the agent's listener and the file it created, so that the
// agent can tell when that file is removed or replaced under it: a listener
// whose file is gone is unreachable, and nobody could tell it to stop.
type controlSocket struct {
	path string
	ln   *net.UnixListener
	fi   os.FileInfo
}

func newControlSocket(path string, ln *net.UnixListener) (*controlSocket, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &controlSocket{path: path, ln: ln, fi: fi}, nil
}

// keepSocket listens again when the socket file was removed, and reports false
// when another file took its place (the agent then exits with its daemons,
// leaving that file alone) or listening again failed.
func (a *Agent) keepSocket(cs *controlSocket, serve func(*net.UnixListener)) bool {
	fi, err := os.Lstat(cs.path)
	switch {
	case err == nil && os.SameFile(fi, cs.fi):
		return true
	case err == nil:
		a.log.Warn("control socket replaced by another file, shutting down", "socket", cs.path)
		return false
	case !errors.Is(err, os.ErrNotExist):
		return true // cannot tell: keep serving
	}
	a.log.Warn("control socket removed, listening again", "socket", cs.path)
	ul, err := listenControl(cs.path)
	if err != nil {
		a.log.Error("control socket not created again, shutting down", "socket", cs.path, "error", err.Error())
		return false
	}
	fi, err = os.Lstat(cs.path)
	if err != nil {
		ul.Close()
		a.log.Error("control socket not created again, shutting down", "socket", cs.path, "error", err.Error())
		return false
	}
	_ = cs.ln.Close()
	cs.ln, cs.fi = ul, fi
	serve(ul)
	return true
}

// remove removes the socket file when it is still the one the agent listens
// on (listenControl's listeners never unlink their bound name, which was a
// temporary one): a file that took its place is left alone.
func (cs *controlSocket) remove() {
	if fi, err := os.Lstat(cs.path); err == nil && os.SameFile(fi, cs.fi) {
		_ = os.Remove(cs.path)
	}
}
