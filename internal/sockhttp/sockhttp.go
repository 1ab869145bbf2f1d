// Package sockhttp is the small HTTP/1.1 client the CLI speaks to its agent
// with over the control socket: a request line and headers, a body of
// Content-Length bytes, an answer framed by Content-Length, chunks or the
// connection's end, read as a stream. It is what reconcile.Client needs of
// net/http and no more, so that the commands that talk to the agent do not
// link net/http (and crypto/tls and crypto/x509 with it: ~0.4 ms of every
// start). The agent's side stays net/http.
//
// A request ends when its context does: its connection's deadline is set in
// the past, which ends any read or write under way with an error, and the
// connection is not used again. A connection whose answer was read to its
// end is kept for the next request (at most MaxIdle of them, for less than
// IdleTimeout: the agent closes a connection idle for 30 s).
//
// It is a leaf: it imports nothing of beadsctl's.
package sockhttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Client sends requests on connections that Dial opens. The zero value with
// Dial set is ready; it is safe for concurrent use.
type Client struct {
	// Dial opens a connection to the server.
	Dial func(ctx context.Context) (net.Conn, error)
	// Host is the request's Host header ("localhost" when empty).
	Host string
	// MaxIdle is how many connections are kept between requests (0: 2).
	MaxIdle int
	// IdleTimeout is how long a kept connection may wait (0: 20 s).
	IdleTimeout time.Duration

	mu   sync.Mutex
	idle []idleConn
}

type idleConn struct {
	*conn
	since time.Time
}

// conn is a connection and its reader, which may hold the start of what the
// server sent after the last answer (nothing, from a server that waits for a
// request).
type conn struct {
	nc net.Conn
	br *bufio.Reader
}

// Request is one request. Header holds its headers beyond Host and
// Content-Length, in order.
type Request struct {
	Method string
	Path   string // the request target: "/v1/status?brief=1"
	Header [][2]string
	Body   []byte // sent with Content-Length when not nil
}

// Response is an answer. Body must be closed; read to its end, the
// connection serves the next request.
type Response struct {
	StatusCode int
	// Header holds the answer's headers by lower-case name (the last of
	// a repeated one).
	Header map[string]string
	Body   io.ReadCloser
}

// maxHead bounds the status line and headers of an answer.
const maxHead = 1 << 20

// longAgo is a deadline in the past: it ends every read and write under way.
var longAgo = time.Unix(1, 0)

// ErrHead means the answer is not HTTP/1.x (or its head is over maxHead).
var ErrHead = errors.New("malformed HTTP answer")

// Do sends req and returns the answer's head; its body is read from
// Response.Body. ctx bounds the whole request, the body's reading included:
// once it is done, Do or a read of the body returns an error and the
// connection is closed.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	head := c.head(req)
	for attempt := 0; ; attempt++ {
		var cn *conn
		reused := false
		if attempt == 0 { // the question asked again goes on a new connection
			cn, reused = c.take()
		}
		if cn == nil {
			nc, err := c.Dial(ctx)
			if err != nil {
				return nil, err
			}
			cn = &conn{nc: nc, br: bufio.NewReaderSize(nc, 16<<10)}
		}
		resp, retry, err := c.roundTrip(ctx, cn, head, req, reused)
		if err == nil {
			return resp, nil
		}
		// A kept connection the server closed before it read the request
		// (an agent that exited since): a question is asked again on a
		// new one. A request that makes the agent act is not: it may have
		// been read.
		if !retry || attempt > 0 || req.Method != "GET" || ctx.Err() != nil {
			return nil, err
		}
	}
}

