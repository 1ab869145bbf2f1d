package supervisor

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// The control socket's limits. A connection costs the agent a descriptor and
// a goroutine, and nothing else bounds how many a local process of our uid
// opens: 20,000 idle keep-alive connections once took every descriptor, and
// the agent's own CLI then found it "not running".
//
//   - A request's headers must arrive within controlHeaderTimeout, a body
//     within controlBodyTimeout; an answer must be taken within
//     controlWriteTimeout (a wait: its timeout plus that; a followed log:
//     that for each write). A keep-alive connection idle for controlIdleTimeout
//     is closed.
//   - At most maxControlConns connections are open at once. The gate always
//     accepts (the kernel's backlog never fills, so a new client never waits
//     unanswered behind a flood); when the cap is reached it makes room by
//     closing the connection that has waited longest without a request in
//     progress (new or idle), so a fresh client, such as the CLI, whose
//     request follows its connect at once, is served even while a flood of
//     other connections holds every place. Only when every place holds a
//     request in progress is the newcomer answered 503 at once (and told why),
//     never left hanging.
const (
	maxControlConns      = 256
	controlHeaderTimeout = 5 * time.Second
	controlBodyTimeout   = 30 * time.Second
	controlWriteTimeout  = 30 * time.Second
	controlIdleTimeout   = 30 * time.Second
)

// connGate tracks the control socket's connections through http.Server's
// ConnState hook and enforces maxControlConns at accept.
type connGate struct {
	max int
	log *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]connEntry
}

type connEntry struct {
	state http.ConnState
	since time.Time
}

func newConnGate(max int, log *slog.Logger) *connGate {
	return &connGate{max: max, log: log, conns: map[net.Conn]connEntry{}}
}

// listener wraps ln so that every accepted connection passes the gate.
func (g *connGate) listener(ln net.Listener) net.Listener { return &gateListener{Listener: ln, g: g} }

// connState is the http.Server ConnState hook.
func (g *connGate) connState(c net.Conn, s http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(g.conns, c)
	default:
		if _, ok := g.conns[c]; ok {
			g.conns[c] = connEntry{state: s, since: time.Now()}
		}
	}
}

// admit registers c, closing the longest-waiting connection without a
// request in progress when the gate is full; it reports false (c then must
// be refused) when every place holds a request in progress.
func (g *connGate) admit(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.conns) >= g.max {
		var victim net.Conn
		var oldest time.Time
		for vc, e := range g.conns {
			if e.state == http.StateActive {
				continue
			}
			if victim == nil || e.since.Before(oldest) {
				victim, oldest = vc, e.since
			}
		}
		if victim == nil {
			return false
		}
		delete(g.conns, victim)
		_ = victim.Close()
	}
	g.conns[c] = connEntry{state: http.StateNew, since: time.Now()}
	return true
}

// open is the number of connections the gate holds.
func (g *connGate) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

type gateListener struct {
	net.Listener
	g *connGate
}

func (l *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.g.admit(c) {
			return c, nil
		}
		l.g.log.Warn("control connection refused: every place holds a request in progress", "max", l.g.max)
		go answerAndClose(c, http.StatusServiceUnavailable,
			fmt.Sprintf("agent busy: all %d control connections have a request in progress", l.g.max))
	}
}

var _ net.Listener = (*gateListener)(nil)

// withDeadlines bounds the time a handler may take to read a request body
// and to have its answer taken; the handler of a long request (wait) extends
// them with extendDeadlines.
func withDeadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.ContentLength != 0 {
			// Only with a body: once it is read, the server watches the
			// connection for the client's end, and a read deadline hit there
			// would cancel the request.
			_ = rc.SetReadDeadline(time.Now().Add(controlBodyTimeout))
		}
		_ = rc.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
		h.ServeHTTP(w, r)
	})
}

// extendDeadlines gives the answer d more to be written, on top of the
// write timeout.
func extendDeadlines(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + controlWriteTimeout))
}
