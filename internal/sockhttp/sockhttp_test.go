package sockhttp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server listens on a unix socket and runs handle for each connection; it
// counts the connections accepted.
type server struct {
	path     string
	accepted atomic.Int32
}

func serve(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) *server {
	t.Helper()
	s := &server{path: filepath.Join(t.TempDir(), "s.sock")}
	l, err := net.Listen("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			go func() {
				defer c.Close()
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	return s
}

func (s *server) client() *Client {
	return &Client{Dial: func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", s.path)
	}}
}

// readRequest reads one request's head and body (by Content-Length); "" at
// the connection's end.
func readRequest(br *bufio.Reader) (line string, body string) {
	first := ""
	n := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", ""
		}
		l = strings.TrimRight(l, "\r\n")
		if first == "" {
			first = l
			continue
		}
		if l == "" {
			break
		}
		if k, v, _ := strings.Cut(l, ":"); strings.EqualFold(k, "content-length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", ""
	}
	return first, string(b)
}

func get(t *testing.T, c *Client, ctx context.Context) (string, error) {
	t.Helper()
	resp, err := c.Do(ctx, &Request{Method: "GET", Path: "/x"})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Chunks (with extensions and trailers) make the body; the connection then
// serves the next request.
func TestChunkedBodyAndKeptConnection(t *testing.T) {
	s := serve(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if l, _ := readRequest(br); l == "" {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: a\r\n\r\n")
		}
	})
	c := s.client()
	for i := range 3 {
		got, err := get(t, c, t.Context())
		if err != nil || got != "hello, world" {
			t.Fatalf("request %d: %q, %v", i, got, err)
		}
	}
	if n := s.accepted.Load(); n != 1 {
		t.Errorf("%d connections for 3 requests, want 1", n)
	}
}

// A request's body goes with its Content-Length; an answer's Content-Length
// frames its body, and headers are read by lower-case name.
func TestContentLength(t *testing.T) {
	s := serve(t, func(c net.Conn, br *bufio.Reader) {
		for {
			l, body := readRequest(br)
			if l == "" {
				return
			}
			out := l + "|" + body
			io.WriteString(c, "HTTP/1.1 201 Created\r\nBeadsctl-Version: v9\r\nContent-Length: "+strconv.Itoa(len(out))+"\r\n\r\n"+out)
		}
	})
	c := s.client()
	resp, err := c.Do(t.Context(), &Request{Method: "PUT", Path: "/v1/daemons/a", Header: [][2]string{{"Content-Type", "application/json"}}, Body: []byte(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != `PUT /v1/daemons/a HTTP/1.1|{"a":1}` || resp.StatusCode != 201 || resp.Header["beadsctl-version"] != "v9" {
		t.Fatalf("%d %v %q, %v", resp.StatusCode, resp.Header, b, err)
	}
	if got, err := get(t, c, t.Context()); err != nil || got != "GET /x HTTP/1.1|" {
		t.Fatalf("second request: %q, %v", got, err)
	}
	if n := s.accepted.Load(); n != 2-1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// A connection that ends inside the head or the body is an error, never a
// short body read as whole.
func TestAnswerCutShort(t *testing.T) {
	for name, answer := range map[string]string{
		"head":           "HTTP/1.1 200 OK\r\nContent-Le",
		"content-length": "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
		"in a chunk":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhello",
		"between chunks": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"no last chunk":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			s := serve(t, func(c net.Conn, br *bufio.Reader) {
				readRequest(br)
				io.WriteString(c, answer)
			})
			got, err := get(t, s.client(), t.Context())
			if err == nil {
				t.Fatalf("read %q with no error", got)
			}
			if name != "head" && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %v, want an unexpected EOF", err)
			}
		})
	}
	s := serve(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
	})
	if _, err := get(t, s.client(), t.Context()); !errors.Is(err, ErrHead) {
		t.Errorf("not HTTP: %v, want ErrHead", err)
	}
}

// Without a length or chunks, the body is what comes before the server closes.
func TestBodyToTheEnd(t *testing.T) {
	s := serve(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\nall of it")
	})
	c := s.client()
	if got, err := get(t, c, t.Context()); err != nil || got != "all of it" {
		t.Fatalf("%q, %v", got, err)
	}
	if got, err := get(t, c, t.Context()); err != nil || got != "all of it" {
		t.Fatalf("second: %q, %v", got, err)
	}
	if n := s.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (none kept)", n)
	}
}

