package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// ErrPeerRefused means a connection came from another user.
var ErrPeerRefused = errors.New("peer is another user")

// checkPeerUID returns nil when the process at the other end of conn runs as
// uid want; it refuses the connection otherwise. Where the OS cannot tell
// (Windows), it accepts: the socket's folder permissions protect it there.
func checkPeerUID(conn net.Conn, want int) error {
	uid, known, err := peerUID(conn)
	if err != nil {
		return fmt.Errorf("read peer credentials: %w", err)
	}
	if known && uid != want {
		return fmt.Errorf("%w: uid %d", ErrPeerRefused, uid)
	}
	return nil
}

// peerListener accepts only connections from our own uid; others get a 403
// response and are closed.
type peerListener struct {
	net.Listener
	uid     int
	refused func(err error)
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkPeerUID(c, l.uid); err != nil {
			if l.refused != nil {
				l.refused(err)
			}
			go refuse(c, err)
			continue
		}
		return c, nil
	}
}

// refuse answers a refused connection with 403 and closes it.
func refuse(c net.Conn, err error) { answerAndClose(c, http.StatusForbidden, err.Error()) }

// answerAndClose answers c with code and a JSON error, then closes it. It
// reads the request head first: closing a socket with unread data resets it,
// and the client would never see the answer. It gives up after 2 s.
func answerAndClose(c net.Conn, code int, msg string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(io.LimitReader(c, 64<<10))
	for {
		line, rerr := r.ReadString('\n')
		if rerr != nil || line == "\r\n" || line == "\n" {
			break
		}
	}
	body := `{"error":"` + strings.ReplaceAll(msg, `"`, `'`) + `"}` + "\n"
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(body), body)
}

var _ net.Listener = (*peerListener)(nil)

// ownUID is our uid (-1 on Windows).
func ownUID() int { return os.Getuid() }