// head is the request's line and headers.
func (c *Client) head(req *Request) []byte {
	host := c.Host
	if host == "" {
		host = "localhost"
	}
	var b bytes.Buffer
	b.Grow(128 + len(req.Body))
	b.WriteString(req.Method)
	b.WriteByte(' ')
	b.WriteString(req.Path)
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(host)
	b.WriteString("\r\n")
	for _, h := range req.Header {
		b.WriteString(h[0])
		b.WriteString(": ")
		b.WriteString(h[1])
		b.WriteString("\r\n")
	}
	if req.Body != nil {
		b.WriteString("Content-Length: ")
		b.WriteString(strconv.Itoa(len(req.Body)))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(req.Body)
	return b.Bytes()
}

// roundTrip writes the request on cn and reads the answer's head. retry says
// that the failure came before the server sent a byte on a connection kept
// from an earlier request.
func (c *Client) roundTrip(ctx context.Context, cn *conn, head []byte, req *Request, reused bool) (*Response, bool, error) {
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(longAgo) })
	fail := func(err error, retry bool) (*Response, bool, error) {
		stop()
		cn.nc.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, false, cerr
		}
		return nil, retry && reused, err
	}
	if _, err := cn.nc.Write(head); err != nil {
		return fail(err, true)
	}
	for {
		resp, keep, err := readHead(cn.br)
		if err != nil {
			return fail(err, cn.br.Buffered() == 0 && closedEarly(err))
		}
		if resp.StatusCode/100 == 1 && resp.StatusCode != 101 {
			continue // 100 Continue and the like: the answer follows
		}
		body, err := newBody(cn, resp, req.Method, keep)
		if err != nil {
			return fail(err, false)
		}
		body.ctx, body.stop, body.client = ctx, stop, c
		resp.Body = body
		return resp, false, nil
	}
}