// A server that reads the request and never answers: the request ends with
// its context's deadline, and so does a body that stops coming.
func TestServerThatNeverAnswers(t *testing.T) {
	read := make(chan string, 1)
	release := make(chan struct{})
	defer close(release)
	s := serve(t, func(c net.Conn, br *bufio.Reader) {
		l, _ := readRequest(br)
		read <- l
		if strings.Contains(l, "/stream") {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n")
		}
		<-release
	})
	c := s.client()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, &Request{Method: "GET", Path: "/x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no answer: %v, want the deadline", err)
	}
	if l := <-read; l != "GET /x HTTP/1.1" {
		t.Fatalf("server read %q", l)
	}

	ctx, cancel = context.WithCancel(t.Context())
	resp, err := c.Do(ctx, &Request{Method: "GET", Path: "/stream"})
	if err != nil {
		t.Fatal(err)
	}
	<-read
	br := bufio.NewReader(resp.Body)
	if l, err := br.ReadString('\n'); l != "first\n" || err != nil {
		t.Fatalf("first line %q, %v", l, err)
	}
	cancel() // the body stops coming: the read waits until the request ends
	if l, err := br.ReadString('\n'); !errors.Is(err, context.Canceled) {
		t.Fatalf("read %q, %v after the cancel, want context.Canceled", l, err)
	}
	resp.Body.Close()
}

// A kept connection the server has closed since is not used; one it closes
// as the next request comes is asked again on a new one when the request is
// a question (GET), and not when it makes the server act.
func TestKeptConnectionClosedByTheServer(t *testing.T) {
	answer := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	closed := make(chan struct{}, 4)
	s := serve(t, func(c net.Conn, br *bufio.Reader) {
		if l, _ := readRequest(br); l == "" {
			return
		}
		io.WriteString(c, answer)
		if l, _ := readRequest(br); l != "" && strings.Contains(l, "/idle-close") {
			c.Close() // read, not answered: as if the server exited then
		}
		closed <- struct{}{}
	})
	c := s.client()
	if got, err := get(t, c, t.Context()); err != nil || got != "ok" {
		t.Fatalf("%q, %v", got, err)
	}
	// The server closes its end once the next request comes: a GET is sent
	// again on a new connection.
	resp, err := c.Do(t.Context(), &Request{Method: "GET", Path: "/idle-close"})
	if err != nil {
		t.Fatalf("GET on a connection closed under it: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	<-closed
	if n := s.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	// A POST is not sent twice.
	_, err = c.Do(t.Context(), &Request{Method: "POST", Path: "/idle-close", Body: []byte("{}")})
	if err == nil {
		t.Fatal("POST on a connection the server closed after reading it: no error")
	}
	if n := s.accepted.Load(); n != 2 {
		t.Errorf("%d connections after the POST, want 2 (not sent again)", n)
	}
}

// Against net/http's server: its chunks come as they are flushed (a stream
// is read line by line while the handler still runs), and its answers keep
// the connection.
func TestAgainstNetHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	next := make(chan struct{})
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/stream" {
				io.WriteString(w, "one\n")
				w.(http.Flusher).Flush()
				<-next
				io.WriteString(w, "two\n")
				return
			}
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Method", r.Method)
			io.WriteString(w, r.URL.RawQuery+"|"+string(b))
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c := &Client{Dial: func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	for i := range 3 {
		resp, err := c.Do(t.Context(), &Request{Method: "POST", Path: "/x?i=" + strconv.Itoa(i), Body: []byte("body")})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := "i=" + strconv.Itoa(i) + "|body"; err != nil || string(b) != want || resp.Header["x-method"] != "POST" {
			t.Fatalf("%q %v, %v; want %q", b, resp.Header, err, want)
		}
	}
	resp, err := c.Do(t.Context(), &Request{Method: "GET", Path: "/stream"})
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if l, err := br.ReadString('\n'); l != "one\n" || err != nil {
		t.Fatalf("%q, %v", l, err)
	}
	close(next)
	if l, err := br.ReadString('\n'); l != "two\n" || err != nil {
		t.Fatalf("%q, %v", l, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the stream: %v, want EOF", err)
	}
	resp.Body.Close()
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 4 requests, want 1", n)
	}
}