// closedEarly reports whether err is the end of a connection the peer closed.
func closedEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// readHead reads the status line and headers; keep says that the server
// keeps the connection open after the answer.
func readHead(br *bufio.Reader) (*Response, bool, error) {
	n := 0
	line, err := readLine(br, &n)
	if err != nil {
		return nil, false, err
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, cerr := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || cerr != nil || len(code) != 3 || status < 100 {
		return nil, false, fmt.Errorf("%w: status line %q", ErrHead, line)
	}
	resp := &Response{StatusCode: status, Header: map[string]string{}}
	for {
		line, err := readLine(br, &n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, false, fmt.Errorf("%w: header line %q", ErrHead, line)
		}
		resp.Header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	keep := proto == "HTTP/1.1" && !strings.EqualFold(resp.Header["connection"], "close")
	return resp, keep, nil
}

// readLine reads one line without its CRLF (or LF), counting its bytes into
// *n against maxHead.
func readLine(br *bufio.Reader, n *int) (string, error) {
	var long []byte
	for {
		b, err := br.ReadSlice('\n')
		*n += len(b)
		if *n > maxHead {
			return "", fmt.Errorf("%w: head over %d bytes", ErrHead, maxHead)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, b...)
			continue
		}
		if err != nil {
			if err == io.EOF && len(long)+len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if long != nil {
			b = append(long, b...)
		}
		b = bytes.TrimSuffix(b[:len(b)-1], []byte{'\r'})
		return string(b), nil
	}
}

// body is an answer's body: Content-Length bytes, chunks, or everything up
// to the connection's end.
type body struct {
	ctx     context.Context
	cn      *conn
	client  *Client
	stop    func() bool // ends the context's watch; false once it fired
	keep    bool        // the connection may serve another request after this body
	chunked bool
	left    int64 // bytes left: of the body (Content-Length) or of the chunk
	toEOF   bool  // framed by the connection's end
	done    bool  // read to its end
	err     error // what every read returns from now on
	closed  bool
}

func newBody(cn *conn, resp *Response, method string, keep bool) (*body, error) {
	b := &body{cn: cn, keep: keep}
	te := strings.ToLower(resp.Header["transfer-encoding"])
	cl, hasCL := resp.Header["content-length"]
	switch {
	case method == "HEAD" || resp.StatusCode == 204 || resp.StatusCode == 304:
		b.done = true
	case te != "" && te != "identity":
		if te != "chunked" {
			return nil, fmt.Errorf("%w: transfer encoding %q", ErrHead, te)
		}
		b.chunked = true
	case hasCL:
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: content length %q", ErrHead, cl)
		}
		b.left, b.done = n, n == 0
	default:
		b.toEOF, b.keep = true, false
	}
	return b, nil
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return 0, errors.New("read of a closed body")
	}
	if b.done {
		b.finish()
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.read(p)
	if err != nil {
		b.err = err
		if b.stop != nil && !b.stop() && b.ctx.Err() != nil {
			b.err = b.ctx.Err() // the request's end, not the server's
		}
		b.stop = nil
		b.cn.nc.Close()
		return n, b.err
	}
	if b.done {
		b.finish()
		if n == 0 {
			return 0, io.EOF
		}
	}
	return n, nil
}

func (b *body) read(p []byte) (int, error) {
	br := b.cn.br
	switch {
	case b.toEOF:
		n, err := br.Read(p)
		if err == io.EOF {
			b.done = true
			return n, nil
		}
		return n, err
	case b.chunked && b.left == 0:
		var n int
		line, err := readLine(br, &n)
		if err != nil {
			return 0, eofIsUnexpected(err)
		}
		size, _, _ := strings.Cut(line, ";") // chunk extensions are ignored
		v, perr := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if perr != nil || v < 0 {
			return 0, fmt.Errorf("%w: chunk size %q", ErrHead, line)
		}
		if v == 0 {
			for { // trailers, to the empty line
				line, err := readLine(br, &n)
				if err != nil {
					return 0, eofIsUnexpected(err)
				}
				if line == "" {
					b.done = true
					return 0, nil
				}
			}
		}
		b.left = v
		return b.read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := br.Read(p)
	b.left -= int64(n)
	if err != nil {
		return n, eofIsUnexpected(err)
	}
	if b.left == 0 {
		if !b.chunked {
			b.done = true
		} else {
			var m int
			line, err := readLine(br, &m)
			if err != nil {
				return n, eofIsUnexpected(err)
			}
			if line != "" {
				return n, fmt.Errorf("%w: no CRLF after a chunk", ErrHead)
			}
		}
	}
	return n, nil
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// finish keeps the connection for the next request, once, when the body was
// read to its end and the request's context did not end.
func (b *body) finish() {
	if b.stop == nil {
		return
	}
	watched := b.stop()
	b.stop = nil
	if watched && b.keep && b.cn.br.Buffered() == 0 {
		b.client.put(b.cn)
		return
	}
	b.cn.nc.Close()
}

// Close ends the body; a body not read to its end closes its connection.
func (b *body) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.err != nil {
		return nil // closed at the error
	}
	if b.done {
		b.finish()
		return nil
	}
	if b.stop != nil {
		b.stop()
		b.stop = nil
	}
	return b.cn.nc.Close()
}

func (c *Client) maxIdle() int {
	if c.MaxIdle > 0 {
		return c.MaxIdle
	}
	return 2
}

func (c *Client) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return 20 * time.Second
}

// put keeps cn for a next request.
func (c *Client) put(cn *conn) {
	cn.nc.SetDeadline(time.Time{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.idle) >= c.maxIdle() {
		cn.nc.Close()
		return
	}
	c.idle = append(c.idle, idleConn{cn, time.Now()})
}

// take is a kept connection that is still open, or nil.
func (c *Client) take() (*conn, bool) {
	for {
		c.mu.Lock()
		if len(c.idle) == 0 {
			c.mu.Unlock()
			return nil, false
		}
		ic := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		c.mu.Unlock()
		if time.Since(ic.since) < c.idleTimeout() && stillOpen(ic.conn) {
			return ic.conn, true
		}
		ic.nc.Close()
	}
}

// stillOpen reports whether the server has neither closed cn nor sent on it
// since its last answer: a read that must not wait finds out.
func stillOpen(cn *conn) bool {
	if cn.nc.SetReadDeadline(longAgo) != nil {
		return false
	}
	_, err := cn.br.Peek(1)
	var ne net.Error
	open := errors.As(err, &ne) && ne.Timeout()
	return cn.nc.SetReadDeadline(time.Time{}) == nil && open
}

// CloseIdle closes the kept connections.
func (c *Client) CloseIdle() {
	c.mu.Lock()
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, ic := range idle {
		ic.nc.Close()
	}
}
